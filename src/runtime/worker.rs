//! The worker of `sluice serve`: it claims runs that can go on and executes them, reports a
//! heartbeat, and on stop hands its runs back.
//!
//! Any number of workers may share one database. Each claims runs one at a time with a lease
//! ([`RunStore::claim_next_run`](crate::store::RunStore::claim_next_run): `FOR UPDATE SKIP
//! LOCKED` on Postgres), up to `max_runs` at once, so runs spread over the workers; a run is
//! walked by one worker at a time, its items concurrently within it. A worker that dies stops
//! renewing its leases; once they expire, another worker's next scan claims the runs and
//! continues them through the normal resume path (items in doubt are looked up, never sent
//! blind). A worker that stops cleanly drains instead: nothing new is dispatched, what is in
//! flight is recorded, and the leases are released so another worker continues at once.
//!
//! A run's holder shares a large batch step of provider calls (see
//! [`step::share`](crate::engine::step::share)): every scan (and, on Postgres, the notice the
//! holder sends) also looks for shared steps with items to claim, and this worker helps with
//! them, claims items a block at a time, until none is left. Runs held and steps helped count
//! alike against `max_runs`.
//!
//! Every scan also loads the workflow of every active run, held here or not, so that this
//! worker's receiver accepts webhooks for all of them: a webhook may reach any worker. The
//! step it wakes is `pending` in the shared store, and the await that waits for it, wherever
//! it runs, sees that at its next store check (every second). On Postgres the store also
//! sends notices (`LISTEN`/`NOTIFY`): a run to claim is claimed at once instead of at the next
//! scan, and a woken step's await looks at once. Notices are hints; the scans stay.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::workflows::{Workflow, Workflows};
use crate::engine::await_step::Wakeups;
use crate::engine::executor::holder_is_dead;
use crate::engine::{Drain, Engine, EngineError};
use crate::ids::{RunId, StepId};
use crate::store::{
    Claim, Lease, RunFilter, RunRecord, RunStatus, Store, StoreError, StoreNotice, WorkerInfo,
};
use crate::webhooks::Notice;

/// Deliveries for an unknown provider block trigger a scan at most this often.
const UNKNOWN_RESCAN: Duration = Duration::from_secs(1);

/// The statuses of runs that can go on (a run whose holder died while compensating goes on
/// compensating).
const ACTIVE: [RunStatus; 4] = [
    RunStatus::Pending,
    RunStatus::Running,
    RunStatus::Waiting,
    RunStatus::Compensating,
];

/// Why runs are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// `serve` just started: every run that can go on does, waiting ones included.
    Start,
    /// The periodic rescan: runs whose worker died or handed them back, and pending ones
    /// nobody holds. Runs waiting for an operator are left alone until the operator acts
    /// (which makes them pending).
    Rescan,
}

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// How often to look for runs to claim.
    pub rescan: Duration,
    /// How long its leases and its heartbeat last without renewal.
    pub lease_ttl: Duration,
    /// The most runs it executes at once.
    pub max_runs: usize,
    /// How long a stop waits for runs to reach a checkpoint before cutting them off.
    pub grace: Duration,
    /// Whether to assist with other workers' shared batch steps.
    pub assist: bool,
    /// Notify routes added to those of every run this `serve` starts or holds and of every
    /// slot its scheduler finds missed (`serve --notify FILE`).
    pub notify: Vec<crate::store::NotifyRoute>,
}

/// Claims and executes runs in this process.
pub struct Worker {
    store: Arc<dyn Store>,
    engine: Arc<Engine>,
    /// The engine that helps with shared steps, under its own lease owner (`ID/help`).
    helper: Arc<Engine>,
    info: WorkerInfo,
    drain: Drain,
    wakeups: Wakeups,
    settings: WorkerSettings,
    workflows: Workflows,
    running: HashMap<tokio::task::Id, RunId>,
    /// The shared steps this worker helps with, as `(run_id, step_id)`.
    helping: HashMap<tokio::task::Id, (RunId, StepId)>,
    refused: HashSet<RunId>,
    tasks: JoinSet<()>,
}

