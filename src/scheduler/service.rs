//! The scheduler service: watches a set of scheduled workflows, fires their due slots
//! exactly once across processes, applies the overlap policy, and hands each new run to a
//! [`Launcher`].
//!
//! Exactly once: a slot's run has a deterministic id ([`slot_run_id`]) and is created in the
//! same transaction that claims the slot ([`ScheduleStore::start_slot_run`]), so of two
//! services on one database (or one restarted after `kill -9`, or one whose clock jumped
//! back) only one ever fires a slot. What fired last is read from the store on every tick;
//! the only memory a service keeps is since when it has watched each workflow, which is
//! what tells slots that came due while it ran (always fired) from slots missed before it
//! started (`catch_up`).
//!
//! Missed slots: the slots that came due while this service did not watch and that
//! `catch_up` does not fire are claimed as missed, with why, together with the
//! `schedule_missed` notifications they owe ([`ScheduleStore::record_missed_slots`]); at
//! most [`ServiceOptions::batch`] of them (the latest) per gap. Not at once: another service
//! on the database may have watched all along and be about to fire the last of them, so the
//! gap (from the last slot claimed when this service began watching) is recorded
//! [`ServiceOptions::missed_after`] later, and only the slots still unclaimed then are.
//!
//! Overlap, when a slot comes due while another run of the workflow is live (not finished:
//! pending, running, waiting, or needing attention; whoever started it):
//! - `skip`: the slot is claimed as skipped with no run, naming the live run, and logged; it
//!   counts as fired for `catch_up`.
//! - `queue`: the slot waits, unclaimed, and fires when the live run has ended, oldest
//!   first. A queued slot that has not fired when the service stops counts as missed at the
//!   next start.
//! - `allow`: it fires.
//!
//! A slot whose run cannot be prepared (an input file missing, a CSV that does not fit) is
//! claimed with a `failed` run holding the reason, so it shows in `sluice runs`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Notify, watch};

use super::launcher::{Launch, Launcher, RunDone};
use super::missed::{Gap, missed_slots};
use super::prepare::{failed_run, slot_run};
use super::slots::slot_run_id;
use super::workflow::ScheduledWorkflow;
use crate::engine::prepare::notify_routes;
use crate::ids::RunId;
use crate::spec::Overlap;
use crate::store::{Clock, NewRun, NotifyRoute, RunFilter, RunStatus, Store, StoreError};
use crate::template::Templates;

/// Run statuses that make a run live for the overlap policy: every status but the finished
/// ones. A run that needs attention may still move money once resolved.
const LIVE: [RunStatus; 4] = [
    RunStatus::Pending,
    RunStatus::Running,
    RunStatus::Waiting,
    RunStatus::NeedsAttention,
];

/// Settings of a [`Service`].
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// How soon a workflow is looked at again when a slot is queued behind a run this
    /// service did not launch, or the store failed. (A run it launched wakes it when it
    /// ends.)
    pub recheck: Duration,
    /// The longest sleep between two looks at the clock, so that a wall-clock change is
    /// noticed.
    pub max_sleep: Duration,
    /// The most slots of one workflow fired in one tick; the rest follow at once.
    pub batch: usize,
    /// How long after it begins watching a workflow the service records the slots missed
    /// before then (see the module docs).
    pub missed_after: Duration,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            recheck: Duration::from_secs(5),
            max_sleep: Duration::from_secs(60),
            batch: 100,
            missed_after: Duration::from_secs(10),
        }
    }
}

/// What became of one due slot in a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotOutcome {
    /// Its run was created and launched by this service.
    Started,
    /// Another service (or an earlier life of this one) fired it first; nothing was done.
    FiredElsewhere,
    /// `overlap: skip`: claimed without a run because `live_run` was live.
    Skipped {
        /// The live run.
        live_run: RunId,
    },
    /// Came due while no service watched, and `catch_up` does not fire it: claimed as
    /// missed, with `reason`.
    Missed {
        /// Why it did not fire.
        reason: String,
    },
    /// `overlap: queue`: waits for `live_run` to end; not claimed yet.
    Queued {
        /// The live run.
        live_run: RunId,
    },
    /// Its run could not be prepared; it was recorded as `failed` with this message.
    Failed {
        /// Why, as recorded on the run.
        error: String,
    },
}

