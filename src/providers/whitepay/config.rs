//! Whitepay settings read from a provider block, with the documented (or chosen) defaults.

use crate::providers::error::ProviderError;
use crate::providers::settings;
use crate::spec::Secret;
use crate::spec::env::ResolvedProvider;

/// The production API (the seed gives paths only; this is Whitepay's public API host).
pub(super) const DEFAULT_BASE_URL: &str = "https://api.whitepay.com";

/// The webhook signature header of Whitepay's public docs.
pub(super) const WEBHOOK_HEADER: &str = "Signature";

/// Operation → path. Balances and conversion as documented; the transaction read-back is
/// sluice's choice (the seed only says transactions exist). Each is overridable in `paths`.
pub(super) const PATHS: &[(&str, &str)] = &[
    ("balance", "/private-api/balances/{id}"),
    ("balances", "/private-api/balances"),
    ("transaction", "/private-api/transactions/{id}"),
];

/// Credentials.
#[derive(Debug, Clone)]
pub(super) struct Config {
    /// The private API token: `Authorization: Bearer TOKEN`.
    pub(super) token: Secret,
    /// Signs webhooks (the token unless `webhook_secret` is set).
    pub(super) webhook_secret: Secret,
    /// The webhook signature header.
    pub(super) webhook_header: String,
}

impl Config {
    /// Reads `resolved`.
    ///
    /// # Errors
    /// [`ProviderError::Config`] when `token` is missing.
    pub(super) fn new(resolved: &ResolvedProvider) -> Result<Self, ProviderError> {
        let token = settings::required(resolved, "token", &resolved.token)?;
        Ok(Config {
            webhook_secret: resolved
                .webhook_secret
                .clone()
                .unwrap_or_else(|| token.clone()),
            webhook_header: settings::webhook_header(resolved, WEBHOOK_HEADER),
            token,
        })
    }
}
