//! Running a whole run: the lease, the DAG walk, and the run's final status.
//!
//! Steps whose dependencies are done start at once and run concurrently under the run's
//! `concurrency`; a failed dependency blocks its dependants (they stay `pending`, so a
//! redrive can still run them); a skipped one does not, unless they use its output.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::SecondsFormat;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::breaker::CredentialsRefused;
use super::call::Halt;
use super::compensate;
use super::error::EngineError;
use super::prepare::item_keys;
use super::step::{self, Elements, Shared, StepEnd, StepOutput};
use super::writer::Writer;
use super::{Engine, Write};
use crate::catalog::ActionKind;
use crate::ids::{RunId, StepId};
use crate::plan::CompiledWorkflow;
use crate::plan::context::{RunContext, Uses, counted_entry, items_entry};
use crate::plan::for_each::DEFAULT_ALIAS;
use crate::providers::{Provider, answer_redactions};
use crate::sensitive::FieldPaths;
use crate::spec::ProviderConfig;
use crate::store::{RunStatus, Skip, StepRecord, StepState, StoreError};
use crate::template::Scope;

/// How a run ended (this time: a waiting or attention run can be resumed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// The run.
    pub run_id: RunId,
    /// Its status now.
    pub status: RunStatus,
    /// One line per step that did not succeed: why, and what to do.
    pub messages: Vec<String>,
    /// A provider refused the credentials at preflight: nothing was sent, and the run waits
    /// for the fix (the command line exits 1, not 3).
    pub credentials_refused: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Status {
    NotStarted,
    Running,
    Done(StepEnd),
}