/// One due slot and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotReport {
    /// The workflow's name.
    pub workflow: String,
    /// The slot, in UTC.
    pub slot: DateTime<Utc>,
    /// The slot's run id (whether or not a run was created).
    pub run_id: RunId,
    /// What happened.
    pub outcome: SlotOutcome,
}

/// The result of one [`Service::tick`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    /// Every due slot looked at, in order per workflow.
    pub slots: Vec<SlotReport>,
    /// When something may next be due (`None`: no schedule has a future slot).
    pub wake_at: Option<DateTime<Utc>>,
}

/// A workflow the service watches.
#[derive(Debug, Clone, Copy)]
struct Watch {
    since: DateTime<Utc>,
    gap: Gap,
}

/// The scheduler: see the module docs.
pub struct Service {
    store: Arc<dyn Store>,
    launcher: Arc<dyn Launcher>,
    clock: Arc<dyn Clock>,
    options: ServiceOptions,
    templates: Templates,
    /// Notify routes added to every workflow's own (`serve --notify`).
    routes: Vec<NotifyRoute>,
    /// Since when each workflow (by name) has been watched, and its gap.
    watching: Mutex<HashMap<String, Watch>>,
    /// Notified when a launched run ends.
    woken: Arc<Notify>,
}

impl Service {
    /// A service firing slots into `store`, handing runs to `launcher`, reading the time
    /// from `clock`.
    pub fn new(store: Arc<dyn Store>, launcher: Arc<dyn Launcher>, clock: Arc<dyn Clock>) -> Self {
        Service {
            store,
            launcher,
            clock,
            options: ServiceOptions::default(),
            templates: Templates::new(),
            routes: Vec::new(),
            watching: Mutex::new(HashMap::new()),
            woken: Arc::new(Notify::new()),
        }
    }

    /// The same service with other settings.
    pub fn with_options(mut self, options: ServiceOptions) -> Self {
        self.options = options;
        self
    }

    /// The same service adding `routes` to every workflow's own `notify:` rules, for the
    /// runs it starts and the slots it finds missed.
    pub fn with_notify(mut self, routes: Vec<NotifyRoute>) -> Self {
        self.routes = routes;
        self
    }

    /// The notify routes of `workflow`'s runs and slots: its own, then the service's.
    fn routes(&self, workflow: &ScheduledWorkflow) -> Vec<NotifyRoute> {
        let mut routes = notify_routes(&workflow.compiled.config.notify);
        for route in &self.routes {
            if !routes.contains(route) {
                routes.push(route.clone());
            }
        }
        routes
    }

