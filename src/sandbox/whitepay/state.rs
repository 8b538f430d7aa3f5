//! Every Whitepay object the sandbox holds (balances live in the books).

use super::conversions::Conversion;
use crate::sandbox::table::Table;

/// Whitepay's objects.
#[derive(Debug, Default)]
pub struct State {
    /// Conversion transactions by id.
    pub conversions: Table<Conversion>,
}
