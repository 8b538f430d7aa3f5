//! Every Whalestack object the sandbox holds.

use std::collections::HashMap;

use super::accounts::TargetAccount;
use super::checkouts::Checkout;
use super::customers::Parties;
use super::deposits::Deposit;
use super::swaps::Swap;
use super::transfers::Transfer;
use crate::sandbox::table::Table;

/// Whalestack's objects.
#[derive(Debug, Default)]
pub struct State {
    /// Customers, upserted by email.
    pub customers: Parties,
    /// Beneficiaries, upserted by email.
    pub beneficiaries: Parties,
    /// Target accounts by label.
    pub target_accounts: Table<TargetAccount>,
    /// Checkouts by id.
    pub checkouts: Table<Checkout>,
    /// Swaps by id.
    pub swaps: Table<Swap>,
    /// Transfers by id.
    pub transfers: Table<Transfer>,
    /// Deposits by id.
    pub deposits: Table<Deposit>,
    /// Webhook URLs given with `POST /deposit-address`, by network and asset.
    pub deposit_webhooks: HashMap<(String, String), String>,
}
