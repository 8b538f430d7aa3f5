//! WHITESTONES settings read from a provider block, with the documented (or chosen)
//! defaults.

use crate::providers::error::ProviderError;
use crate::providers::settings;
use crate::spec::Secret;
use crate::spec::env::ResolvedProvider;

/// The production API, as documented.
pub(super) const DEFAULT_BASE_URL: &str = "https://api.whitestones.com/v1";

/// The webhook signature header. The seed names no header or scheme; sluice expects
/// hex HMAC-SHA256(secret, raw body) here unless `webhook_signature_header` says otherwise.
pub(super) const WEBHOOK_HEADER: &str = "X-WS-Signature";

/// Operation → path. The seed documents the request and answer bodies but no paths;
/// these are sluice's choice and each is overridable in `paths`. The `*_search`
/// operations are read by `lookup` with `?idempotency_key=KEY`.
pub(super) const PATHS: &[(&str, &str)] = &[
    ("payment_intent", "/payment_intents/{id}"),
    ("payment_intents", "/payment_intents"),
    ("payment_intents_search", "/payment_intents"),
    ("payout", "/payouts/{id}"),
    ("payouts", "/payouts"),
    ("payouts_search", "/payouts"),
];

/// Credentials.
#[derive(Debug, Clone)]
pub(super) struct Config {
    /// `Authorization: Bearer KEY`.
    pub(super) key: Secret,
    /// `X-WS-Secret`; signs webhooks unless `webhook_secret` is set.
    pub(super) secret: Secret,
    /// Checks webhook signatures.
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
        })
    }
}
