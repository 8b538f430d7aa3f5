//! `${VAR}` and `${VAR:-default}` in provider blocks, and the resolved provider settings.
//!
//! Interpolation happens only in `providers:` (README, *The workflow language*): templates never see the
//! environment. Resolution is separate from loading so that `validate` and `plan` work on a
//! machine that has no credentials.

use std::collections::BTreeMap;
use std::time::Duration;

use super::auth::{AuthConfig, HmacEncoding, HmacOver, HttpAuthConfig};
use super::model::{AuthMode, ProviderConfig};
use super::secret::Secret;
use crate::catalog::ProviderKind;

/// Why a `${…}` reference could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// The variable is unset and has no default.
    #[error("environment variable `{name}` is not set (used in `{field}`)")]
    Missing {
        /// The variable's name.
        name: String,
        /// The provider field that uses it.
        field: String,
    },
    /// `${` without a closing `}`, or an invalid variable name.
    #[error("malformed `${{…}}` reference in `{field}`: {reason}")]
    Malformed {
        /// The provider field.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

/// One piece of an interpolated string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Literal text.
    Text(&'a str),
    /// `${name}` or `${name:-default}`.
    Var {
        /// The variable's name.
        name: &'a str,
        /// The default after `:-`.
        default: Option<&'a str>,
    },
}

/// Splits `value` into literal text and variable references.
///
/// # Errors
/// [`EnvError::Malformed`] for an unclosed `${` or a name that is not `[A-Za-z_][A-Za-z0-9_]*`.
pub fn parse<'a>(value: &'a str, field: &str) -> Result<Vec<Piece<'a>>, EnvError> {
    let malformed = |reason: &str| EnvError::Malformed {
        field: field.to_string(),
        reason: reason.to_string(),
    };
    let mut pieces = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            pieces.push(Piece::Text(&rest[..start]));
        }
        let body_start = start + 2;
        let end = rest[body_start..]
            .find('}')
            .ok_or_else(|| malformed("`${` is never closed"))?;
        let body = &rest[body_start..body_start + end];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(malformed(&format!("`{name}` is not a variable name")));
        }
        pieces.push(Piece::Var { name, default });
        rest = &rest[body_start + end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// Resolves every `${…}` in `value` with `lookup`.
///
/// # Errors
/// As [`parse`], and [`EnvError::Missing`] for an unset variable with no default.
pub fn interpolate(
    value: &str,
    field: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, EnvError> {
    let mut out = String::with_capacity(value.len());
    for piece in parse(value, field)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var { name, default } => match (lookup(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(EnvError::Missing {
                        name: name.to_string(),
                        field: field.to_string(),
                    });
                }
            },
        }
    }
    Ok(out)
}

/// A provider block with every `${…}` resolved and every credential wrapped in [`Secret`].
#[derive(Debug, Clone)]
pub struct ResolvedProvider {
    /// The block's name in `providers:`.
    pub name: String,
    /// The adapter kind.
    pub kind: ProviderKind,
    /// The API base URL, without a trailing `/`.
    pub base_url: Option<String>,
    /// API key (Whalestack, WHITESTONES).
    pub api_key: Option<Secret>,
    /// API secret (Whalestack, WHITESTONES).
    pub api_secret: Option<Secret>,
    /// Secret key (White Payments).
    pub secret_key: Option<Secret>,
    /// Private API token (Whitepay).
    pub token: Option<Secret>,
    /// Webhook signing secret, when it differs from the API secret.
    pub webhook_secret: Option<Secret>,
    /// Header carrying the webhook signature.
    pub webhook_signature_header: Option<String>,
    /// Whalestack signing mode.
    pub auth: AuthMode,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Requests per second, if limited.
    pub rate_limit: Option<u32>,
    /// Requests in flight at once, if limited.
    pub max_in_flight: Option<u32>,
    /// Path overrides by operation name.
    pub paths: BTreeMap<String, String>,
    /// `kind: http`: the credentials, resolved.
    pub http_auth: Option<HttpAuth>,
    /// `kind: http`: headers sent with every request, as written.
    pub headers: BTreeMap<String, String>,
    /// `kind: http`: headers sent with every request whose value is read from the
    /// environment: credentials, masked and redacted like `auth`.
    pub secret_headers: BTreeMap<String, Secret>,
    /// `kind: http`: the header carrying the idempotency key.
    pub idempotency_header: Option<String>,
}

/// The credentials of an `http` provider block, resolved.
#[derive(Debug, Clone)]
pub enum HttpAuth {
    /// `Authorization: Bearer TOKEN`.
    Bearer(Secret),
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: Secret,
    },
    /// An HMAC-SHA256 signature header.
    Hmac {
        /// The shared secret.
        secret: Secret,
        /// The header carrying the signature.
        header: String,
        /// What is signed.
        over: HmacOver,
        /// How it is written.
        encoding: HmacEncoding,
    },
}

impl HttpAuth {
    /// The scheme's name as written in the block: `bearer`, `basic` or `hmac`.
    pub fn scheme(&self) -> &'static str {
        match self {
            HttpAuth::Bearer(_) => "bearer",
            HttpAuth::Basic { .. } => "basic",
            HttpAuth::Hmac { .. } => "hmac",
        }
    }

    /// The secrets to keep out of everything sluice shows or stores.
    pub fn secrets(&self) -> Vec<&Secret> {
        match self {
            HttpAuth::Bearer(token) => vec![token],
            HttpAuth::Basic { password, .. } => vec![password],
            HttpAuth::Hmac { secret, .. } => vec![secret],
        }
    }
}