impl Engine {
    /// Runs (or resumes) `run_id` until every step it can run has ended.
    ///
    /// # Errors
    /// [`EngineError`] when the run cannot be leased or a checkpoint cannot be written; the
    /// run is then left exactly as far as it durably got.
    pub async fn execute(
        &self,
        run_id: &RunId,
        compiled: Arc<CompiledWorkflow>,
        providers: HashMap<String, Arc<dyn Provider>>,
    ) -> Result<RunReport, EngineError> {
        // What creating the run freed (its inputs as values, its rows) goes back before the
        // stored inputs are read again, likely on another thread and so in another heap.
        crate::memory::release_freed();
        let mut run = self.store.load_run(run_id).await?;
        if run.status.is_finished() {
            return Err(EngineError::Finished {
                run_id: run_id.into(),
                status: run.status.as_str().into(),
            });
        }
        let ttl = self.options.lease_ttl;
        let lease = match self.store.acquire_lease(run_id, &self.owner, ttl).await {
            Err(StoreError::Leased { owner, .. }) if holder_is_dead(&owner) => {
                tracing::warn!(run_id = run_id.as_str(), holder = %owner, "The run's lease holder has exited; taking the run over.");
                self.store
                    .take_over_lease(run_id, &owner, &self.owner, ttl)
                    .await?
            }
            other => other?,
        };
        if !self.options.notify.is_empty()
            && let Err(error) = self
                .store
                .add_notify_routes(run_id, &self.options.notify)
                .await
        {
            // The walk's own checkpoints fail the same way if the store is gone.
            tracing::warn!(run_id = run_id.as_str(), %error, "Cannot add serve's notify rules to the run.");
        }
        let renewer = {
            let store = self.store.clone();
            let lease = lease.clone();
            let ttl = self.options.lease_ttl;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(ttl / 3).await;
                    if let Err(e) = store.renew_lease(&lease, ttl).await {
                        tracing::error!(error = %e, "Lost the run's lease; no further request will be sent.");
                        return;
                    }
                    // The items of a shared step it claimed, if any.
                    if let Err(e) = store.renew_claims(&lease.owner, ttl).await {
                        tracing::warn!(error = %e, "Cannot renew item claims.");
                    }
                }
            })
        };
        let result = self
            .walk(
                &mut run,
                compiled,
                providers,
                Writer::start(
                    self.store.clone(),
                    lease.clone(),
                    self.options.drain.clone(),
                ),
            )
            .instrument(tracing::info_span!("run", run_id = run_id.as_str()))
            .await;
        renewer.abort();
        let report = match result {
            Ok(report) => report,
            Err(e) => {
                // Items of a shared step it claimed go back to the other workers at once.
                let _ = self.store.release_claims(run_id, &self.owner).await;
                let _ = self.store.release_lease(&lease).await;
                // `sluice cancel` from another process: the store refused the next checkpoint.
                let cancelled = matches!(e, EngineError::Halted(_))
                    && self
                        .store
                        .load_run(run_id)
                        .await
                        .is_ok_and(|r| r.status == RunStatus::Cancelled);
                if cancelled {
                    return Ok(RunReport {
                        run_id: run_id.into(),
                        status: RunStatus::Cancelled,
                        messages: vec!["cancelled by an operator while it ran".into()],
                        credentials_refused: false,
                    });
                }
                return Err(e);
            }
        };
        let error = (!report.messages.is_empty()).then(|| report.messages.join("\n"));
        self.store
            .set_run_status(run_id, report.status, error.as_deref())
            .await?;
        self.store.release_lease(&lease).await?;
        Ok(report)
    }

    async fn walk(
        &self,
        run: &mut crate::store::RunRecord,
        compiled: Arc<CompiledWorkflow>,
        providers: HashMap<String, Arc<dyn Provider>>,
        writer: Writer,
    ) -> Result<RunReport, EngineError> {
        // Taken, not copied: the inputs can hold a CSV of 100,000 rows. Inputs stored
        // masked for their card data stop the run here unless this process holds them.
        let inputs = self.held.inputs_of(run)?;
        let held = self.held.holds(&run.id);
        self.store
            .set_run_status(&run.id, RunStatus::Running, None)
            .await?;
        let started = run.created_at.to_rfc3339_opts(SecondsFormat::Secs, true);
        let scheduled = run.scheduled_for.map_or_else(
            || started.clone(),
            |s| s.to_rfc3339_opts(SecondsFormat::Secs, true),
        );
        let mut ctx = RunContext::new(
            inputs,
            json!({ "id": run.id, "started_at": started, "scheduled_for": scheduled }),
        );
        let n = compiled.steps.len();
        let uses: Vec<Uses> = (0..n)
            .map(|i| Uses::of(step_templates(&compiled, i).iter().map(String::as_str)))
            .collect();
        let referenced: BTreeSet<String> =
            uses.iter().flat_map(|u| u.steps.iter().cloned()).collect();

        let mut shared = self.shared(&run.id, compiled.clone(), providers, writer.clone());
        // A worker helping with a batch step reads its elements from the store, where card
        // data is masked.
        shared.share_items &= !held;
        let shared = Arc::new(shared);
        if let Err(message) = preflight(&shared).await {
            return Ok(RunReport {
                run_id: run.id.clone(),
                status: RunStatus::Waiting,
                messages: vec![format!(
                    "{message}; nothing was sent: fix it, then `sluice resume {}`",
                    run.id
                )],
                credentials_refused: true,
            });
        }

        let mut status: Vec<Status> = vec![Status::NotStarted; n];
        let mut tasks = JoinSet::new();
        // The first step that had to stop the run; the steps still running then are waited
        // for (they stop at their own next write) rather than dropped mid-call.
        let mut halted: Option<Halt> = None;
        loop {
            for &i in compiled.dag.order() {
                if halted.is_some() {
                    break;
                }
                if status[i] != Status::NotStarted {
                    continue;
                }
                let deps = compiled.dag.deps(i);
                let dep_done = |d: &usize| {
                    matches!(
                        &status[*d],
                        Status::Done(StepEnd::Succeeded(_) | StepEnd::Skipped(_))
                    ) || matches!(&status[*d], Status::Done(StepEnd::Failed(_)) if compiled.config.steps[*d].continue_on_error)
                };
                if !deps.iter().all(dep_done) {
                    continue;
                }
                let step = &compiled.config.steps[i];
                // What the steps before this one (or the run's creation) freed goes back first,
                // and the step's rows are read now, not with the run: only the steps running
                // hold their rows.
                crate::memory::release_freed();
                let step_rows = self
                    .store
                    .load_step_rows(&run.id, &StepId::from(&step.id))
                    .await?;
                // A skipped dependency whose output this step uses skips it too.
                let skipped_dep = deps.iter().find(|d| {
                    matches!(status[**d], Status::Done(StepEnd::Skipped(_)))
                        && uses[i].steps.contains(&compiled.steps[**d].id)
                });
                if let Some(&d) = skipped_dep
                    && step_rows
                        .first()
                        .is_some_and(|r| r.state == StepState::Pending)
                {
                    let reason = format!(
                        "`{}` was skipped and this step uses its output",
                        compiled.steps[d].id
                    );
                    skip_all(&writer, &step_rows, &reason).await?;
                    status[i] = Status::Done(StepEnd::Skipped(reason));
                    continue;
                }
                if let Some(end) = finished(&step_rows) {
                    let end = match end {
                        StepEnd::Succeeded(_) if step.for_each.is_some() => {
                            StepEnd::Succeeded(StepOutput::Items(
                                step_rows[1..]
                                    .iter()
                                    .filter(|r| r.state == StepState::Succeeded)
                                    .count(),
                            ))
                        }
                        other => other,
                    };
                    record_output(&mut ctx, &referenced, &step.id, &end);
                    status[i] = Status::Done(end);
                    continue;
                }
                let mut data = ctx.for_step(&uses[i]);
                for d in deps.iter().copied() {
                    let id = &compiled.steps[d].id;
                    let Status::Done(StepEnd::Succeeded(StepOutput::Items(n))) = status[d] else {
                        continue;
                    };
                    if !uses[i].steps.contains(id) {
                        continue;
                    }
                    let entry = if uses[i].counted.contains(id) && !uses[i].wants(id, "items") {
                        counted_entry(n)
                    } else {
                        items_entry(
                            id,
                            &uses[i],
                            self.item_outputs(&run.id, &StepId::from(id)).await?,
                        )
                    };
                    if let Some(Value::Object(steps)) = data.get_mut("steps") {
                        steps.insert(id.clone(), entry);
                    }
                }
                let scope = Scope::new(Value::Object(data));
                let elements = match (&step.for_each, &step.key) {
                    (Some(expr), Some(key)) => {
                        let alias = step.alias.as_deref().unwrap_or(DEFAULT_ALIAS);
                        let list = ctx.list(&step.id, expr)?;
                        let key_scope =
                            Scope::new(Value::Object(ctx.for_step(&Uses::of([key.as_str()]))));
                        let keys = item_keys(
                            &self.templates,
                            &step.id,
                            alias,
                            key,
                            list.values(),
                            key_scope,
                        )?;
                        Some(Elements { keys, list })
                    }
                    _ => None,
                };
                status[i] = Status::Running;
                let shared = shared.clone();
                tasks.spawn(
                    async move { (i, step::run(shared, i, scope, step_rows, elements).await) }
                        .in_current_span(),
                );
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let (i, end) = joined.expect("step tasks do not panic");
            let end = match end {
                Ok(end) => end,
                Err(e) => {
                    halted.get_or_insert(e);
                    continue;
                }
            };
            let id = &compiled.steps[i].id;
            match &end {
                StepEnd::Succeeded(_) => tracing::info!(step = %id, "Step succeeded."),
                StepEnd::Skipped(r) => tracing::info!(step = %id, reason = %r, "Step skipped."),
                StepEnd::Failed(m) => tracing::error!(step = %id, error = %m, "Step failed."),
                StepEnd::NeedsAttention(m) => {
                    tracing::warn!(step = %id, message = %m, "Step needs attention.")
                }
                StepEnd::Waiting(m) => tracing::warn!(step = %id, message = %m, "Step waiting."),
            }
            record_output(&mut ctx, &referenced, id, &end);
            status[i] = Status::Done(end);
        }
        if let Some(why) = halted {
            return Err(EngineError::Halted(why.into()));
        }
        let report = report(&run.id, &compiled, &status);
        let failed: Vec<usize> = (0..n)
            .filter(|&i| matches!(status[i], Status::Done(StepEnd::Failed(_))))
            .filter(|&i| !compiled.config.steps[i].continue_on_error)
            .collect();
        compensate::after(&shared, &ctx, &failed, report)
            .await
            .map_err(|e| match e {
                compensate::Failure::Halt(h) => EngineError::Halted(h.into()),
                compensate::Failure::Store(e) => e.into(),
            })
    }
}