    /// Fires slots until `shutdown` completes, then returns (runs already launched are the
    /// launcher's to finish). Each round fires what is due ([`tick`](Self::tick)), then
    /// sleeps until the next slot, a launched run's end, or a new set of workflows on
    /// `workflows` (send one to reload, e.g. on SIGHUP; a workflow that stays keeps its
    /// watch, one that is new starts being watched, and one that is gone stops).
    pub async fn run(
        &self,
        mut workflows: watch::Receiver<Vec<Arc<ScheduledWorkflow>>>,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut reloads = true;
        tracing::info!(workflows = workflows.borrow().len(), "Scheduler started.");
        loop {
            let current = workflows.borrow_and_update().clone();
            let tick = self.tick(&current).await;
            // A wake-up time already past (a full batch, a late tick) means at once.
            let sleep = tick.wake_at.map_or(self.options.max_sleep, |at| {
                let until = (at - self.clock.now()).to_std().unwrap_or(Duration::ZERO);
                until.min(self.options.max_sleep)
            });
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(sleep) => {}
                () = self.woken.notified() => {}
                changed = workflows.changed(), if reloads => {
                    if changed.is_err() {
                        // The sender is gone: keep the last set, stop listening.
                        reloads = false;
                    }
                }
            }
        }
        tracing::info!("Scheduler stopped.");
    }

    /// Fires every slot of `workflows` due now, by the service's clock, and says when to
    /// look again. A workflow whose store calls fail is logged and looked at again after
    /// [`ServiceOptions::recheck`]; the others go on.
    pub async fn tick(&self, workflows: &[Arc<ScheduledWorkflow>]) -> Tick {
        let now = self.clock.now();
        let since = self.watch(workflows, now);
        let recheck = now + delta(self.options.recheck);
        let mut tick = Tick::default();
        for workflow in workflows {
            let wake = match self
                .tick_workflow(workflow, since[workflow.name()], now, &mut tick)
                .await
            {
                Ok(wake) => wake,
                Err(error) => {
                    tracing::error!(
                        workflow = workflow.name(),
                        error = %error,
                        "Cannot fire the workflow's slots; trying again shortly."
                    );
                    Some(recheck)
                }
            };
            tick.wake_at = earliest(tick.wake_at, wake);
        }
        tick
    }

    /// Records when each workflow started being watched, forgetting those no longer in the
    /// set, and returns the map.
    fn watch(
        &self,
        workflows: &[Arc<ScheduledWorkflow>],
        now: DateTime<Utc>,
    ) -> HashMap<String, DateTime<Utc>> {
        let mut watching = self.watching();
        watching.retain(|name, _| workflows.iter().any(|w| w.name() == name));
        for workflow in workflows {
            watching
                .entry(workflow.name().to_string())
                .or_insert(Watch {
                    since: now,
                    gap: Gap::Unseen,
                });
        }
        watching
            .iter()
            .map(|(name, watch)| (name.clone(), watch.since))
            .collect()
    }

    fn watching(&self) -> std::sync::MutexGuard<'_, HashMap<String, Watch>> {
        self.watching.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The gap of `name` to record now, if it is time: `Some(after)`. The first look notes
    /// `last` as where the gap starts.
    fn gap_due(
        &self,
        name: &str,
        last: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<Option<DateTime<Utc>>> {
        let mut watching = self.watching();
        let watch = watching.get_mut(name)?;
        watch.gap.look(last);
        match watch.gap {
            Gap::After(after) if now >= watch.since + delta(self.options.missed_after) => {
                Some(after)
            }
            _ => None,
        }
    }

    /// Notes that the gap of `name` is recorded.
    fn gap_recorded(&self, name: &str) {
        if let Some(watch) = self.watching().get_mut(name) {
            watch.gap = Gap::Recorded;
        }
    }

    /// When the gap of `name` is to be recorded, if it is not yet.
    fn gap_wake(&self, name: &str) -> Option<DateTime<Utc>> {
        let watching = self.watching();
        let watch = watching.get(name)?;
        matches!(watch.gap, Gap::After(_)).then(|| watch.since + delta(self.options.missed_after))
    }

    /// Fires one workflow's due slots in order; returns when to look at it again.
    async fn tick_workflow(
        &self,
        workflow: &Arc<ScheduledWorkflow>,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        tick: &mut Tick,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let name = workflow.name();
        let last = self.store.last_slot(name).await?.map(|s| s.slot_at);
        if let Some(after) = self.gap_due(name, last, now) {
            self.record_missed(workflow, after, since, tick).await?;
            self.gap_recorded(name);
        }
        let due = workflow.schedule.due(last, since, now, self.options.batch);
        let mut wake = if due.len() >= self.options.batch {
            Some(now)
        } else {
            workflow.schedule.next_after(now)
        };
        wake = earliest(wake, self.gap_wake(name));
        for slot in due {
            let run_id = slot_run_id(name, slot);
            let outcome = self.fire(workflow, slot, &run_id).await?;
            log(name, slot, &run_id, &outcome);
            let queued = matches!(outcome, SlotOutcome::Queued { .. });
            tick.slots.push(SlotReport {
                workflow: name.to_string(),
                slot,
                run_id,
                outcome,
            });
            if queued {
                wake = earliest(wake, Some(now + delta(self.options.recheck)));
                break;
            }
        }
        Ok(wake)
    }

    /// Claims the slots of `workflow` missed after `last` and before `since` as missed (with
    /// the notifications they owe), those still unclaimed, and reports them in `tick`.
    async fn record_missed(
        &self,
        workflow: &ScheduledWorkflow,
        last: Option<DateTime<Utc>>,
        since: DateTime<Utc>,
        tick: &mut Tick,
    ) -> Result<(), StoreError> {
        let name = workflow.name();
        let routes = self.routes(workflow);
        let Some(missed) = missed_slots(workflow, (last, since), self.options.batch, routes) else {
            return Ok(());
        };
        let claimed = self.store.record_missed_slots(&missed).await?;
        if claimed.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            workflow = name,
            slots = claimed.len(),
            reason = %missed.reason,
            "Slots missed."
        );
        for slot in claimed {
            tick.slots.push(SlotReport {
                workflow: name.to_string(),
                slot,
                run_id: slot_run_id(name, slot),
                outcome: SlotOutcome::Missed {
                    reason: missed.reason.clone(),
                },
            });
        }
        Ok(())
    }

    /// Fires one slot: overlap policy, then the run and the claim in one transaction.
    async fn fire(
        &self,
        workflow: &Arc<ScheduledWorkflow>,
        slot: DateTime<Utc>,
        run_id: &RunId,
    ) -> Result<SlotOutcome, StoreError> {
        let name = workflow.name();
        let overlap = workflow.schedule.overlap();
        if overlap != Overlap::Allow
            && let Some(live_run) = self.live_run(name, run_id).await?
        {
            if overlap == Overlap::Queue {
                return Ok(SlotOutcome::Queued { live_run });
            }
            let reason = format!("run `{live_run}` was still live (`overlap: skip`)");
            let claimed = self.store.skip_slot(name, slot, run_id, &reason).await?;
            return Ok(if claimed {
                SlotOutcome::Skipped { live_run }
            } else {
                SlotOutcome::FiredElsewhere
            });
        }
        let (run, steps, held) = match slot_run(workflow, slot, run_id, &self.templates) {
            Ok((run, steps, held)) => (
                NewRun {
                    lease: self.launcher.lease(),
                    notify: self.routes(workflow),
                    ..run
                },
                steps,
                held,
            ),
            Err(error) => {
                let error = error_chain(&error);
                let run = NewRun {
                    notify: self.routes(workflow),
                    ..failed_run(workflow, slot, run_id)
                };
                let claimed = self.store.fail_slot_run(name, slot, &run, &error).await?;
                return Ok(if claimed {
                    SlotOutcome::Failed { error }
                } else {
                    SlotOutcome::FiredElsewhere
                });
            }
        };
        match self.store.start_slot_run(name, slot, &run, &steps).await {
            Ok(true) => {}
            Ok(false) => return Ok(SlotOutcome::FiredElsewhere),
            // The slot is free but a run already has its id (started by hand with
            // `--run-id`): that run is the slot's.
            Err(StoreError::RunExists { .. }) => {
                self.store.claim_slot(name, slot, run_id).await?;
                return Ok(SlotOutcome::FiredElsewhere);
            }
            Err(error) => return Err(error),
        }
        self.launcher
            .launch(Launch {
                run_id: run_id.clone(),
                slot,
                workflow: workflow.clone(),
                held,
                done: RunDone(self.woken.clone()),
            })
            .await;
        Ok(SlotOutcome::Started)
    }

    /// A live run of `workflow` other than `run_id`, the newest if several.
    async fn live_run(&self, workflow: &str, run_id: &RunId) -> Result<Option<RunId>, StoreError> {
        let filter = RunFilter {
            workflow: Some(workflow.to_string()),
            statuses: LIVE.to_vec(),
            limit: Some(2),
            ..RunFilter::default()
        };
        let runs = self.store.list_runs(&filter).await?;
        Ok(runs.into_iter().map(|r| r.id).find(|id| id != run_id))
    }
}

fn log(workflow: &str, slot: DateTime<Utc>, run_id: &str, outcome: &SlotOutcome) {
    match outcome {
        SlotOutcome::Started => {
            tracing::info!(workflow, %slot, run_id, "Slot fired.");
        }
        SlotOutcome::FiredElsewhere => {
            tracing::debug!(workflow, %slot, run_id, "Slot already fired.");
        }
        SlotOutcome::Skipped { live_run } => {
            tracing::info!(workflow, %slot, live_run = live_run.as_str(), "Slot skipped: another run is still live (overlap: skip).");
        }
        SlotOutcome::Missed { reason } => {
            tracing::debug!(workflow, %slot, run_id, reason, "Slot missed.");
        }
        SlotOutcome::Queued { live_run } => {
            tracing::debug!(workflow, %slot, live_run = live_run.as_str(), "Slot queued behind a live run (overlap: queue).");
        }
        SlotOutcome::Failed { error } => {
            tracing::error!(workflow, %slot, run_id, error, "Slot could not start; its run is recorded as failed.");
        }
    }
}

/// An error and its causes on one line.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}
