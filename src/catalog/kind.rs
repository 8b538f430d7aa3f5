//! The provider kinds sluice has adapters for.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A payment provider sluice can talk to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Whalestack: checkouts, customers, beneficiaries, deposits, swaps, transfers.
    Whalestack,
    /// White Payments: charges, customers, refunds, tokens.
    White,
    /// WHITESTONES: payment intents (payins) and payouts.
    Whitestones,
    /// Whitepay: balances, exchange rates, conversion.
    Whitepay,
    /// Any HTTP API, one `http.request` at a time (README, *Any HTTP API*).
    Http,
}

impl ProviderKind {
    /// Every kind, in a stable order.
    pub const ALL: [ProviderKind; 5] = [
        ProviderKind::Whalestack,
        ProviderKind::White,
        ProviderKind::Whitestones,
        ProviderKind::Whitepay,
        ProviderKind::Http,
    ];

    /// The name used in workflow files and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Whalestack => "whalestack",
            ProviderKind::White => "white",
            ProviderKind::Whitestones => "whitestones",
            ProviderKind::Whitepay => "whitepay",
            ProviderKind::Http => "http",
        }
    }

    /// The credential fields of a provider block this kind needs.
    pub fn credential_fields(self) -> &'static [&'static str] {
        match self {
            ProviderKind::Whalestack | ProviderKind::Whitestones => &["api_key", "api_secret"],
            ProviderKind::White => &["secret_key"],
            ProviderKind::Whitepay => &["token"],
            // `auth` is optional: an API on a private network may need none.
            ProviderKind::Http => &[],
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
