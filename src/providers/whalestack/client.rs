//! Signed requests to Whalestack: Digest-Auth (default) or Basic-Auth, the server clock,
//! the asset catalog, and paging through lists.
//!
//! Digest-Auth signs `path + timestamp + METHOD + body` (path relative to `/api/v1`, no
//! query string, empty body for GET) with HMAC-SHA256 under the API secret, using
//! [`signing::whalestack_digest`]. The timestamp must be within 30 s of Whalestack's
//! clock, so, like the official PHP SDK, the client reads the public `GET /time` once and
//! signs with the local clock plus that offset for the life of the provider instance.

use std::ops::ControlFlow;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::assets::{AssetCatalog, Resolver};
use super::config::Config;
use crate::providers::error::ProviderError;
use crate::providers::http::Transport;
use crate::providers::paths::Paths;
use crate::providers::preview::WireRequest;
use crate::signing;
use crate::spec::AuthMode;

/// Items per page when a lookup pages through a list (the documented maximum).
const PAGE: usize = 250;

/// Pages a lookup reads at most before it gives up and says it cannot tell.
const MAX_PAGES: usize = 40;

/// What paging through a list found.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scan {
    /// The first item that matched.
    Found(Value),
    /// Every item was examined; none matched.
    Exhausted,
    /// Only the newest items were examined; none of them matched.
    Truncated {
        /// How many were examined.
        examined: usize,
    },
}

/// How paging through a list ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Walk {
    /// The visitor stopped it.
    Stopped,
    /// Every item was visited.
    Exhausted,
    /// The page limit was reached first.
    Truncated {
        /// How many items were visited.
        examined: usize,
    },
}

/// A Whalestack account.
#[derive(Debug)]
pub(super) struct Client {
    transport: Transport,
    config: Config,
    paths: Paths,
    offset: OnceCell<i64>,
    catalog: OnceCell<AssetCatalog>,
}

impl Client {
    /// A client sending through `transport`.
    pub(super) fn new(transport: Transport, config: Config, paths: Paths) -> Self {
        Client {
            transport,
            config,
            paths,
            offset: OnceCell::new(),
            catalog: OnceCell::new(),
        }
    }

    /// The transport (for classifying unreadable answers).
    pub(super) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The resolved paths.
    pub(super) fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The provider's settings.
    pub(super) fn config(&self) -> &Config {
        &self.config
    }

