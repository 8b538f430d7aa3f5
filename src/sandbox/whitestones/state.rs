//! Every WHITESTONES object the sandbox holds.

use super::idempotency::Keys;
use super::intents::Intent;
use super::payouts::Payout;
use crate::sandbox::table::Table;

/// WHITESTONES' objects.
#[derive(Debug, Default)]
pub struct State {
    /// Payment intents by id.
    pub intents: Table<Intent>,
    /// Payouts by id.
    pub payouts: Table<Payout>,
    /// Idempotency keys seen.
    pub keys: Keys,
}
