//! Why the engine could not start or continue a run (as opposed to a step failing, which
//! is recorded in the store and ends the run as `failed`).

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
        step: String,
        /// What is wrong.
        reason: String,
    },
    /// The workflow file changed since the run started.
    #[error(
        "`{path}` changed since run `{run_id}` started (hash `{expected}`, now `{found}`); \
         resume with `--allow-changed` to run the rest with the new file"
    )]
    WorkflowChanged {
        /// The run.
        run_id: String,
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
        run_id: String,
        /// Its status.
        status: String,
    },
    /// A checkpoint could not be written, so the run stopped sending.
    #[error("the run stopped: {0}")]
    Halted(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Http(#[source] crate::providers::HttpClientError),
}

/// A bad `for_each` list stops a run as [`EngineError::ForEach`], with the same message.
impl From<ForEachError> for EngineError {
    fn from(e: ForEachError) -> Self {
        EngineError::ForEach {
            step: e.step,
            reason: e.reason,
        }
    }
}
