//! Operator decisions (`sluice approve`, `resolve`, `cancel`, `retry`, `dismiss`): recorded
//! with who, when and why, and applied to the steps (or the discrepancy) in the same
//! transaction.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::ids::{ItemKey, RunId, StepId};

#[cfg(doc)]
use super::class::ErrorClass;

/// The rows of a write that may have reached the provider, in SQL: a write was dispatched
/// (`idempotency_key`) and its object is known (a checkpoint or an id was recorded).
macro_rules! object_known {
    () => {
        "(idempotency_key IS NOT NULL \
          AND (checkpoint_json IS NOT NULL OR COALESCE(provider_ref, '') <> ''))"
    };
}

/// `retry --failed` ([`Transition::RetryFailed`](super::transition::Transition)) over `$1` now, `$2` run, `$3` step or NULL, `$4` item or NULL: failed rows
/// go back to `pending`, except writes whose provider object is known, which go to
/// `dispatching` marked [`ErrorClass::OperatorRetry`] to be looked up first. The same text on
/// both backends.
pub(crate) const RESET_FAILED: &str = concat!(
    "UPDATE step_runs SET \
     state = CASE WHEN ",
    object_known!(),
    " THEN 'dispatching' ELSE 'pending' END, \
     error_class = CASE WHEN ",
    object_known!(),
    " THEN 'operator_retry' ELSE NULL END, \
     error_message = CASE WHEN ",
    object_known!(),
    " THEN 'sent back by an operator: looked up at the provider before anything is sent again' \
     ELSE NULL END, \
     next_attempt_at = NULL, updated_at = $1 \
     WHERE run_id = $2 AND {guard} \
       AND ($3 IS NULL OR step_id = $3) AND ($4 IS NULL OR item_key = $4)"
);

/// `resolve --retry` ([`Transition::ResolveRetry`](super::transition::Transition)) over `$1` now, `$2` run, `$3` step, `$4` item or NULL: rows needing
/// attention that were dispatched go to `dispatching` marked [`ErrorClass::OperatorResolve`], to
/// be looked up before they are sent again; the others to `pending`.
pub(crate) const RESOLVE_RETRY: &str = "UPDATE step_runs SET \
     state = CASE WHEN idempotency_key IS NOT NULL THEN 'dispatching' ELSE 'pending' END, \
     error_class = CASE WHEN idempotency_key IS NOT NULL THEN 'operator_resolve' ELSE NULL END, \
     error_message = CASE WHEN idempotency_key IS NOT NULL \
       THEN 'sent back by an operator: looked up at the provider before it is sent again' \
       ELSE NULL END, \
     next_attempt_at = NULL, updated_at = $1 \
     WHERE run_id = $2 AND step_id = $3 AND ($4 IS NULL OR item_key = $4) \
       AND {guard}";

/// The `SET` clause a dispatch adds so that a redriven row's mark goes with its dispatch.
macro_rules! clear_redrive {
    () => {
        "error_class = CASE WHEN error_class IN ('operator_retry', 'operator_resolve') \
           THEN NULL ELSE error_class END, \
         error_message = CASE WHEN error_class IN ('operator_retry', 'operator_resolve') \
           THEN NULL ELSE error_message END, "
    };
}
pub(crate) use clear_redrive;

/// What the operator decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    /// Approve a waiting `approval` step, if its policy lets the actor: counted, and once
    /// the policy has its approvals the step succeeds with the approvers in its output.
    Approve,
    /// Deny a waiting `approval` step (a reason is required): the step and the run fail.
    Deny,
    /// The operator checked the provider and the operation happened: the step succeeds with
    /// output `{"id": provider_ref, "resolved_by": actor}`.
    ResolveSucceeded {
        /// The provider's id of the object the operator found.
        provider_ref: String,
    },
    /// The operator checked and the operation did not happen: send again with the same key,
    /// after a lookup (a dispatched row goes to `dispatching` marked
    /// [`ErrorClass::OperatorResolve`]).
    ResolveRetry,
    /// Skip the step; its dependants run unless they use its output.
    ResolveSkip,
    /// Cancel the run: pending and waiting steps are cancelled; steps in doubt stay as they are
    /// so they can still be resolved.
    Cancel,
    /// Redrive failed steps: they go back to pending, or, when their provider object is
    /// known, to `dispatching` marked [`ErrorClass::OperatorRetry`] to be looked up first.
    Retry,
    /// Continue the run from its checkpoints, as `sluice resume` does: it changes no step
    /// (the engine does, under the run's lease, looking up what may have been sent). Recorded
    /// by whoever claimed the run to continue it; refused on a finished run.
    Resume,
    /// Dismiss an open reconciliation discrepancy about the step run, found at the provider
    /// as `provider_ref` ([`DiscrepancyStore::dismiss_discrepancy`](super::DiscrepancyStore),
    /// which names it by id; refused by `apply_operator_action`). It changes no step.
    DismissDiscrepancy {
        /// The provider's id of the object the discrepancy is about.
        provider_ref: String,
    },
}

