//! The adapters as a plan sees them: [`Preview`], a view with one method, `preview`.
//!
//! Planning must not be able to send anything. The planner never holds a
//! [`Provider`](crate::providers::Provider): [`PlanAdapters::from_env`] builds each adapter
//! exactly as `run` does and at once wraps it in a private type that implements only
//! [`Preview`], so code that plans has no `execute`, `lookup` or `poll` to call:
//!
//! ```compile_fail,E0599
//! # use sluice::review::Preview;
//! # use sluice::providers::Call;
//! async fn sends(adapter: &dyn Preview, call: &Call<'_>) {
//!     adapter.execute(call).await; // no such method on a plan's adapter
//! }
//! ```
//!
//! ```
//! # use sluice::review::Preview;
//! # use sluice::providers::Call;
//! fn shows(adapter: &dyn Preview, call: &Call<'_>) {
//!     let _ = adapter.preview(call); // pure: builds the requests, sends nothing
//! }
//! ```
//!
//! A second wall: plans never read credentials. Every credential field is replaced by a
//! placeholder before the adapter is built (previews mask credentials anyway), so a plan
//! works on a machine without them, can never contain one, and an adapter that somehow
//! sent a request would be refused by the provider.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::hash;
use super::model::ProviderPlan;
use crate::catalog::ProviderKind;
use crate::providers::{
    Call, HttpClient, HttpClientError, Provider, ProviderError, WireRequest, build,
};
use crate::spec::ProviderConfig;
use crate::spec::WorkflowConfig;
use crate::spec::env::{EnvError, HttpAuth, ResolvedProvider, resolve_provider};
use crate::spec::secret::Secret;

/// What stands in for every credential when a plan builds its adapters.
const PLACEHOLDER_CREDENTIAL: &str = "plan-placeholder-credential";

/// The one thing a plan may ask of an adapter: the requests it would send.
pub trait Preview: Send + Sync {
    /// The adapter kind.
    fn kind(&self) -> ProviderKind;

    /// The exact requests `execute` would send for `call`, credentials masked; pure.
    ///
    /// # Errors
    /// [`ProviderError::Invalid`] for a request the adapter would refuse.
    fn preview(&self, call: &Call<'_>) -> Result<Vec<WireRequest>, ProviderError>;
}

/// An adapter behind the [`Preview`] view. The field is private and nothing hands it out.
struct PreviewOnly(Arc<dyn Provider>);

impl Preview for PreviewOnly {
    fn kind(&self) -> ProviderKind {
        self.0.kind()
    }

    fn preview(&self, call: &Call<'_>) -> Result<Vec<WireRequest>, ProviderError> {
        self.0.preview(call)
    }
}

/// Why the adapters for a plan could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// A `${VAR}` outside the credentials is unset.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The adapter refused its configuration (a bad path override).
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Http(#[from] HttpClientError),
}

/// Every provider block's preview view and its credential-free description.
#[derive(Default)]
pub struct PlanAdapters {
    previews: BTreeMap<String, Box<dyn Preview>>,
    plans: Vec<ProviderPlan>,
}

impl std::fmt::Debug for PlanAdapters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanAdapters")
            .field("providers", &self.plans)
            .finish()
    }
}

