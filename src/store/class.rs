//! Error classes: how a step's last error is classified, as stored in `error_class` (steps and
//! attempts) and shown by `sluice status`.
//!
//! The set is open. Most classes are the engine's and the adapters' words, but a failed control
//! step is classed by its action's name (`assert`, `sleep`), which the catalog owns, and a
//! Postgres database is shared by every `serve` worker, including, during an upgrade, newer
//! ones. A class this build does not know is descriptive text for the operator, not protocol
//! state, so it reads back as [`ErrorClass::Other`] rather than making the whole run
//! unreadable; only [`ErrorClass::OperatorRetry`] and [`ErrorClass::OperatorResolve`] change
//! what the engine does.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// The classification of a [`StepError`](super::StepError).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The provider call failed and nothing was applied; it is tried again later.
    Retryable,
    /// The provider refused the request with its own message.
    Rejected,
    /// The request may have been applied: it is looked up before anything else.
    InDoubt,
    /// Refused by sluice before sending (bad input, missing configuration).
    Invalid,
    /// A provider write failed without a classified provider error (e.g. the object it made
    /// ended in a failed state).
    Failed,
    /// An `await` step gave up (timed out, or the object it waited for failed).
    Await,
    /// More items of a `for_each` step failed than it tolerates.
    Items,
    /// The step's `with` did not render.
    Template,
    /// An `assert` step's condition was false or not a boolean.
    Assert,
    /// A `sleep` step's duration did not parse.
    Sleep,
    /// The step is in doubt and an operator must decide (`sluice resolve`).
    NeedsAttention,
    /// A `dispatching` row that `sluice retry --failed` sent back after it may have reached
    /// the provider. The engine looks such a row up before anything is sent again: found and
    /// not failed, it is recorded as succeeded; failed or absent, it is sent again with the
    /// same key; undecidable, it needs attention.
    OperatorRetry,
    /// As [`ErrorClass::OperatorRetry`], for `sluice resolve --retry`: a lookup that cannot
    /// tell is taken on the operator's word that it did not happen.
    OperatorResolve,
    /// A class this build does not name: another control action's, or one written by another
    /// version of sluice. Never constructed for a name that has its own variant.
    Other(String),
}

impl ErrorClass {
    /// Every class this build names.
    pub const KNOWN: [ErrorClass; 13] = [
        Self::Retryable,
        Self::Rejected,
        Self::InDoubt,
        Self::Invalid,
        Self::Failed,
        Self::Await,
        Self::Items,
        Self::Template,
        Self::Assert,
        Self::Sleep,
        Self::NeedsAttention,
        Self::OperatorRetry,
        Self::OperatorResolve,
    ];

    /// The name stored in the database and shown to users (`in_doubt`).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Retryable => "retryable",
            Self::Rejected => "rejected",
            Self::InDoubt => "in_doubt",
            Self::Invalid => "invalid",
            Self::Failed => "failed",
            Self::Await => "await",
            Self::Items => "items",
            Self::Template => "template",
            Self::Assert => "assert",
            Self::Sleep => "sleep",
            Self::NeedsAttention => "needs_attention",
            Self::OperatorRetry => "operator_retry",
            Self::OperatorResolve => "operator_resolve",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorClass {
    /// Every name is a class (see the module documentation).
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::KNOWN
            .into_iter()
            .find(|class| class.as_str() == s)
            .unwrap_or_else(|| Self::Other(s.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_kept() {
        for class in ErrorClass::KNOWN {
            assert_eq!(class.as_str().parse(), Ok(class));
        }
        assert_eq!("quota".parse(), Ok(ErrorClass::Other("quota".to_owned())));
        assert_eq!(ErrorClass::InDoubt.to_string(), "in_doubt");
    }

    #[test]
    fn the_sql_marks_are_the_classes() {
        use crate::store::operator::{RESET_FAILED, RESOLVE_RETRY};
        let retry = format!("'{}'", ErrorClass::OperatorRetry);
        let resolve = format!("'{}'", ErrorClass::OperatorResolve);
        assert!(RESET_FAILED.contains(&retry));
        assert!(RESOLVE_RETRY.contains(&resolve));
        let clear = crate::store::operator::clear_redrive!();
        assert!(clear.contains(&retry) && clear.contains(&resolve));
    }
}
