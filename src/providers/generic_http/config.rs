//! An `http` block's settings: its credentials and the headers every request carries.

use crate::spec::Secret;
use crate::spec::env::{HttpAuth, ResolvedProvider};

/// What every request of the block carries besides the step's own fields.
#[derive(Debug, Clone)]
pub(super) struct Config {
    /// The credentials, if any.
    pub(super) auth: Option<HttpAuth>,
    /// Headers written in the block: shown as they are.
    pub(super) headers: Vec<(String, String)>,
    /// Headers read from the environment: credentials, masked and redacted.
    pub(super) secret_headers: Vec<(String, Secret)>,
    /// The header carrying each write's idempotency key.
    pub(super) idempotency_header: Option<String>,
    /// Whether the block has a `base_url` (a step without one must give `url`).
    pub(super) has_base_url: bool,
}

impl Config {
    /// Reads `resolved`.
    pub(super) fn new(resolved: &ResolvedProvider) -> Self {
        Config {
            auth: resolved.http_auth.clone(),
            headers: resolved
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            secret_headers: resolved
                .secret_headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            idempotency_header: resolved
                .idempotency_header
                .clone()
                .filter(|h| !h.trim().is_empty()),
            has_base_url: resolved.base_url.is_some(),
        }
    }

    /// Every secret, for the redactor.
    pub(super) fn secrets(&self) -> Vec<&Secret> {
        let auth = self.auth.iter().flat_map(HttpAuth::secrets);
        auth.chain(self.secret_headers.iter().map(|(_, s)| s))
            .collect()
    }

    /// The headers a preview shows as `***`: the credentials'.
    pub(super) fn masked_headers(&self) -> Vec<&str> {
        let auth = match &self.auth {
            Some(HttpAuth::Bearer(_) | HttpAuth::Basic { .. }) => Some("Authorization"),
            Some(HttpAuth::Hmac { header, .. }) => Some(header.as_str()),
            None => None,
        };
        auth.into_iter()
            .chain(self.secret_headers.iter().map(|(k, _)| k.as_str()))
            .collect()
    }
}
