//! `serve --settle-every` and `--reconcile-every`: the recent runs' committed payments read
//! back from their providers on a schedule, recording the ones now settled or failed after
//! commit (each failure an operator case: `status` lists it, its notifications are owed);
//! and, when asked, every payment of those runs reconciled, each disagreement logged with
//! its item key. Both only read at the providers. Every worker may do it: a settlement is
//! recorded once however many record it.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::workflows::Workflows;
use crate::settlement::{PaymentState, PaymentSteps, Scope, load, reconcile, track};
use crate::store::{RunFilter, RunRecord, RunStatus, Store};

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
