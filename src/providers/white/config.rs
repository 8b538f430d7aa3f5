//! White Payments settings read from a provider block, with the documented defaults.

use crate::providers::error::ProviderError;
use crate::providers::settings;
use crate::spec::Secret;
use crate::spec::env::ResolvedProvider;

/// The production API, as documented.
pub(super) const DEFAULT_BASE_URL: &str = "https://api.whitepayments.com";

/// Operation → path, as documented (capture is `POST /charges/{id}/capture`, as the HTTP
/// Request section says; the seed's curl line omits `/charges`). Overridable in `paths`.
pub(super) const PATHS: &[(&str, &str)] = &[
    ("charge", "/charges/{id}"),
    ("charge_capture", "/charges/{id}/capture"),
    ("charges", "/charges"),
    ("customer", "/customers/{id}"),
    ("customers", "/customers"),
    ("refunds", "/charges/{id}/refunds"),
];

/// Credentials.
#[derive(Debug, Clone)]
pub(super) struct Config {
    /// The secret key, sent as the Basic-auth user name with an empty password.
    pub(super) secret_key: Secret,
}

impl Config {
    /// Reads `resolved`.
    ///
    /// # Errors
    /// [`ProviderError::Config`] when `secret_key` is missing.
    pub(super) fn new(resolved: &ResolvedProvider) -> Result<Self, ProviderError> {
        Ok(Config {
            secret_key: settings::required(resolved, "secret_key", &resolved.secret_key)?,
        })
    }
}
