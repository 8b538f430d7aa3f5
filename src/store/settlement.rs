//! Settlements: the final state of a payment the provider accepted, learned after its step
//! succeeded (by polling the object, from a webhook). A succeeded payment item without a
//! settlement is *committed*; once its settlement is recorded it is *settled* or *failed
//! after commit*, and that never changes again.

use chrono::{DateTime, Utc};

use super::step::StepKey;

/// The final state of a committed payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Settlement {
    /// The provider completed it.
    Settled,
    /// The provider accepted it, then failed it: the money came back, the payee was not
    /// paid. An operator case.
    FailedAfterCommit,
}

impl Settlement {
    /// The name stored and shown (`failed_after_commit`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Settled => "settled",
            Self::FailedAfterCommit => "failed_after_commit",
        }
    }

    /// The settlement stored as `name`.
    pub fn from_stored(name: &str) -> Option<Self> {
        [Self::Settled, Self::FailedAfterCommit]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// A settlement to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSettlement {
    /// The payment item.
    pub key: StepKey,
    /// Its final state.
    pub settlement: Settlement,
    /// The provider's own state string (`COMPLETED`, `FAILED`).
    pub provider_state: Option<String>,
    /// How it was learned (`poll`, `webhook`).
    pub source: String,
}

/// A recorded settlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRecord {
    /// What was recorded.
    pub settlement: NewSettlement,
    /// When.
    pub at: DateTime<Utc>,
}

/// The notification event a payment failed after commit raises.
pub const FAILED_AFTER_COMMIT_EVENT: &str = "item_failed_after_commit";
