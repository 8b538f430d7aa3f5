//! Every White Payments object the sandbox holds.

use super::cards::Token;
use super::charges::Charge;
use super::customers::Customer;
use super::refunds::Refund;
use crate::sandbox::table::Table;

/// White Payments' objects.
#[derive(Debug, Default)]
pub struct State {
    /// Charges by id.
    pub charges: Table<Charge>,
    /// Customers by id.
    pub customers: Table<Customer>,
    /// Refunds by id.
    pub refunds: Table<Refund>,
    /// Tokens by id.
    pub tokens: Table<Token>,
}