/// Per provider block, the answer fields kept redacted: the adapter's list from the catalog
/// and the block's own `redact`.
fn block_redactions(blocks: &BTreeMap<String, ProviderConfig>) -> HashMap<String, FieldPaths> {
    blocks
        .iter()
        .map(|(name, block)| (name.clone(), answer_redactions(block.kind, &block.redact)))
        .collect()
}

impl Engine {
    /// What the steps of `run_id` share, written through `writer`.
    pub(super) fn shared(
        &self,
        run_id: &RunId,
        compiled: Arc<CompiledWorkflow>,
        providers: HashMap<String, Arc<dyn Provider>>,
        writer: Writer,
    ) -> Shared {
        let concurrency = self
            .options
            .concurrency
            .or(compiled.config.concurrency)
            .unwrap_or(8)
            .max(1) as usize;
        Shared {
            breakers: super::breaker::Breakers::new(&providers, &compiled.config.providers),
            redactions: block_redactions(&compiled.config.providers),
            compiled,
            templates: self.templates.clone(),
            providers,
            writer,
            slots: Arc::new(Semaphore::new(concurrency)),
            run_id: run_id.clone(),
            max_poll: self.options.max_poll,
            progress: self.options.progress,
            store: self.store.clone(),
            wakeups: self.options.wakeups.clone(),
            owner: self.owner.clone(),
            claim_ttl: self.options.lease_ttl,
            share_items: self.options.share_items,
        }
    }

