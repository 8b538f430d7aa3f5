//! Discrepancies: what `serve`'s scheduled reconciliation found wrong with a payment, kept as
//! an operator case. Each is recorded once while it is open, however many processes and
//! passes see it, and owes the `reconcile_mismatch` notification when it is first recorded;
//! a later pass that finds the payment matched clears it, and it stays as history.

use chrono::{DateTime, Utc};

use super::step::StepKey;

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
    /// What was found.
    pub discrepancy: NewDiscrepancy,
    /// When it was first recorded.
    pub found_at: DateTime<Utc>,
    /// When a later pass found the payment matched; open until then.
    pub cleared_at: Option<DateTime<Utc>>,
}

/// The notification event a newly recorded discrepancy raises.
pub const RECONCILE_MISMATCH_EVENT: &str = "reconcile_mismatch";