impl ActionKind {
    /// The name stored in the database (`resolve_succeeded`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::ResolveSucceeded { .. } => "resolve_succeeded",
            Self::ResolveRetry => "resolve_retry",
            Self::ResolveSkip => "resolve_skip",
            Self::Cancel => "cancel",
            Self::Retry => "retry",
            Self::Resume => "resume",
            Self::DismissDiscrepancy { .. } => "dismiss_discrepancy",
        }
    }
}

/// A name that is not an [`ActionKind`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown operator action `{0}`")]
pub struct UnknownAction(pub String);

impl ActionKind {
    /// The action stored as `name` ([`as_str`](Self::as_str)), with the provider reference
    /// stored beside it (`resolve_succeeded` and `dismiss_discrepancy` have one).
    pub fn from_stored(name: &str, provider_ref: Option<String>) -> Result<Self, UnknownAction> {
        Ok(match name {
            "approve" => Self::Approve,
            "deny" => Self::Deny,
            "resolve_succeeded" => Self::ResolveSucceeded {
                provider_ref: provider_ref.unwrap_or_default(),
            },
            "resolve_retry" => Self::ResolveRetry,
            "resolve_skip" => Self::ResolveSkip,
            "cancel" => Self::Cancel,
            "retry" => Self::Retry,
            "resume" => Self::Resume,
            "dismiss_discrepancy" => Self::DismissDiscrepancy {
                provider_ref: provider_ref.unwrap_or_default(),
            },
            _ => return Err(UnknownAction(name.to_owned())),
        })
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
/// | `Approve`, `ResolveSucceeded` | required | `None` means `""` | that one step run (none for an approval still short of its policy) |
/// | `Deny` | required | `None` means `""` | that one step run, and the run fails |
/// | `ResolveRetry`, `ResolveSkip` | required | `None`: every item of the step needing attention | those |
/// | `Retry` | optional | optional | the failed step runs of the run, step or item |
/// | `Cancel` | ignored | ignored | every pending or waiting step run of the run |
/// | `Resume` | ignored | ignored | none |
/// | `DismissDiscrepancy` | the discrepancy's | the discrepancy's | none (refused here: see [`DiscrepancyStore::dismiss_discrepancy`](super::DiscrepancyStore)) |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorAction {
    /// The run concerned.
    pub run_id: RunId,
    /// The step concerned.
    pub step_id: Option<StepId>,
    /// The item concerned.
    pub item_key: Option<ItemKey>,
    /// The decision.
    pub kind: ActionKind,
    /// Who decided: `$USER`, or `--as`.
    pub actor: String,
    /// Why, in their words.
    pub reason: Option<String>,
    /// The groups the users file puts the actor in: an approval whose `approvers` name one
    /// (`@treasury`) admits them. Judged with the decision, not recorded.
    pub groups: Vec<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip() {
        let kinds = [
            ActionKind::Approve,
            ActionKind::Deny,
            ActionKind::ResolveSucceeded {
                provider_ref: "tr_1".to_owned(),
            },
            ActionKind::ResolveRetry,
            ActionKind::ResolveSkip,
            ActionKind::Cancel,
            ActionKind::Retry,
            ActionKind::Resume,
            ActionKind::DismissDiscrepancy {
                provider_ref: "tr_1".to_owned(),
            },
        ];
        for kind in kinds {
            let name = kind.as_str();
            assert_eq!(
                ActionKind::from_stored(name, Some("tr_1".to_owned())).map(|k| k.as_str()),
                Ok(name)
            );
            if !matches!(
                kind,
                ActionKind::ResolveSucceeded { .. } | ActionKind::DismissDiscrepancy { .. }
            ) {
                assert_eq!(ActionKind::from_stored(name, None), Ok(kind));
            }
        }
        assert_eq!(
            ActionKind::from_stored("resolve_succeeded", Some("tr_1".to_owned())),
            Ok(ActionKind::ResolveSucceeded {
                provider_ref: "tr_1".to_owned()
            })
        );
        assert!(ActionKind::from_stored("undo", None).is_err());
    }
}
