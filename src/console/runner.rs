//! Who continues a run an operator resumes from its page. The console takes decisions and
//! never walks a run itself; the process that serves it (`serve`, `console`) hands it a
//! [`Runner`] that claims the run and continues it through the engine, as `sluice resume`
//! does, so the never-twice rules are the engine's and the store's.

use chrono::{DateTime, Utc};

use crate::ids::RunId;
use crate::store::{OperatorAction, StoreError};

/// Claims runs and continues them in the background.
#[async_trait::async_trait]
pub trait Runner: Send + Sync {
    /// Claims `action`'s run (its lease, so that a run a live process holds is refused and
    /// a second click finds it held), records `action` (a [`Resume`]) once it is claimed,
    /// and continues the run in the background.
    ///
    /// [`Resume`]: crate::store::ActionKind::Resume
    ///
    /// # Errors
    /// [`RunnerError`]: the run is held, finished, or cannot be continued here.
    async fn resume(&self, action: OperatorAction) -> Result<(), RunnerError>;
}

/// Why a run was not resumed; nothing was recorded and nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// A live process holds the run: it is running there.
    #[error(
        "run `{run_id}` is held by `{owner}` until {expires_at}: it is running there; \
         nothing was started"
    )]
    Held {
        /// The run.
        run_id: RunId,
        /// Its lease holder.
        owner: String,
        /// Until when, unless renewed.
        expires_at: DateTime<Utc>,
    },
    /// The run's workflow cannot be loaded here as the run started from it.
    #[error("run `{run_id}` cannot be continued here: {reason}")]
    Unusable {
        /// The run.
        run_id: RunId,
        /// Why (a changed or missing file, a missing credential).
        reason: String,
    },
    /// The store refused or failed (a finished run is refused by the store).
    #[error(transparent)]
    Store(#[from] StoreError),
}