    /// The outputs of a `for_each` step's succeeded items, in item order, read back from the
    /// store for a step that uses them.
    async fn item_outputs(
        &self,
        run_id: &RunId,
        step_id: &StepId,
    ) -> Result<Vec<(String, Value)>, EngineError> {
        Ok(self
            .store
            .load_step_rows(run_id, step_id)
            .await?
            .into_iter()
            .filter(|r| !r.key.item_key.is_empty() && r.state == StepState::Succeeded)
            .map(|r| {
                (
                    r.key.item_key.into_string(),
                    r.output.unwrap_or(Value::Null),
                )
            })
            .collect())
    }
}

/// Skips every row of a step, the writes of a chunk in flight together so that they share
/// commits instead of paying one each.
async fn skip_all(writer: &Writer, rows: &[StepRecord], reason: &str) -> Result<(), EngineError> {
    for chunk in rows.chunks(512) {
        let mut writes = JoinSet::new();
        for r in chunk {
            let writer = writer.clone();
            let skip = Skip {
                key: r.key.clone(),
                reason: reason.to_string(),
            };
            writes.spawn(async move { writer.write(Write::Skip(skip)).await });
        }
        while let Some(done) = writes.join_next().await {
            done.expect("writes do not panic")
                .map_err(|e| EngineError::Halted(e.into()))?;
        }
    }
    Ok(())
}

