//! `serve --settle-every` and scheduled reconciliation: the recent runs' committed payments
//! read back from their providers on a schedule, recording the ones now settled or failed
//! after commit (each failure an operator case: `status` lists it, its notifications are
//! owed); and every payment of those runs reconciled as often as its workflow's
//! `reconcile.every` says (`serve --reconcile-every` for workflows that do not), each
//! disagreement logged with its item key and recorded as an operator case (a discrepancy:
//! `status` and the console list it, its notifications are owed), cleared when a later pass
//! finds the payment matched. Both only read at the providers. Every worker may do it: a
//! settlement, or an open discrepancy, is recorded once however many record it.
//!
//! Where a provider sends webhooks, [`learn`] settles a payment as soon as one about its
//! object arrives: the object is read back (an event is only a hint) and recorded through
//! the same path as polling, which stays as the fallback for lost webhooks and for providers
//! that send none.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::workflows::{Workflow, Workflows};
use crate::settlement::{
    Payment, PaymentState, PaymentSteps, Recorded, Scope, confirm, load, reconcile,
    record_findings, track,
};
use crate::spec::ReconcileConfig;
use crate::store::{RunFilter, RunRecord, RunStatus, StepKey, Store};
use crate::webhooks::ObjectEvent;

/// The newest runs each pass looks at.
const RUNS_LOOKED_AT: u32 = 200;

/// The longest the reconciliation schedule goes without looking for runs of workflows whose
/// `reconcile.every` is shorter than what it knows of.
const RECONCILE_LOOK: Duration = Duration::from_secs(60);

/// Starts tracking the recent runs' settlements every `every` (the first pass after `every`,
/// so a worker starting up claims its runs first) until aborted.
pub fn spawn(store: Arc<dyn Store>, mut workflows: Workflows, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
        loop {
            ticks.tick().await;
            for run in recent(&*store).await {
                let Some(workflow) = workflow_of(&mut workflows, &run) else {
                    continue;
                };
                if let Some(payments) = payments_in(&*store, &run, &workflow).await
                    && payments.iter().any(|p| p.state == PaymentState::Committed)
                {
                    track_run(&*store, &run, &payments, &workflow).await;
                }
            }
        }
    })
}

/// Starts reconciling the recent runs of each workflow every `reconcile.every` of that
/// workflow, or every `default` for a workflow without one (never, without a default), until
/// aborted. A workflow's first reconciliation comes one interval after its runs are first
/// seen, so a worker starting up claims its runs first.
pub fn spawn_reconcile(
    store: Arc<dyn Store>,
    mut workflows: Workflows,
    default: Option<Duration>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: HashMap<String, Instant> = HashMap::new();
        let mut look = Duration::from_secs(1);
        loop {
            tokio::time::sleep(look).await;
            let now = Instant::now();
            let mut shortest = default.unwrap_or(RECONCILE_LOOK).min(RECONCILE_LOOK);
            let mut done = HashSet::new();
            for run in recent(&*store).await {
                let Some(workflow) = workflow_of(&mut workflows, &run) else {
                    continue;
                };
                let every = workflow.compiled.config.reconcile.as_ref();
                let Some(every) = every.and_then(ReconcileConfig::interval).or(default) else {
                    continue;
                };
                shortest = shortest.min(every);
                let seen = *last.entry(run.workflow_name.clone()).or_insert(now);
                if now.duration_since(seen) < every {
                    continue;
                }
                done.insert(run.workflow_name.clone());
                if let Some(payments) = payments_in(&*store, &run, &workflow).await {
                    reconcile_run(&*store, &run, &payments, &workflow).await;
                }
            }
            for name in done {
                last.insert(name, now);
            }
            look = shortest.max(ReconcileConfig::MIN_EVERY);
        }
    })
}

/// The newest runs that may hold payments; a store failure is logged (and gives none).
async fn recent(store: &dyn Store) -> Vec<RunRecord> {
    let filter = RunFilter {
        workflow: None,
        statuses: vec![
            RunStatus::Succeeded,
            RunStatus::Running,
            RunStatus::Waiting,
            RunStatus::NeedsAttention,
            RunStatus::Failed,
        ],
        created_from: None,
        created_before: None,
        limit: Some(RUNS_LOOKED_AT),
    };
    store.list_runs(&filter).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "Cannot list runs to settle or reconcile.");
        Vec::new()
    })
}

