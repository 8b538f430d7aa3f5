//! Runs an operator resumes from the console, continued in this process through the path
//! `sluice resume` and the `serve` worker take: the run's workflow as the run started from
//! it (its hash checked), the engine under the run's lease, every item in doubt looked up at
//! its provider before anything is sent again.
//!
//! The lease is claimed here, before the decision is recorded and before the engine starts:
//! a run a live process holds is refused at once (a second click finds it held by the first),
//! and a run whose holder died on this host is taken over from that holder only, so two
//! clicks cannot both take it. The engine then extends the lease it finds its own. On stop,
//! the runs continued here drain with the rest of the process: nothing new is sent, what is
//! in flight is recorded, and the lease is handed back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use super::worker::execute_logged;
use super::workflows::Workflows;
use crate::console::{Runner, RunnerError};
use crate::engine::executor::holder_is_dead;
use crate::engine::{Engine, EngineOptions, host_name, owner_name};
use crate::notify::Notifier;
use crate::store::{Lease, OperatorAction, RunRecord, Store, StoreError};

/// Continues resumed runs in this process.
pub struct Resumer {
    store: Arc<dyn Store>,
    options: EngineOptions,
    workflows: Mutex<Workflows>,
    tasks: Mutex<JoinSet<()>>,
}

impl Resumer {
    /// Continues runs on `store` with engines like `options` describes (each under a lease
    /// owner name of its own), loading their workflows with `workflows`.
    pub fn new(store: Arc<dyn Store>, workflows: Workflows, options: EngineOptions) -> Resumer {
        Resumer {
            store,
            options,
            workflows: Mutex::new(workflows),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Drains the runs continued here: they stop at their next checkpoint and are handed
    /// back; those still busy after `grace` are cut off (they resume from their checkpoints).
    pub async fn stop(&self, grace: Duration) {
        self.options.drain.start();
        let mut tasks = std::mem::take(&mut *self.tasks.lock().expect("tasks lock"));
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tasks.shutdown().await;
        }
    }

    /// Takes the lease of `run` as `owner`: from nobody, or from a holder that died on this
    /// host; a live holder is refused.
    async fn claim(&self, run: &RunRecord, owner: &str) -> Result<Lease, RunnerError> {
        let ttl = self.options.lease_ttl;
        match self.store.acquire_lease(&run.id, owner, ttl).await {
            Ok(lease) => Ok(lease),
            Err(StoreError::Leased { owner: holder, .. }) if holder_is_dead(&holder) => Ok(self
                .store
                .take_over_lease(&run.id, &holder, owner, ttl)
                .await?),
            Err(StoreError::Leased {
                run_id,
                owner,
                expires_at,
            }) => Err(RunnerError::Held {
                run_id,
                owner,
                expires_at,
            }),
            Err(error) => Err(error.into()),
        }
    }
}

#[async_trait::async_trait]
impl Runner for Resumer {
    async fn resume(&self, action: OperatorAction) -> Result<(), RunnerError> {
        let run = self.store.load_run(&action.run_id).await?;
        let unusable = |reason: String| RunnerError::Unusable {
            run_id: run.id.clone(),
            reason,
        };
        if run.status.is_finished() {
            return Err(StoreError::InvalidAction {
                run_id: run.id,
                action: action.kind.as_str(),
                problem: "the run has already finished",
            }
            .into());
        }
        let workflow = self
            .workflows
            .lock()
            .expect("workflows lock")
            .for_run(&run)
            .map_err(|e| unusable(format!("{e:#}")))?;
        let owner = owner_name(&host_name());
        let lease = self.claim(&run, &owner).await?;
        if let Err(error) = self.store.apply_operator_action(&action).await {
            let _ = self.store.release_lease(&lease).await;
            return Err(error.into());
        }
        let engine = Engine::new(
            self.store.clone(),
            EngineOptions {
                owner: Some(owner),
                ..self.options.clone()
            },
        );
        let store = self.store.clone();
        let drain = self.options.drain.clone();
        let run_id = run.id;
        let mut tasks = self.tasks.lock().expect("tasks lock");
        // Runs resumed before that have ended: their tasks are done with.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            tracing::info!(run_id = %run_id, "Resuming the run for an operator.");
            execute_logged(&engine, &run_id, &workflow, &drain).await;
            let notifier = Notifier::new(store, owner_name("console/notify"));
            if let Err(error) = notifier.deliver_due(Some(&run_id)).await {
                tracing::warn!(run_id = %run_id, %error, "Notifications left for the next delivery.");
            }
        });
        Ok(())
    }
}