/// The request timeout when a provider block sets none.
pub const DEFAULT_PROVIDER_TIMEOUT: Duration = Duration::from_secs(30);

/// Resolves a provider block against `lookup` (normally the process environment).
///
/// # Errors
/// The first unresolvable `${…}` reference.
pub fn resolve_provider(
    name: &str,
    config: &ProviderConfig,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedProvider, EnvError> {
    let field = |f: &str| format!("providers.{name}.{f}");
    let text = |v: &Option<String>, f: &str| -> Result<Option<String>, EnvError> {
        v.as_deref()
            .map(|v| interpolate(v, &field(f), lookup))
            .transpose()
    };
    let secret = |v: &Option<String>, f: &str| Ok::<_, EnvError>(text(v, f)?.map(Secret::new));
    Ok(ResolvedProvider {
        name: name.to_string(),
        kind: config.kind,
        base_url: text(&config.base_url, "base_url")?.map(|u| u.trim_end_matches('/').to_string()),
        api_key: secret(&config.api_key, "api_key")?,
        api_secret: secret(&config.api_secret, "api_secret")?,
        secret_key: secret(&config.secret_key, "secret_key")?,
        token: secret(&config.token, "token")?,
        webhook_secret: secret(&config.webhook_secret, "webhook_secret")?,
        webhook_signature_header: text(
            &config.webhook_signature_header,
            "webhook_signature_header",
        )?,
        auth: config
            .auth
            .as_ref()
            .and_then(AuthConfig::mode)
            .unwrap_or(AuthMode::Digest),
        timeout: config.timeout.map_or(DEFAULT_PROVIDER_TIMEOUT, |t| t.get()),
        rate_limit: config.rate_limit,
        max_in_flight: config.max_in_flight,
        paths: config
            .paths
            .iter()
            .map(|(k, v)| Ok((k.clone(), interpolate(v, &field("paths"), lookup)?)))
            .collect::<Result<_, EnvError>>()?,
        http_auth: match &config.auth {
            Some(AuthConfig::Http(auth)) => Some(resolve_http_auth(auth, &field, lookup)?),
            _ => None,
        },
        headers: config
            .headers
            .iter()
            .filter(|(_, v)| !v.contains("${"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        secret_headers: config
            .headers
            .iter()
            .filter(|(_, v)| v.contains("${"))
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    Secret::new(interpolate(v, &field("headers"), lookup)?),
                ))
            })
            .collect::<Result<_, EnvError>>()?,
        idempotency_header: text(&config.idempotency_header, "idempotency_header")?,
    })
}

fn resolve_http_auth(
    auth: &HttpAuthConfig,
    field: &dyn Fn(&str) -> String,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<HttpAuth, EnvError> {
    let value = |v: &str, f: &str| interpolate(v, &field(f), lookup);
    Ok(match auth {
        HttpAuthConfig::Bearer(token) => {
            HttpAuth::Bearer(Secret::new(value(token, "auth.bearer")?))
        }
        HttpAuthConfig::Basic { user, password } => HttpAuth::Basic {
            user: value(user, "auth.basic.user")?,
            password: Secret::new(value(password, "auth.basic.password")?),
        },
        HttpAuthConfig::Hmac(h) => HttpAuth::Hmac {
            secret: Secret::new(value(&h.secret, "auth.hmac.secret")?),
            header: value(&h.header, "auth.hmac.header")?,
            over: h.over,
            encoding: h.encoding,
        },
    })
}

/// Reads the process environment; the lookup `run` and `plan` pass to [`resolve_provider`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("k-1".into()),
            "SECRET" => Some("sentinel-secret-9d1c".into()),
            _ => None,
        }
    }

    #[test]
    fn interpolates_with_defaults_and_names_missing_variables() {
        assert_eq!(interpolate("a${KEY}b", "f", &env).unwrap(), "ak-1b");
        assert_eq!(
            interpolate("${NOPE:-http://x}", "f", &env).unwrap(),
            "http://x"
        );
        assert_eq!(interpolate("${KEY:-unused}", "f", &env).unwrap(), "k-1");
        assert_eq!(interpolate("plain", "f", &env).unwrap(), "plain");
        let err = interpolate("${NOPE}", "providers.ws.api_key", &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable `NOPE` is not set (used in `providers.ws.api_key`)"
        );
        assert!(matches!(
            interpolate("${KEY", "f", &env),
            Err(EnvError::Malformed { .. })
        ));
        assert!(matches!(
            interpolate("${1X}", "f", &env),
            Err(EnvError::Malformed { .. })
        ));
    }

    #[test]
    fn resolved_credentials_do_not_print() {
        let config = ProviderConfig {
            kind: ProviderKind::Whalestack,
            base_url: Some("http://127.0.0.1:8788/whalestack/api/v1/".into()),
            api_key: Some("${KEY}".into()),
            api_secret: Some("${SECRET}".into()),
            secret_key: None,
            token: None,
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
        };
        let p = resolve_provider("ws", &config, &env).unwrap();
        assert_eq!(
            p.base_url.as_deref(),
            Some("http://127.0.0.1:8788/whalestack/api/v1")
        );
        assert_eq!(
            p.api_secret.as_ref().unwrap().expose(),
            "sentinel-secret-9d1c"
        );
        assert!(!format!("{p:?}").contains("sentinel-secret-9d1c"));
        assert_eq!(p.auth, AuthMode::Digest);
    }
}