impl Worker {
    /// A worker executing runs with `engine`, whose lease owner name is `info.id`, helping
    /// with shared steps with `helper`, which drains with `drain` and wakes the awaits of this
    /// process through `wakeups`.
    pub fn new(
        store: Arc<dyn Store>,
        (engine, helper): (Arc<Engine>, Arc<Engine>),
        info: WorkerInfo,
        (drain, wakeups): (Drain, Wakeups),
        settings: WorkerSettings,
        workflows: Workflows,
    ) -> Self {
        debug_assert_eq!(engine.owner(), info.id);
        Worker {
            store,
            engine,
            helper,
            info,
            drain,
            wakeups,
            settings,
            workflows,
            running: HashMap::new(),
            helping: HashMap::new(),
            refused: HashSet::new(),
            tasks: JoinSet::new(),
        }
    }

    /// Works until `stopped`, then drains: see the module docs.
    pub async fn run(
        mut self,
        mut notices: mpsc::UnboundedReceiver<Notice>,
        mut stopped: watch::Receiver<bool>,
    ) {
        self.heartbeat().await;
        let mut store_notices = match self.store.notices().await {
            Ok(notices) => notices,
            Err(error) => {
                tracing::warn!(%error, "No store notices; relying on scans.");
                None
            }
        };
        let mut scan = tokio::time::interval(self.settings.rescan);
        scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut beat = tokio::time::interval(self.settings.lease_ttl / 3);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        beat.reset();
        let mut reason = Reason::Start;
        let mut looked_for_blocks: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                Some(notice) = notices.recv() => match notice {
                    Notice::Woken(key) => match self.store.load_run(&key.run_id).await {
                        Ok(run) => self.start_woken(run),
                        Err(error) => tracing::warn!(run_id = %key.run_id, %error, "Cannot load a woken run."),
                    },
                    // A run started since the last scan: its blocks are registered by a scan,
                    // at most once a second however many deliveries ask.
                    Notice::UnknownProvider(_) => {
                        if looked_for_blocks.is_none_or(|at| at.elapsed() >= UNKNOWN_RESCAN) {
                            looked_for_blocks = Some(Instant::now());
                            self.scan(Reason::Rescan).await;
                        }
                    }
                },
                Some(notice) = next_notice(&mut store_notices) => match notice {
                    StoreNotice::RunFree { .. } => self.scan(Reason::Rescan).await,
                    StoreNotice::StepShared { .. } => self.assist().await,
                    StoreNotice::Woken(key) => {
                        // An await of this process, if it is one: look now.
                        self.wakeups.wake(&key);
                        if let Ok(run) = self.store.load_run(&key.run_id).await {
                            self.start_woken(run);
                        }
                    }
                },
                _ = scan.tick() => {
                    self.scan(reason).await;
                    reason = Reason::Rescan;
                }
                _ = beat.tick() => self.heartbeat().await,
                Some(done) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    let id = match done {
                        Ok((id, ())) => id,
                        Err(e) => e.id(),
                    };
                    self.running.remove(&id);
                    self.helping.remove(&id);
                }
            }
        }
        self.stop().await;
    }

    async fn heartbeat(&self) {
        if let Err(error) = self
            .store
            .report_worker(&self.info, self.settings.lease_ttl)
            .await
        {
            tracing::warn!(%error, "Cannot record this worker's heartbeat.");
        }
    }

    /// Registers the provider blocks of every active run, then claims runs up to capacity.
    async fn scan(&mut self, reason: Reason) {
        let filter = RunFilter {
            statuses: ACTIVE.to_vec(),
            ..RunFilter::default()
        };
        match self.store.list_runs(&filter).await {
            Ok(runs) => {
                for run in runs {
                    self.register(&run);
                    // A holder that died on this host is known dead before its lease runs out.
                    let dead_holder = run.lease.as_ref().is_some_and(|l| {
                        l.expires_at > Utc::now()
                            && !self.info.owns(&l.owner)
                            && holder_is_dead(&l.owner)
                    });
                    if dead_holder && self.has_room() {
                        self.start(run);
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "Cannot list runs to resume."),
        }
        // Runs whose worker is gone first, then new ones, then (on start) waiting ones. A run
        // a `sluice run` is about to execute is born leased to it, so it is not taken here.
        let mut statuses = vec![RunStatus::Running, RunStatus::Pending];
        if reason == Reason::Start {
            statuses.push(RunStatus::Waiting);
        }
        for status in statuses {
            while self.has_room() {
                let claim = Claim {
                    statuses: vec![status],
                    except: self
                        .running
                        .values()
                        .chain(&self.refused)
                        .cloned()
                        .collect(),
                };
                let lease = match self
                    .store
                    .claim_next_run(&self.info.id, self.settings.lease_ttl, &claim)
                    .await
                {
                    Ok(Some(lease)) => lease,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(%error, "Cannot claim a run.");
                        return;
                    }
                };
                match self.store.load_run(&lease.run_id).await {
                    Ok(run) => {
                        if !(self.register(&run) && self.start(run)) {
                            self.release(&lease).await;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(run_id = %lease.run_id, %error, "Cannot load a claimed run.");
                        self.release(&lease).await;
                        self.refused.insert(lease.run_id);
                    }
                }
            }
        }
        self.assist().await;
    }

    /// Whether it may take on one more run or shared step.
    fn has_room(&self) -> bool {
        self.running.len() + self.helping.len() < self.settings.max_runs
    }

    /// Assists with shared steps that have items to claim, up to capacity: not those of runs
    /// this worker holds (it works through them already) or assists with already.
    async fn assist(&mut self) {
        if !self.settings.assist {
            return;
        }
        let steps = match self.store.steps_to_help().await {
            Ok(steps) => steps,
            Err(error) => {
                tracing::warn!(%error, "Cannot list shared steps.");
                return;
            }
        };
        for (run_id, step_id) in steps {
            let busy = self.running.values().any(|id| *id == run_id)
                || self
                    .helping
                    .values()
                    .any(|(r, s)| *r == run_id && *s == step_id);
            if busy || !self.has_room() || self.refused.contains(&run_id) {
                continue;
            }
            let run = match self.store.load_run(&run_id).await {
                Ok(run) if !run.status.is_finished() => run,
                Ok(_) => continue,
                Err(error) => {
                    tracing::warn!(%run_id, %error, "Cannot load a shared step's run.");
                    continue;
                }
            };
            if !self.register(&run) {
                continue;
            }
            let Ok(workflow) = self.workflows.for_run(&run) else {
                continue;
            };
            let engine = self.helper.clone();
            let drain = self.drain.clone();
            let (run, step) = (run_id.clone(), step_id.clone());
            let handle = self.tasks.spawn(async move {
                tracing::info!(run_id = %run, step = %step, "Helping with a shared step.");
                let result = engine
                    .assist_shared_step(&run, &step, workflow.compiled.clone(), workflow.providers.clone())
                    .await;
                match result {
                    Ok(ran) => {
                        tracing::info!(run_id = %run, step = %step, items = ran, "Nothing left to claim in the shared step.");
                    }
                    Err(EngineError::Halted(_)) if drain.is_draining() => {
                        tracing::info!(run_id = %run, step = %step, "Claimed items handed back at a checkpoint.");
                    }
                    Err(error) => {
                        tracing::error!(run_id = %run, step = %step, %error, "Stopped helping with the shared step.");
                    }
                }
            });
            self.helping.insert(handle.id(), (run_id, step_id));
        }
    }

    /// Loads the run's workflow, which registers its provider blocks with the receiver;
    /// `false` (reported once) when it cannot be loaded here.
    fn register(&mut self, run: &RunRecord) -> bool {
        match self.workflows.for_run(run) {
            Ok(_) => true,
            Err(error) => {
                if self.refused.insert(run.id.clone()) {
                    tracing::error!(run_id = %run.id, error = %format!("{error:#}"), "Cannot resume the run here.");
                }
                false
            }
        }
    }

    async fn release(&self, lease: &Lease) {
        if let Err(error) = self.store.release_lease(lease).await {
            tracing::warn!(run_id = %lease.run_id, %error, "Cannot release a run's lease.");
        }
    }

    /// An event woke a step of `run`: continue it here unless it is held or finished.
    fn start_woken(&mut self, run: RunRecord) {
        let held = run
            .lease
            .as_ref()
            .is_some_and(|l| l.expires_at > Utc::now() && !holder_is_dead(&l.owner));
        if !held && self.has_room() && self.register(&run) {
            self.start(run);
        }
    }

    /// Executes `run` in a task of its own (the engine takes or extends the lease); `false`
    /// if it is over, already executing here, or cannot be loaded.
    fn start(&mut self, run: RunRecord) -> bool {
        if run.status.is_finished() || self.running.values().any(|id| *id == run.id) {
            return false;
        }
        let Ok(workflow) = self.workflows.for_run(&run) else {
            return false;
        };
        let engine = self.engine.clone();
        let drain = self.drain.clone();
        let run_id = run.id.clone();
        let handle = self.tasks.spawn(async move {
            tracing::info!(run_id = %run_id, "Resuming the run.");
            execute_logged(&engine, &run_id, &workflow, &drain).await;
        });
        self.running.insert(handle.id(), run.id);
        true
    }

    /// Drains: dispatches nothing new, gives the runs in flight `grace` to record what they
    /// sent, cuts off the rest (they resume from their checkpoints), then releases every lease
    /// this worker holds and removes its row.
    async fn stop(mut self) {
        self.drain.start();
        if !self.tasks.is_empty() {
            tracing::info!(
                runs = self.tasks.len(),
                "Stopping: runs stop at their next checkpoint and are handed back."
            );
        }
        let grace = self.settings.grace;
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                runs = self.tasks.len(),
                "Runs still busy after the grace period (awaits, slow providers) are cut off; they resume from their checkpoints."
            );
            self.tasks.shutdown().await;
        }
        // Runs and steps whose tasks were cut off: the items they claimed go back at once too.
        let held = (self.running.values()).map(|run_id| (run_id, self.engine.owner()));
        let helped = (self.helping.values()).map(|(run_id, _)| (run_id, self.helper.owner()));
        for (run_id, owner) in held.chain(helped) {
            if let Err(error) = self.store.release_claims(run_id, owner).await {
                tracing::warn!(%run_id, %error, "Cannot give back item claims; they expire.");
            }
        }
        hand_back(&*self.store, &self.info).await;
        if let Err(error) = self.store.remove_worker(&self.info.id).await {
            tracing::warn!(%error, "Cannot remove this worker's row.");
        }
    }
}

