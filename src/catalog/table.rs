//! One adapter's table: the actions it supports and how it checks amounts.

use super::kind::ProviderKind;
use super::offer::Offer;

/// Where a provider's amount precision comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// The static tables in `money` (ISO 4217 currencies, Stellar assets): literal amounts
    /// are checked before anything runs.
    Static,
    /// The provider reports its own precision per currency at run time, so the static
    /// table would be the wrong reference; amounts are checked by the adapter.
    Reported,
}

/// Everything one provider kind offers.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// The provider kind.
    pub kind: ProviderKind,
    /// Where its precision comes from.
    pub precision: Precision,
    /// Its actions, sorted by name.
    pub offers: &'static [Offer],
    /// The fields of its answers that carry personal or card data (README, *Sensitive
    /// data*): dotted paths matched at the end of a field's path, arrays crossed. They are
    /// redacted before an answer is kept; ids, states and amounts never are.
    pub redact: &'static [&'static str],
}

impl Table {
    /// The offer for `action`, if the provider supports it.
    pub fn offer(&self, action: &str) -> Option<&'static Offer> {
        self.offers.iter().find(|o| o.action.name == action)
    }

    /// The names of the actions it supports, sorted.
    pub fn action_names(&self) -> impl Iterator<Item = &'static str> {
        self.offers.iter().map(|o| o.action.name)
    }
}
