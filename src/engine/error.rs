//! Why the engine could not start or continue a run (as opposed to a step failing, which
//! is recorded in the store and ends the run as `failed`).

use super::call::Halt;
use super::writer::WriteError;
use crate::ids::{RunId, StepId};
use crate::plan::for_each::ForEachError;
use crate::providers::ProviderError;
use crate::spec::env::EnvError;
use crate::store::StoreError;

/// A run could not be started or continued.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The checkpoint store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A provider block could not be resolved from the environment.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A provider adapter could not be built.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// A `for_each` list or key is unusable.
    #[error("step `{step}`: for_each: {reason}")]
    ForEach {
        /// The step.
        step: StepId,
        /// What is wrong.
        reason: String,
    },
    /// Inputs feed card data and the workflow refuses raw cards.
    #[error(
        "input {} feeds card data and the workflow sets `sensitive: {{ raw_cards: refuse }}`; \
         pass card tokens instead",
        inputs.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
    )]
    RawCards {
        /// The inputs.
        inputs: Vec<String>,
    },
    /// The run's inputs carry card data, which the store keeps masked, and this process was
    /// not given the real ones.
    #[error(
        "the inputs of run `{run_id}` carry card data, which is not stored; give them again to \
         continue it: `sluice resume {run_id} --input …` with the inputs it started with"
    )]
    InputsHeld {
        /// The run.
        run_id: RunId,
    },
    /// `run --detach` of inputs that carry card data: the workers that would run it could not
    /// be given them.
    #[error(
        "the inputs carry card data, which is not stored, so no `serve` worker could continue \
         the run; run it without `--detach` (or pass a provider token instead of the card)"
    )]
    DetachedCards,
    /// The workflow file changed since the run started.
    #[error(
        "`{path}` changed since run `{run_id}` started (hash `{expected}`, now `{found}`); \
         resume with `--allow-changed` to run the rest with the new file"
    )]
    WorkflowChanged {
        /// The run.
        run_id: RunId,
        /// The file.
        path: String,
        /// The hash recorded when the run started.
        expected: String,
        /// The file's hash now.
        found: String,
    },
    /// The run was finished already.
    #[error("run `{run_id}` already finished as `{status}`")]
    Finished {
        /// The run.
        run_id: RunId,
        /// Its status.
        status: String,
    },
    /// A checkpoint could not be written, so the run stopped sending.
    #[error("the run stopped: {0}")]
    Halted(#[source] HaltCause),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Http(#[source] crate::providers::HttpClientError),
}

/// What stopped a run from writing its checkpoints, behind [`EngineError::Halted`]; kept
/// whole so that the store's error (a lost lease, a database failure) stays in the chain.
#[derive(Debug, thiserror::Error)]
pub enum HaltCause {
    /// A step could not write a checkpoint of its items.
    #[error(transparent)]
    Step(#[from] Halt),
    /// The run could not write a checkpoint of its own (the rows of a skipped step).
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// A bad `for_each` list stops a run as [`EngineError::ForEach`], with the same message.
impl From<ForEachError> for EngineError {
    fn from(e: ForEachError) -> Self {
        EngineError::ForEach {
            step: e.step.into(),
            reason: e.reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_halted_run_keeps_its_cause_and_its_message() {
        let halted = EngineError::Halted(Halt::Store(WriteError::Draining).into());
        assert_eq!(
            halted.to_string(),
            "the run stopped: checkpoint write failed: this worker is stopping and dispatches nothing new"
        );
        let cause = halted.source().expect("a cause");
        assert!(matches!(
            cause.downcast_ref::<HaltCause>(),
            Some(HaltCause::Step(Halt::Store(WriteError::Draining)))
        ));
        let written = EngineError::Halted(WriteError::Stopped.into());
        assert_eq!(
            written.to_string(),
            "the run stopped: the checkpoint writer stopped"
        );
    }
}
