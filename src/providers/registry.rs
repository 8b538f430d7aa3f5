//! Builds the adapter for a provider block: one explicit `match` on the kind.

use std::sync::Arc;

use super::clock::{Clock, SystemClock};
use super::error::ProviderError;
use super::http::HttpClient;
use super::traits::Provider;
use super::{generic_http, whalestack, white, whitepay, whitestones};
use crate::catalog::ProviderKind;
use crate::sensitive::FieldPaths;
use crate::spec::env::ResolvedProvider;

/// The fields of a `kind` block's answers and webhook events kept redacted: its adapter's
/// list in the catalog, then the block's `own` (`redact:`).
pub fn answer_redactions(kind: ProviderKind, own: &[String]) -> FieldPaths {
    let adapter = crate::catalog::table(kind).redact.iter().copied();
    FieldPaths::new(adapter.chain(own.iter().map(String::as_str)))
}

/// The adapter for `resolved`, sharing `http`'s connection pool, on the system clock.
///
/// # Errors
/// [`ProviderError::Config`] for a missing credential or a bad path override.
pub fn build(
    resolved: &ResolvedProvider,
    http: &HttpClient,
) -> Result<Arc<dyn Provider>, ProviderError> {
    build_with_clock(resolved, http, Arc::new(SystemClock))
}

/// As [`build`], reading wall-clock time from `clock` (tests fix it).
///
/// # Errors
/// As [`build`].
pub fn build_with_clock(
    resolved: &ResolvedProvider,
    http: &HttpClient,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn Provider>, ProviderError> {
    Ok(match resolved.kind {
        ProviderKind::Whalestack => Arc::new(whalestack::Whalestack::new(resolved, http, clock)?),
        ProviderKind::White => Arc::new(white::White::new(resolved, http, clock)?),
        ProviderKind::Whitestones => {
            Arc::new(whitestones::Whitestones::new(resolved, http, clock)?)
        }
        ProviderKind::Whitepay => Arc::new(whitepay::Whitepay::new(resolved, http, clock)?),
        ProviderKind::Http => Arc::new(generic_http::HttpApi::new(resolved, http, clock)),
    })
}
