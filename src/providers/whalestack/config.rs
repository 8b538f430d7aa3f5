//! Whalestack settings read from a provider block, with the documented defaults.

use crate::providers::error::ProviderError;
use crate::providers::settings;
use crate::spec::env::ResolvedProvider;
use crate::spec::{AuthMode, Secret};

/// The production API, as documented.
pub(super) const DEFAULT_BASE_URL: &str = "https://www.whalestack.com/api/v1";

/// The webhook signature header, as documented.
pub(super) const WEBHOOK_HEADER: &str = "X-Webhook-Auth";

/// Operation → path (relative to `/api/v1`), as documented; any can be overridden in
/// `paths`. The seed's curl example posts deposits to `/deposit`, its heading says
/// `/deposit-address`; the heading wins (README, *Providers*).
pub(super) const PATHS: &[(&str, &str)] = &[
    ("assets", "/assets"),
    ("auth_test", "/auth-test"),
    ("beneficiaries", "/beneficiaries"),
    ("beneficiary", "/beneficiary"),
    ("checkout", "/checkout"),
    ("checkout_commit", "/checkout/commit"),
    ("checkout_hosted", "/checkout/hosted"),
    ("checkouts", "/checkouts"),
    ("customer", "/customer"),
    ("customers", "/customers"),
    ("deposit", "/deposit"),
    ("deposit_address", "/deposit-address"),
    ("exchange_rate", "/exchange-rate"),
    ("swap", "/swap"),
    ("swap_commit", "/swap/commit"),
    ("swaps", "/swaps"),
    ("time", "/time"),
    ("transfer", "/transfer"),
    ("transfer_commit", "/transfer/commit"),
    ("transfers", "/transfers"),
    ("wallet", "/wallet"),
    ("wallets", "/wallets"),
];

/// Credentials and signing settings.
#[derive(Debug, Clone)]
pub(super) struct Config {
    /// `X-Digest-Key`, and half of `X-Basic`.
    pub(super) key: Secret,
    /// Signs requests; checks webhooks unless `webhook_secret` is set.
    pub(super) secret: Secret,
    /// Digest (default) or Basic.
    pub(super) auth: AuthMode,
    /// Checks `X-Webhook-Auth`.
    pub(super) webhook_secret: Secret,
    /// The webhook signature header.
    pub(super) webhook_header: String,
}

impl Config {
    /// Reads `resolved`.
    ///
    /// # Errors
    /// [`ProviderError::Config`] when `api_key` or `api_secret` is missing.
    pub(super) fn new(resolved: &ResolvedProvider) -> Result<Self, ProviderError> {
        let key = settings::required(resolved, "api_key", &resolved.api_key)?;
        let secret = settings::required(resolved, "api_secret", &resolved.api_secret)?;
        Ok(Config {
            webhook_secret: resolved
                .webhook_secret
                .clone()
                .unwrap_or_else(|| secret.clone()),
            webhook_header: settings::webhook_header(resolved, WEBHOOK_HEADER),
            key,
            secret,
            auth: resolved.auth,
        })
    }
}