/// The workflow `run` started from; when it cannot be had, why is logged.
fn workflow_of(workflows: &mut Workflows, run: &RunRecord) -> Option<Arc<Workflow>> {
    workflows
        .for_run(run)
        .inspect_err(|error| {
            tracing::debug!(run_id = %run.id, error = %format!("{error:#}"), "Run not settled.");
        })
        .ok()
}

/// A run's payments; a store failure is logged (and tried again on the next pass).
async fn payments_in(
    store: &dyn Store,
    run: &RunRecord,
    workflow: &Workflow,
) -> Option<Vec<Payment>> {
    load(store, &run.id, &PaymentSteps::of(&workflow.compiled))
        .await
        .inspect_err(
            |error| tracing::warn!(run_id = %run.id, %error, "Cannot read a run's payments."),
        )
        .ok()
}

/// Records the settlements of a run's committed payments that are now final.
async fn track_run(store: &dyn Store, run: &RunRecord, payments: &[Payment], workflow: &Workflow) {
    match track(store, payments, &workflow.providers).await {
        Ok(learned) if !learned.is_empty() => {
            tracing::info!(run_id = %run.id, settled = learned.len(), "Settlements recorded.");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(run_id = %run.id, %error, "Cannot record settlements."),
    }
}

/// Compares a run's payments with the providers' records, logs every disagreement, and
/// records them as operator cases (clearing those of payments that match again); a store
/// failure is logged, and the next pass records what this one could not.
async fn reconcile_run(
    store: &dyn Store,
    run: &RunRecord,
    payments: &[Payment],
    workflow: &Workflow,
) {
    let findings = reconcile(payments, &workflow.providers, &Scope::Payments).await;
    for f in findings.iter().filter(|f| f.verdict.fails()) {
        tracing::warn!(
            run_id = %run.id,
            workflow = %run.workflow_name,
            step = f.step_id.as_ref().map_or("", |s| s.as_str()),
            item = f.item_key.as_ref().map_or("", |k| k.as_str()),
            provider_ref = f.provider_ref.as_deref().unwrap_or(""),
            finding = f.verdict.as_str(),
            detail = %f.verdict,
            "Reconciliation mismatch."
        );
    }
    match record_findings(store, &findings).await {
        Ok(Recorded { raised, cleared }) if raised > 0 || cleared > 0 => {
            tracing::info!(run_id = %run.id, raised, cleared, "Reconciliation cases recorded.");
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(run_id = %run.id, %error, "Cannot record reconciliation cases.");
        }
    }
}

/// Settles, from each webhook naming an object, the committed payments made as that object
/// through that provider block, until `objects` closes.
pub fn learn(
    store: Arc<dyn Store>,
    mut workflows: Workflows,
    mut objects: mpsc::Receiver<ObjectEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(event) = objects.recv().await {
            let keys = match store.unsettled_by_ref(&event.object_id).await {
                Ok(keys) => keys,
                Err(error) => {
                    tracing::warn!(%error, object = %event.object_id, "Cannot look up the payment of a webhook.");
                    continue;
                }
            };
            for key in keys {
                settle_one(&*store, &mut workflows, &event, key).await;
            }
        }
    })
}

/// Reads back and records payment `key` if its step pays through the event's provider
/// block and creates the event's kind of object; what goes wrong is logged (the next poll
/// tries again).
async fn settle_one(
    store: &dyn Store,
    workflows: &mut Workflows,
    event: &ObjectEvent,
    key: StepKey,
) {
    let workflow = match store.load_run(&key.run_id).await {
        Ok(run) => match workflow_of(workflows, &run) {
            Some(w) => w,
            None => return,
        },
        Err(error) => {
            tracing::warn!(run_id = %key.run_id, %error, "Cannot load a run to settle.");
            return;
        }
    };
    let steps = PaymentSteps::step(&workflow.compiled, key.step_id.as_str());
    let Some((block, action)) = steps.get(key.step_id.as_str()) else {
        return;
    };
    let Some(provider) = workflow.providers.get(block) else {
        return;
    };
    if block != event.provider
        || provider.payment_object(action.name) != Some(event.object_type.as_str())
    {
        return;
    }
    let object = (event.object_type.as_str(), event.object_id.as_str());
    match confirm(store, &**provider, key.clone(), object).await {
        Ok(Some(new)) => tracing::info!(run_id = %key.run_id, step = %key.step_id,
            item = %key.item_key, settlement = new.settlement.as_str(), "Settlement learned from a webhook."),
        Ok(None) => {}
        Err(error) => tracing::warn!(run_id = %key.run_id, step = %key.step_id,
            item = %key.item_key, %error, "Cannot confirm a webhook's payment; polling will."),
    }
}
