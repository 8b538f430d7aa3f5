//! `serve --settle-every` and `--reconcile-every`: the recent runs' committed payments read
//! back from their providers on a schedule, recording the ones now settled or failed after
//! commit (each failure an operator case: `status` lists it, its notifications are owed);
//! and, when asked, every payment of those runs reconciled, each disagreement logged with
//! its item key. Both only read at the providers. Every worker may do it: a settlement is
//! recorded once however many record it.
//!
//! Where a provider sends webhooks, [`learn`] settles a payment as soon as one about its
//! object arrives: the object is read back (an event is only a hint) and recorded through
//! the same path as polling, which stays as the fallback for lost webhooks and for providers
//! that send none.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::workflows::Workflows;
use crate::settlement::{PaymentState, PaymentSteps, Scope, confirm, load, reconcile, track};
use crate::store::{RunFilter, RunRecord, RunStatus, StepKey, Store};
use crate::webhooks::ObjectEvent;

/// The newest runs each pass looks at.
const RUNS_LOOKED_AT: u32 = 200;

/// What a pass does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Record the committed payments that settled or failed after commit.
    Track,
    /// Compare every payment with the provider's records and log each disagreement.
    Reconcile,
}

/// Starts a pass over the recent runs every `every` (the first after `every`, so a worker
/// starting up claims its runs first) until aborted.
pub fn spawn(
    store: Arc<dyn Store>,
    mut workflows: Workflows,
    every: Duration,
    pass: Pass,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            ticks.tick().await;
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
            let runs = match store.list_runs(&filter).await {
                Ok(runs) => runs,
                Err(error) => {
                    tracing::warn!(%error, "Cannot list runs to settle.");
                    continue;
                }
            };
            for run in runs {
                visit(&*store, &mut workflows, &run, pass).await;
            }
        }
    })
}

/// One run's pass; what goes wrong is logged and tried again on the next.
async fn visit(store: &dyn Store, workflows: &mut Workflows, run: &RunRecord, pass: Pass) {
    let workflow = match workflows.for_run(run) {
        Ok(w) => w,
        Err(error) => {
            tracing::debug!(run_id = %run.id, error = %format!("{error:#}"), "Run not settled.");
            return;
        }
    };
    let payments = match load(store, &run.id, &PaymentSteps::of(&workflow.compiled)).await {
        Ok(p) => p,
        Err(error) => {
            tracing::warn!(run_id = %run.id, %error, "Cannot read a run's payments.");
            return;
        }
    };
    match pass {
        Pass::Track if payments.iter().any(|p| p.state == PaymentState::Committed) => {
            match track(store, &payments, &workflow.providers).await {
                Ok(learned) if !learned.is_empty() => {
                    tracing::info!(run_id = %run.id, settled = learned.len(), "Settlements recorded.");
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(run_id = %run.id, %error, "Cannot record settlements.")
                }
            }
        }
        Pass::Track => {}
        Pass::Reconcile => {
            for f in reconcile(&payments, &workflow.providers, &Scope::Payments).await {
                if f.verdict.fails() {
                    tracing::warn!(
                        run_id = %run.id,
                        step = f.step_id.as_ref().map_or("", |s| s.as_str()),
                        item = f.item_key.as_ref().map_or("", |k| k.as_str()),
                        provider_ref = f.provider_ref.as_deref().unwrap_or(""),
                        finding = f.verdict.as_str(),
                        detail = %f.verdict,
                        "Reconciliation mismatch."
                    );
                }
            }
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
        Ok(run) => match workflows.for_run(&run) {
            Ok(w) => w,
            Err(error) => {
                tracing::debug!(run_id = %run.id, error = %format!("{error:#}"), "Run not settled.");
                return;
            }
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