impl PlanAdapters {
    /// Builds the adapter of every provider block, reading URLs and settings through
    /// `lookup` (the process environment) and never reading a credential.
    ///
    /// # Errors
    /// An unset `${VAR}` outside the credentials, or a provider block the adapter refuses.
    pub fn from_env(
        config: &WorkflowConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, AdapterError> {
        let http = HttpClient::new()?;
        let mut adapters = PlanAdapters::default();
        for (name, block) in &config.providers {
            let resolved = resolve_without_credentials(name, block, lookup)?;
            let adapter = build(&resolved, &http)?;
            adapters.insert(name, describe(&resolved), Box::new(PreviewOnly(adapter)));
        }
        Ok(adapters)
    }

    /// Adds a block's view (tests plan against their own [`Preview`]).
    pub fn insert(&mut self, name: &str, plan: ProviderPlan, preview: Box<dyn Preview>) {
        self.previews.insert(name.to_string(), preview);
        self.plans.push(plan);
        self.plans.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// The view of the block named `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Preview> {
        self.previews.get(name).map(AsRef::as_ref)
    }

    /// The blocks, by name.
    pub fn plans(&self) -> &[ProviderPlan] {
        &self.plans
    }
}

/// Resolves everything but the credentials, which become placeholders.
fn resolve_without_credentials(
    name: &str,
    block: &ProviderConfig,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedProvider, EnvError> {
    let without = ProviderConfig {
        api_key: None,
        api_secret: None,
        secret_key: None,
        token: None,
        webhook_secret: None,
        auth: block.auth.clone().filter(|a| a.mode().is_some()),
        headers: (block.headers.iter())
            .filter(|(_, v)| !v.contains("${"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..block.clone()
    };
    let mut resolved = resolve_provider(name, &without, lookup)?;
    let placeholder = Some(Secret::new(PLACEHOLDER_CREDENTIAL));
    resolved.http_auth = block.auth.as_ref().and_then(placeholder_http_auth);
    resolved.secret_headers = (block.headers.iter())
        .filter(|(_, v)| v.contains("${"))
        .map(|(k, _)| (k.clone(), Secret::new(PLACEHOLDER_CREDENTIAL)))
        .collect();
    resolved.api_key.clone_from(&placeholder);
    resolved.api_secret.clone_from(&placeholder);
    resolved.secret_key.clone_from(&placeholder);
    resolved.token = placeholder;
    Ok(resolved)
}

/// An `http` block's credentials with every value a placeholder; the shape (which header,
/// what is signed) stays, so the plan shows the request as it will be signed.
fn placeholder_http_auth(auth: &crate::spec::AuthConfig) -> Option<HttpAuth> {
    use crate::spec::{AuthConfig, HttpAuthConfig};
    let secret = || Secret::new(PLACEHOLDER_CREDENTIAL);
    Some(match auth {
        AuthConfig::Mode(_) => return None,
        AuthConfig::Http(HttpAuthConfig::Bearer(_)) => HttpAuth::Bearer(secret()),
        AuthConfig::Http(HttpAuthConfig::Basic { .. }) => HttpAuth::Basic {
            user: PLACEHOLDER_CREDENTIAL.to_string(),
            password: secret(),
        },
        AuthConfig::Http(HttpAuthConfig::Hmac(h)) => HttpAuth::Hmac {
            secret: secret(),
            header: h.header.clone(),
            over: h.over,
            encoding: h.encoding,
        },
    })
}

/// What a plan shows of a block, and its fingerprint.
pub fn describe(resolved: &ResolvedProvider) -> ProviderPlan {
    let mut plan = ProviderPlan {
        name: resolved.name.clone(),
        kind: resolved.kind.to_string(),
        base_url: resolved
            .base_url
            .as_deref()
            .map_or_else(|| "(the provider's default)".to_string(), mask_userinfo),
        auth: match (resolved.kind, &resolved.http_auth) {
            (ProviderKind::Whalestack, _) => Some(
                match resolved.auth {
                    crate::spec::AuthMode::Digest => "digest",
                    crate::spec::AuthMode::Basic => "basic",
                }
                .to_string(),
            ),
            (ProviderKind::Http, Some(auth)) => Some(auth.scheme().to_string()),
            _ => None,
        },
        request_timeout: humantime::format_duration(resolved.timeout).to_string(),
        rate_limit: resolved.rate_limit,
        max_in_flight: resolved.max_in_flight,
        paths: resolved.paths.clone(),
        webhook_signature_header: resolved.webhook_signature_header.clone(),
        fingerprint: String::new(),
    };
    plan.fingerprint = hash::provider_fingerprint(&plan);
    plan
}

/// `https://user:pass@host/x` → `https://***@host/x`: a URL may carry a credential.
fn mask_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: ProviderKind) -> ProviderConfig {
        ProviderConfig {
            kind,
            base_url: Some("${BASE:-http://127.0.0.1:8788/x}".into()),
            api_key: Some("${KEY}".into()),
            api_secret: Some("${SECRET}".into()),
            secret_key: Some("${SECRET}".into()),
            token: Some("${SECRET}".into()),
            webhook_secret: None,
            webhook_signature_header: None,
            auth: None,
            timeout: None,
            rate_limit: None,
            max_in_flight: None,
            paths: BTreeMap::new(),
            redact: Vec::new(),
            preflight: None,
            headers: BTreeMap::new(),
            idempotency_header: None,
        }
    }

    #[test]
    fn credentials_are_never_read_and_urls_lose_their_userinfo() {
        let read = std::sync::Mutex::new(Vec::new());
        let lookup = |name: &str| {
            read.lock().unwrap().push(name.to_string());
            None
        };
        let resolved =
            resolve_without_credentials("ws", &block(ProviderKind::Whalestack), &lookup).unwrap();
        assert_eq!(*read.lock().unwrap(), ["BASE"]);
        assert_eq!(
            resolved.api_secret.as_ref().unwrap().expose(),
            PLACEHOLDER_CREDENTIAL
        );
        let plan = describe(&resolved);
        assert_eq!(plan.base_url, "http://127.0.0.1:8788/x");
        assert_eq!(plan.auth.as_deref(), Some("digest"));
        assert_eq!(plan.request_timeout, "30s");
        assert_eq!(plan.fingerprint.len(), 64);

        assert_eq!(
            mask_userinfo("https://u:p@api.example.com/v1"),
            "https://***@api.example.com/v1"
        );
        assert_eq!(
            mask_userinfo("https://api.example.com/v1?a=b@c"),
            "https://api.example.com/v1?a=b@c"
        );
    }

    #[test]
    fn every_kind_builds_a_preview_view_without_credentials() {
        let mut config: WorkflowConfig = serde_json::from_value(serde_json::json!({
            "version": 1, "name": "t", "steps": []
        }))
        .unwrap();
        for (name, kind) in [
            ("a", ProviderKind::Whalestack),
            ("b", ProviderKind::White),
            ("c", ProviderKind::Whitestones),
            ("d", ProviderKind::Whitepay),
        ] {
            config.providers.insert(name.into(), block(kind));
        }
        let adapters = PlanAdapters::from_env(&config, &|_| None).unwrap();
        assert_eq!(adapters.plans().len(), 4);
        assert_eq!(adapters.get("b").unwrap().kind(), ProviderKind::White);
        assert!(adapters.get("z").is_none());
    }
}
