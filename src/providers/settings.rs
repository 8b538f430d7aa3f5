//! What every adapter reads from a resolved provider block: the base URL (or the provider's
//! documented default), required credentials, and the transport settings.

use std::sync::Arc;

use super::clock::Clock;
use super::error::ProviderError;
use super::http::{ErrorReader, TransportConfig};
use super::ratelimit::Limiter;
use super::redact::Redactor;
use crate::spec::Secret;
use crate::spec::env::ResolvedProvider;

/// The credential `field` of `resolved`, refusing an absent or empty one.
///
/// # Errors
/// [`ProviderError::Config`] naming the field.
pub(crate) fn required(
    resolved: &ResolvedProvider,
    field: &str,
    value: &Option<Secret>,
) -> Result<Secret, ProviderError> {
    value
        .clone()
        .filter(|s| !s.expose().is_empty())
        .ok_or_else(|| ProviderError::Config {
            provider: resolved.name.clone(),
            reason: format!("`{field}` is required for kind `{}`", resolved.kind),
        })
}

/// The transport settings of `resolved`: its base URL or `default_base_url`, its timeout and
/// limits, and a redactor for `secrets`.
pub(crate) fn transport_config<'a>(
    resolved: &ResolvedProvider,
    default_base_url: &str,
    read_error: ErrorReader,
    secrets: impl IntoIterator<Item = &'a Secret>,
    clock: Arc<dyn Clock>,
) -> TransportConfig {
    TransportConfig {
        provider: resolved.name.clone(),
        base_url: resolved
            .base_url
            .clone()
            .unwrap_or_else(|| default_base_url.to_string())
            .trim_end_matches('/')
            .to_string(),
        timeout: resolved.timeout,
        limiter: Limiter::new(resolved.rate_limit, resolved.max_in_flight),
        redactor: Redactor::new(secrets),
        read_error,
        clock,
    }
}

/// The header carrying webhook signatures: the block's override or the provider's default.
pub(crate) fn webhook_header(resolved: &ResolvedProvider, default: &str) -> String {
    resolved
        .webhook_signature_header
        .clone()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}