/// Whether a lease owner (`host:pid:tag`) is a process on this host that no longer exists,
/// so its lease can be taken over without waiting for it to expire. Owners elsewhere, or
/// whose liveness cannot be checked, are waited for.
pub fn holder_is_dead(owner: &str) -> bool {
    let mut parts = owner.rsplitn(3, ':');
    let (Some(_tag), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let proc = std::path::Path::new("/proc");
    host == super::host_name()
        && proc.join("self").exists()
        && pid
            .parse::<u32>()
            .is_ok_and(|p| !proc.join(p.to_string()).exists())
}

/// The end of a step whose rows say it is over (on resume).
fn finished(rows: &[StepRecord]) -> Option<StepEnd> {
    let parent = rows.first()?;
    let message = || {
        parent
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default()
    };
    match parent.state {
        StepState::Succeeded => Some(StepEnd::Succeeded(StepOutput::Single(
            parent.output.clone().unwrap_or(Value::Null),
        ))),
        StepState::Skipped => Some(StepEnd::Skipped(
            parent.skip_reason.clone().unwrap_or_default(),
        )),
        StepState::Failed => Some(StepEnd::Failed(message())),
        StepState::Cancelled => Some(StepEnd::Skipped("cancelled".into())),
        _ => None,
    }
}

fn record_output(ctx: &mut RunContext, referenced: &BTreeSet<String>, id: &str, end: &StepEnd) {
    if !referenced.contains(id) {
        return;
    }
    if let StepEnd::Succeeded(StepOutput::Single(v)) = end {
        ctx.set_output(id, v.clone());
    }
}

/// Every template of step `i`: `with` strings, `if`, `key`. Not `for_each`: its list is
/// read from the inputs when the step starts, so the step's context need not carry it.
fn step_templates(compiled: &CompiledWorkflow, i: usize) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let step = &compiled.config.steps[i];
    let mut out = Vec::new();
    walk(&Value::Object(step.with.clone()), &mut out);
    out.extend(step.condition.clone());
    out.extend(step.key.clone());
    out
}

fn report(run_id: &RunId, compiled: &CompiledWorkflow, status: &[Status]) -> RunReport {
    let mut messages = Vec::new();
    let mut attention = false;
    let mut failed = false;
    let mut waiting = false;
    let mut blocked = false;
    for &i in compiled.dag.order() {
        let id = &compiled.steps[i].id;
        match &status[i] {
            Status::Done(StepEnd::NeedsAttention(m)) => {
                attention = true;
                messages.push(format!("`{id}` needs attention: {m}"));
            }
            Status::Done(StepEnd::Failed(m)) => {
                if !compiled.config.steps[i].continue_on_error {
                    failed = true;
                }
                messages.push(format!("`{id}` failed: {m}"));
            }
            Status::Done(StepEnd::Waiting(m)) => {
                waiting = true;
                messages.push(format!("`{id}` is {m}"));
            }
            Status::NotStarted | Status::Running => blocked = true,
            Status::Done(_) => {}
        }
    }
    let status = if attention {
        RunStatus::NeedsAttention
    } else if failed || (blocked && !waiting) {
        RunStatus::Failed
    } else if waiting {
        RunStatus::Waiting
    } else {
        RunStatus::Succeeded
    };
    RunReport {
        run_id: run_id.into(),
        status,
        messages,
        credentials_refused: false,
    }
}

/// Checks every provider block the run's provider calls use ([`Breaker::preflight`]); the
/// first refused credentials stop the run before anything is sent.
async fn preflight(shared: &Shared) -> Result<(), CredentialsRefused> {
    let blocks: BTreeSet<&str> = shared
        .compiled
        .steps
        .iter()
        .filter(|s| matches!(s.action.kind, ActionKind::Read | ActionKind::Write))
        .filter_map(|s| s.provider.as_deref())
        .collect();
    for block in blocks {
        if let Some(breaker) = shared.breakers.get(block) {
            breaker.preflight().await?;
        }
    }
    Ok(())
}

/// How long a run's lease lasts without renewal; renewed every third of it.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);
