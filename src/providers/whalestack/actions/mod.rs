//! One module per Whalestack action: how its neutral fields become the wire request, how
//! the answer becomes an output, and how a lost answer is looked up.

pub(super) mod balance;
pub(super) mod checkout;
pub(super) mod deposit_address;
pub(super) mod party;
pub(super) mod rate;
pub(super) mod swap;
pub(super) mod transfer;
pub(super) mod two_phase;