    /// The headers a preview shows masked.
    pub(super) fn auth_header_names(&self) -> &'static [&'static str] {
        match self.config.auth {
            AuthMode::Digest => &["X-Digest-Key", "X-Digest-Timestamp", "X-Digest-Signature"],
            AuthMode::Basic => &["X-Basic"],
        }
    }

    /// Whalestack's clock minus ours, in seconds, read once from `GET /time`. A server
    /// that refuses `GET /time` (4xx) leaves the local clock in charge, with a warning;
    /// a transport failure is returned (and the read retried on the next call).
    async fn offset(&self) -> Result<i64, ProviderError> {
        self.offset
            .get_or_try_init(|| async {
                let wire = WireRequest::new("GET", self.paths.get("time"));
                let answer = match self.transport.send(&wire, || Ok(HeaderMap::new())).await {
                    Ok(answer) => answer,
                    Err(ProviderError::Rejected {
                        status, message, ..
                    }) => {
                        tracing::warn!(
                            provider = self.transport.provider(), status, error = %message,
                            "Server time unavailable, signing with the local clock."
                        );
                        return Ok(0);
                    }
                    Err(e) => return Err(e),
                };
                let server = answer
                    .get("time")
                    .and_then(|t| t.to_string().trim_matches('"').parse::<i64>().ok())
                    .ok_or_else(|| {
                        self.transport
                            .unexpected("`GET /time` has no `time`", false)
                    })?;
                Ok(server - self.transport.clock().now().timestamp())
            })
            .await
            .copied()
    }

    /// The current time on Whalestack's clock (for quote expiry).
    ///
    /// # Errors
    /// When `GET /time` fails.
    pub(super) async fn now(&self) -> Result<DateTime<Utc>, ProviderError> {
        let offset = self.offset().await?;
        Ok(self.transport.clock().now() + TimeDelta::seconds(offset))
    }

    /// The authentication headers for `wire` signed at `timestamp`.
    fn auth_headers(&self, wire: &WireRequest, timestamp: i64) -> Result<HeaderMap, ProviderError> {
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| -> Result<(), ProviderError> {
            let mut v = HeaderValue::from_str(value).map_err(|_| ProviderError::Config {
                provider: self.transport.provider().to_string(),
                reason: "`api_key` is not visible ASCII".into(),
            })?;
            v.set_sensitive(true);
            headers.insert(HeaderName::from_static(name), v);
            Ok(())
        };
        let key = self.config.key.expose();
        let secret = self.config.secret.expose();
        match self.config.auth {
            AuthMode::Digest => {
                let ts = timestamp.to_string();
                let body = if wire.method == "GET" {
                    &[][..]
                } else {
                    wire.body.as_deref().unwrap_or_default().as_bytes()
                };
                let signature =
                    signing::whalestack_digest(secret, &wire.path, &ts, &wire.method, body);
                put("x-digest-key", key)?;
                put("x-digest-timestamp", &ts)?;
                put("x-digest-signature", &signature)?;
            }
            AuthMode::Basic => put("x-basic", &signing::whalestack_basic(key, secret))?,
        }
        Ok(headers)
    }

    /// Signs and sends `wire`; the answer's JSON.
    ///
    /// # Errors
    /// A classified [`ProviderError`].
    pub(super) async fn send(&self, wire: &WireRequest) -> Result<Value, ProviderError> {
        let offset = match self.config.auth {
            AuthMode::Digest => self.offset().await?,
            AuthMode::Basic => 0,
        };
        let clock = self.transport.clock();
        self.transport
            .send(wire, || {
                self.auth_headers(wire, clock.now().timestamp() + offset)
            })
            .await
    }

    /// The asset catalog, read once from `GET /assets`.
    async fn catalog(&self) -> Result<&AssetCatalog, ProviderError> {
        self.catalog
            .get_or_try_init(|| async {
                let answer = self
                    .send(&WireRequest::new("GET", self.paths.get("assets")))
                    .await?;
                AssetCatalog::from_answer(&answer).ok_or_else(|| {
                    self.transport
                        .unexpected("`GET /assets` has no `assets`", false)
                })
            })
            .await
    }

    /// A resolver for `values`: it reads the catalog only if one of them is a bare code.
    ///
    /// # Errors
    /// When `GET /assets` fails.
    pub(super) async fn resolver(&self, values: &[&str]) -> Result<Resolver<'_>, ProviderError> {
        if values.iter().any(|v| Resolver::needs_catalog(v)) {
            Ok(Resolver::with(self.catalog().await?))
        } else {
            Ok(Resolver::as_given())
        }
    }

    /// Pages through the list `op` (`{count, <key>: [...]}`), newest first, for the first
    /// item `matches` accepts.
    ///
    /// # Errors
    /// A classified [`ProviderError`] from any page.
    pub(super) async fn scan(
        &self,
        op: &str,
        key: &str,
        matches: impl Fn(&Value) -> bool,
    ) -> Result<Scan, ProviderError> {
        let mut found = None;
        let walked = self
            .walk(op, key, MAX_PAGES, |item| {
                if matches(item) {
                    found = Some(item.clone());
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .await?;
        Ok(match (found, walked) {
            (Some(item), _) => Scan::Found(item),
            (None, Walk::Truncated { examined }) => Scan::Truncated { examined },
            (None, Walk::Stopped | Walk::Exhausted) => Scan::Exhausted,
        })
    }

    /// Pages through the list `op` newest first, handing every item to `visit` until it
    /// breaks, the list ends, or `max_pages` pages were read.
    ///
    /// # Errors
    /// A classified [`ProviderError`] from any page.
    pub(super) async fn walk(
        &self,
        op: &str,
        key: &str,
        max_pages: usize,
        mut visit: impl FnMut(&Value) -> ControlFlow<()>,
    ) -> Result<Walk, ProviderError> {
        let mut examined = 0;
        for _ in 0..max_pages {
            let wire = WireRequest::new("GET", self.paths.get(op))
                .query("limit", PAGE.to_string())
                .query("offset", examined.to_string());
            let answer = self.send(&wire).await?;
            let items = answer.get(key).and_then(Value::as_array).ok_or_else(|| {
                self.transport
                    .unexpected(format!("the list has no `{key}`"), false)
            })?;
            if items.iter().any(|i| visit(i).is_break()) {
                return Ok(Walk::Stopped);
            }
            examined += items.len();
            let count = answer
                .get("count")
                .and_then(|c| c.to_string().trim_matches('"').parse::<usize>().ok())
                .unwrap_or(examined);
            if items.is_empty() || examined >= count {
                return Ok(Walk::Exhausted);
            }
        }
        Ok(Walk::Truncated { examined })
    }
}

/// A client for unit tests of request building (nothing is sent).
#[cfg(test)]
pub(super) fn test_client(overrides: &std::collections::BTreeMap<String, String>) -> Client {
    use crate::spec::Secret;

    let config = Config {
        key: Secret::new("key"),
        secret: Secret::new("secret"),
        auth: AuthMode::Digest,
        webhook_secret: Secret::new("secret"),
        webhook_header: super::config::WEBHOOK_HEADER.into(),
    };
    Client::new(
        crate::providers::http::test_transport("ws"),
        config,
        Paths::new("ws", super::config::PATHS, overrides).expect("paths"),
    )
}
