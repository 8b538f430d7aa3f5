//! Operator decisions (`sluice approve`, `resolve`, `cancel`, `retry`): recorded with who, when
//! and why, and applied to the steps in the same transaction.

use std::fmt;

use chrono::{DateTime, Utc};

/// What the operator decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    /// Approve a waiting `approval` step: it succeeds with the approver in its output.
    Approve,
    /// The operator checked the provider and the operation happened: the step succeeds with
    /// output `{"id": provider_ref, "resolved_by": actor}`.
    ResolveSucceeded {
        /// The provider's id of the object the operator found.
        provider_ref: String,
    },
    /// The operator checked and the operation did not happen: send again with the same key.
    ResolveRetry,
    /// Skip the step; its dependants run unless they use its output.
    ResolveSkip,
    /// Cancel the run: pending and waiting steps are cancelled; steps in doubt stay as they are
    /// so they can still be resolved.
    Cancel,
    /// Redrive failed steps: they go back to pending.
    Retry,
}

impl ActionKind {
    /// The name stored in the database (`resolve_succeeded`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::ResolveSucceeded { .. } => "resolve_succeeded",
            Self::ResolveRetry => "resolve_retry",
            Self::ResolveSkip => "resolve_skip",
            Self::Cancel => "cancel",
            Self::Retry => "retry",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An operator decision to apply. Which steps it touches:
///
/// | kind | `step_id` | `item_key` | steps changed |
/// |---|---|---|---|
/// | `Approve`, `ResolveSucceeded` | required | `None` means `""` | that one step run |
/// | `ResolveRetry`, `ResolveSkip` | required | `None`: every item of the step needing attention | those |
/// | `Retry` | optional | optional | the failed step runs of the run, step or item |
/// | `Cancel` | ignored | ignored | every pending or waiting step run of the run |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorAction {
    /// The run concerned.
    pub run_id: String,
    /// The step concerned.
    pub step_id: Option<String>,
    /// The item concerned.
    pub item_key: Option<String>,
    /// The decision.
    pub kind: ActionKind,
    /// Who decided: `$USER`, or `--as`.
    pub actor: String,
    /// Why, in their words.
    pub reason: Option<String>,
}

/// A recorded operator decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRecord {
    /// Its id; increases with recording order.
    pub id: i64,
    /// The decision as given.
    pub action: OperatorAction,
    /// When it was applied.
    pub at: DateTime<Utc>,
    /// How many step runs it changed.
    pub steps_changed: u64,
}
