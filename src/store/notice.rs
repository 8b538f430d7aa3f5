//! Store notices: changes one process makes that the `serve` workers act on at once rather
//! than at their next scan. They are hints only: a worker that misses one (it was restarting,
//! its connection dropped) finds the same change in the store at its next scan or check.

use super::step::StepKey;
use crate::ids::{RunId, StepId};

/// A change a worker may want to act on now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreNotice {
    /// A run can be claimed: created for the workers (`run --detach`), handed back by a
    /// worker that stopped, or made runnable again by an operator.
    RunFree {
        /// The run.
        run_id: RunId,
    },
    /// A run's holder published a step for other workers to help with (or items of one were
    /// given back).
    StepShared {
        /// The run.
        run_id: RunId,
        /// The step.
        step_id: StepId,
    },
    /// A webhook woke a waiting step; the await watching it, wherever it runs, can look now.
    Woken(StepKey),
}
