//! Authenticated requests to WHITESTONES: `Authorization: Bearer KEY` and
//! `X-WS-Secret: SECRET` on every request, as documented.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::config::Config;
use crate::providers::error::ProviderError;
use crate::providers::http::Transport;
use crate::providers::paths::Paths;
use crate::providers::preview::WireRequest;

/// A WHITESTONES account.
#[derive(Debug)]
pub(super) struct Client {
    transport: Transport,
    config: Config,
    paths: Paths,
}

impl Client {
    /// The headers a preview shows masked.
    pub(super) const AUTH_HEADERS: &'static [&'static str] = &["Authorization", "X-WS-Secret"];

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

    /// The provider's settings.
    pub(super) fn config(&self) -> &Config {
        &self.config
    }

    fn auth_headers(&self) -> Result<HeaderMap, ProviderError> {
        let bad = |field: &str| ProviderError::Config {
            provider: self.transport.provider().to_string(),
            reason: format!("`{field}` cannot be sent in a header"),
        };
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", self.config.key.expose()))
            .map_err(|_| bad("api_key"))?;
        bearer.set_sensitive(true);
        let mut secret =
            HeaderValue::from_str(self.config.secret.expose()).map_err(|_| bad("api_secret"))?;
        secret.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, bearer);
        headers.insert(HeaderName::from_static("x-ws-secret"), secret);
        Ok(headers)
    }

    /// Sends `wire` with the credentials.
    ///
    /// # Errors
    /// A classified [`ProviderError`].
    pub(super) async fn send(&self, wire: &WireRequest) -> Result<Value, ProviderError> {
        self.transport.send(wire, || self.auth_headers()).await
    }
}

/// What a search by idempotency key found.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Search {
    /// The object carrying the key.
    Found(Value),
    /// The answer listed everything there is, and nothing carries the key.
    Absent,
    /// The search could not be done, or was incomplete.
    Unknown(String),
}

impl Client {
    /// `GET <op>?idempotency_key=KEY`, then the object whose `metadata.idempotency_key` is
    /// `key`. The answer may be a list (`{"data": [...], "has_more"}` or a bare array) or a
    /// single object; whatever it is, only an exact key match counts, so an API that
    /// ignores the parameter and lists everything still gives a correct answer. A refused
    /// search (4xx) or an incomplete list is `Unknown`, never `Absent`.
    ///
    /// # Errors
    /// A retryable or in-doubt [`ProviderError`] from the transport.
    pub(super) async fn search(&self, op: &str, key: &str) -> Result<Search, ProviderError> {
        let wire = WireRequest::new("GET", self.paths.get(op)).query("idempotency_key", key);
        let check = format!(
            "check the WHITESTONES dashboard for an object with metadata.idempotency_key `{key}`"
        );
        let answer = match self.send(&wire).await {
            Ok(answer) => answer,
            Err(ProviderError::Rejected {
                status, message, ..
            }) => {
                let status = status.map_or_else(String::new, |s| format!("HTTP {s}: "));
                return Ok(Search::Unknown(format!(
                    "WHITESTONES refused the search by key ({status}{message}); {check}"
                )));
            }
            Err(e) => return Err(e),
        };
        let (items, more) = match &answer {
            Value::Array(items) => (items.clone(), false),
            Value::Object(m) if m.get("data").is_some_and(Value::is_array) => (
                m["data"].as_array().cloned().unwrap_or_default(),
                m.get("has_more").and_then(Value::as_bool).unwrap_or(false),
            ),
            Value::Object(m) if m.contains_key("id") => (vec![answer.clone()], false),
            _ => {
                return Ok(Search::Unknown(format!(
                    "the search answer has no list; {check}"
                )));
            }
        };
        let found = items.into_iter().find(|i| {
            i.pointer("/metadata/idempotency_key")
                .and_then(Value::as_str)
                == Some(key)
        });
        Ok(match (found, more) {
            (Some(item), _) => Search::Found(item),
            (None, false) => Search::Absent,
            (None, true) => {
                Search::Unknown(format!("the search answer is only a first page; {check}"))
            }
        })
    }
}

/// A client for unit tests of request building (nothing is sent).
#[cfg(test)]
pub(super) fn test_client() -> Client {
    use crate::spec::Secret;

    Client::new(
        crate::providers::http::test_transport("wst"),
        Config {
            key: Secret::new("ws_key"),
            secret: Secret::new("ws_secret"),
            webhook_secret: Secret::new("ws_secret"),
            webhook_header: super::config::WEBHOOK_HEADER.into(),
        },
        Paths::new("wst", super::config::PATHS, &Default::default()).expect("paths"),
    )
}
