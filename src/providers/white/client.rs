//! Authenticated requests to White Payments: HTTP Basic with the secret key as the user
//! name and an empty password, as the docs' `curl -u secret_api_key:` sends it.

use base64::Engine;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::Value;

use super::config::Config;
use crate::providers::error::ProviderError;
use crate::providers::http::Transport;
use crate::providers::paths::Paths;
use crate::providers::preview::WireRequest;

/// A White Payments account.
#[derive(Debug)]
pub(super) struct Client {
    transport: Transport,
    config: Config,
    paths: Paths,
}

impl Client {
    /// A client sending through `transport`.
    pub(super) fn new(transport: Transport, config: Config, paths: Paths) -> Self {
        Client {
            transport,
            config,
            paths,
        }
    }

    /// The transport.
    pub(super) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The resolved paths.
    pub(super) fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The headers a preview shows masked.
    pub(super) const AUTH_HEADERS: &'static [&'static str] = &["Authorization"];

    /// `Authorization: Basic base64(secret_key + ":")`.
    pub(super) fn auth_headers(&self) -> Result<HeaderMap, ProviderError> {
        let credentials = format!("{}:", self.config.secret_key.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|_| {
            ProviderError::Config {
                provider: self.transport.provider().to_string(),
                reason: "`secret_key` cannot be sent in a header".into(),
            }
        })?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        Ok(headers)
    }

    /// Sends `wire` with the Basic-auth header.
    ///
    /// # Errors
    /// A classified [`ProviderError`].
    pub(super) async fn send(&self, wire: &WireRequest) -> Result<Value, ProviderError> {
        self.transport.send(wire, || self.auth_headers()).await
    }

    /// The items of a list answer: `{"<key>": [...]}` as documented, or a bare array.
    pub(super) fn items(&self, answer: &Value, key: &str) -> Result<Vec<Value>, ProviderError> {
        match answer.get(key).unwrap_or(answer) {
            Value::Array(items) => Ok(items.clone()),
            _ => Err(self.transport.unexpected(format!("no `{key}` list"), false)),
        }
    }
}

/// A client for unit tests of request building (nothing is sent).
#[cfg(test)]
pub(super) fn test_client(overrides: &std::collections::BTreeMap<String, String>) -> Client {
    Client::new(
        crate::providers::http::test_transport("wh"),
        Config {
            secret_key: crate::spec::Secret::new("sk_test"),
        },
        Paths::new("wh", super::config::PATHS, overrides).expect("paths"),
    )
}
