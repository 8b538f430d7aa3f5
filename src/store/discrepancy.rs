//! Discrepancies: what `serve`'s scheduled reconciliation found wrong with a payment, kept as
//! an operator case. Each is recorded once while it is open, however many processes and
//! passes see it, and owes the `reconcile_mismatch` notification when it is first recorded;
//! a later pass that finds the payment matched clears it, and it stays as history. An
//! operator may dismiss an open one instead, with a reason (`sluice dismiss`): the case is
//! cleared, the decision is recorded like every other, and the same disagreement found again
//! does not open it again.

use chrono::{DateTime, Utc};

use super::step::StepKey;
use crate::ids::RunId;

/// The kinds of disagreement that are operator cases. A provider that could not be asked
/// is not one (the next pass asks again), nor is an adapter that cannot read a payment back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscrepancyKind {
    /// Sluice and the provider disagree on whether (or how far) it was paid.
    StateMismatch,
    /// The provider holds another amount than sluice recorded.
    AmountMismatch,
    /// The provider holds another asset or currency than sluice recorded.
    CurrencyMismatch,
    /// The provider does not know the object id sluice recorded.
    MissingAtProvider,
    /// The provider holds an object with the payment's marker that no record names.
    UnknownToSluice,
}

impl DiscrepancyKind {
    const ALL: [Self; 5] = [
        Self::StateMismatch,
        Self::AmountMismatch,
        Self::CurrencyMismatch,
        Self::MissingAtProvider,
        Self::UnknownToSluice,
    ];

    /// The name stored and shown, the reconciliation finding's (`amount_mismatch`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StateMismatch => "state_mismatch",
            Self::AmountMismatch => "amount_mismatch",
            Self::CurrencyMismatch => "currency_mismatch",
            Self::MissingAtProvider => "missing_at_provider",
            Self::UnknownToSluice => "unknown_to_sluice",
        }
    }

    /// The kind stored as `name`.
    pub fn from_stored(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A discrepancy to record. It is the same case as an open one with the same payment, kind
/// and provider object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDiscrepancy {
    /// The payment item.
    pub key: StepKey,
    /// What disagrees.
    pub kind: DiscrepancyKind,
    /// The provider's object id: the payment's, or the unknown object's.
    pub provider_ref: String,
    /// What each side says, in words (`sluice recorded 120.00, the provider holds 119.00`).
    pub detail: String,
}

/// A recorded discrepancy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscrepancyRecord {
    /// Its id, which an operator names to dismiss it; increases with recording order.
    pub id: i64,
    /// What was found.
    pub discrepancy: NewDiscrepancy,
    /// When it was first recorded.
    pub found_at: DateTime<Utc>,
    /// When a later pass found the payment matched, or an operator dismissed it; open until
    /// then.
    pub cleared_at: Option<DateTime<Utc>>,
    /// The operator action that dismissed it (its [`OperatorRecord`](super::OperatorRecord)
    /// id), if one did rather than a match.
    pub dismissed_by: Option<i64>,
}

/// An operator's dismissal of one open discrepancy: it has been looked into (the difference
/// is accepted, the unknown object was paid on purpose) and needs nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dismissal {
    /// The run the discrepancy is about.
    pub run_id: RunId,
    /// The discrepancy ([`DiscrepancyRecord::id`]).
    pub id: i64,
    /// Who dismisses it: `$USER`, `--as`, or the console's signed-in user.
    pub actor: String,
    /// Why, in their words; required.
    pub reason: String,
}

/// The notification event a newly recorded discrepancy raises.
pub const RECONCILE_MISMATCH_EVENT: &str = "reconcile_mismatch";