/// The next store notice, or never when the store sends none.
async fn next_notice(
    notices: &mut Option<mpsc::UnboundedReceiver<StoreNotice>>,
) -> Option<StoreNotice> {
    match notices {
        Some(notices) => notices.recv().await,
        None => std::future::pending().await,
    }
}

/// Releases every lease `worker` holds, of any of its engines.
async fn hand_back(store: &dyn Store, worker: &WorkerInfo) {
    let filter = RunFilter {
        statuses: ACTIVE.to_vec(),
        ..RunFilter::default()
    };
    let runs = match store.list_runs(&filter).await {
        Ok(runs) => runs,
        Err(error) => {
            tracing::warn!(%error, "Cannot list this worker's runs to hand them back.");
            return;
        }
    };
    for lease in runs.into_iter().filter_map(|r| r.lease) {
        if worker.owns(&lease.owner)
            && let Err(error) = store.release_lease(&lease).await
        {
            tracing::warn!(run_id = %lease.run_id, %error, "Cannot release a run's lease.");
        }
    }
}

/// Executes run `run_id` until it stops and logs how: what a worker does with a run it took,
/// and what `serve` does with a run an operator resumed from the console.
pub(super) async fn execute_logged(
    engine: &Engine,
    run_id: &RunId,
    workflow: &Workflow,
    drain: &Drain,
) {
    let result = engine
        .execute(
            run_id,
            workflow.compiled.clone(),
            workflow.providers.clone(),
        )
        .await;
    match result {
        Ok(report) => {
            tracing::info!(run_id = %run_id, status = %report.status.as_str(), "Run stopped.");
            for message in report.messages {
                tracing::info!(run_id = %run_id, "{message}");
            }
        }
        // Someone else took it first, or it ended meanwhile: nothing to do.
        Err(EngineError::Store(StoreError::Leased { .. }) | EngineError::Finished { .. }) => {}
        Err(EngineError::Halted(_)) if drain.is_draining() => {
            tracing::info!(run_id = %run_id, "Run handed back at a checkpoint.");
        }
        Err(error) => tracing::error!(run_id = %run_id, %error, "The run stopped."),
    }
}
