//! Executing the runs the scheduler created: the [`Launcher`] seam, and [`EngineLauncher`],
//! which runs them with the engine in background tasks.
//!
//! By the time a launcher is called, the slot's run exists in the store with every step
//! checkpointed, so a launcher that dies (or a process killed) loses nothing: the run stays
//! `pending` or `running` and is resumed like any other.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::workflow::ScheduledWorkflow;
use crate::engine::{Engine, EngineError};
use crate::ids::RunId;
use crate::store::{NewLease, StoreError};

/// A slot's run, created and committed, to be executed.
#[derive(Debug)]
pub struct Launch {
    /// The run (`sched_<workflow>_<slot>`).
    pub run_id: RunId,
    /// The slot it was fired for.
    pub slot: DateTime<Utc>,
    /// Its workflow.
    pub workflow: Arc<ScheduledWorkflow>,
    /// Its real inputs, when they carry card data its row keeps masked: only the process
    /// that rendered them can execute it (`engine::held`).
    pub held: Option<Map<String, Value>>,
    /// Drop it when the run has ended (or stopped): that wakes the scheduler, which may have
    /// a slot queued behind this run.
    pub done: RunDone,
}

/// Wakes the scheduler when dropped. See [`Launch::done`].
#[derive(Debug)]
pub struct RunDone(pub(super) Arc<Notify>);

impl Drop for RunDone {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

/// Executes runs the scheduler created.
#[async_trait::async_trait]
pub trait Launcher: Send + Sync {
    /// Starts executing `launch.run_id` and returns without waiting for it to end.
    async fn launch(&self, launch: Launch);

    /// The lease a slot's run is created with, so that no `serve` worker claims it before
    /// [`launch`](Self::launch) starts it. `None`: created free.
    fn lease(&self) -> Option<NewLease> {
        None
    }
}

/// Runs each launched run with [`Engine::execute`] in its own task.
///
/// Give it an [`Engine`] of its own, not one that also resumes runs: a run's lease belongs
/// to an engine's owner name, so a second engine in the same process is refused while this
/// one executes the run, where a shared engine would walk it twice.
pub struct EngineLauncher {
    engine: Arc<Engine>,
    tasks: Mutex<JoinSet<()>>,
}

impl EngineLauncher {
    /// A launcher executing runs with `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        EngineLauncher {
            engine,
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// How many launched runs are still executing.
    pub fn in_flight(&self) -> usize {
        let mut tasks = self.tasks();
        while tasks.try_join_next().is_some() {}
        tasks.len()
    }

    /// Waits up to `grace` for the runs in flight to end, then stops the rest where they
    /// are: every step is checkpointed, so a stopped run resumes from its last checkpoint
    /// (an item caught between dispatch and result is reconciled first, never resent blind).
    pub async fn shutdown(&self, grace: Duration) {
        let mut tasks = std::mem::take(&mut *self.tasks());
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!(
                runs = tasks.len(),
                "Stopping scheduled runs still in flight; they resume from their checkpoints."
            );
            tasks.shutdown().await;
        }
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, JoinSet<()>> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl Launcher for EngineLauncher {
    fn lease(&self) -> Option<NewLease> {
        Some(self.engine.new_lease())
    }

    async fn launch(&self, launch: Launch) {
        let engine = self.engine.clone();
        let mut tasks = self.tasks();
        // Finished tasks keep their slot in the set until joined; reap them here.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            let Launch {
                run_id,
                workflow,
                held,
                done,
                ..
            } = launch;
            if let Some(inputs) = held {
                engine.hold_inputs(&run_id, inputs);
            }
            let compiled = workflow.compiled.clone();
            let result = engine
                .execute(&run_id, compiled, workflow.providers.clone())
                .await;
            match result {
                Ok(report) => {
                    tracing::info!(run_id = run_id.as_str(), status = %report.status, "Scheduled run ended.");
                }
                Err(EngineError::Store(StoreError::Leased { owner, .. })) => {
                    tracing::info!(run_id = run_id.as_str(), holder = %owner, "Scheduled run is executed by another worker.");
                }
                Err(error) => {
                    tracing::error!(run_id = run_id.as_str(), error = %error, "Scheduled run stopped; it can be resumed.");
                }
            }
            drop(done);
        });
    }
}
