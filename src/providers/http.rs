//! The one HTTP client every adapter shares, and the send path that classifies failures.
//!
//! [`HttpClient`] is a pooled reqwest client (rustls, `TCP_NODELAY`, `User-Agent:
//! sluice/<version>`, no redirects). [`Transport`] is one provider's view of it: base URL,
//! timeout, limiter, redactor, and how to read the provider's error bodies. It sends a
//! [`WireRequest`] exactly as built and turns every failure into a classified
//! [`ProviderError`]:
//!
//! | what happened                                   | read (GET)  | write       |
//! |-------------------------------------------------|-------------|-------------|
//! | could not connect (request never sent)          | retryable   | retryable   |
//! | timeout / reset after sending                   | retryable   | in_doubt    |
//! | 429                                             | retryable   | retryable   |
//! | 5xx                                             | retryable   | in_doubt    |
//! | other 4xx (provider's message kept)             | rejected    | rejected    |
//! | 2xx with an unreadable body                     | retryable   | in_doubt    |
//! | 1xx/3xx (no redirects are followed)             | rejected    | in_doubt    |

use super::folded::Folded;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::clock::Clock;
use super::error::{BoxError, ProviderError};
use super::preview::WireRequest;
use super::ratelimit::Limiter;
use super::redact::Redactor;

/// The `User-Agent` every request carries.
pub const USER_AGENT: &str = concat!("sluice/", env!("CARGO_PKG_VERSION"));

/// How long a connection attempt may take before the request counts as not sent.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the whole provider pauses after a 429 that names no `Retry-After`.
const DEFAULT_429_PAUSE: Duration = Duration::from_secs(1);

/// The shared HTTP client: one connection pool for all providers of a process.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
}

/// The HTTP client could not be built (no TLS backend, for instance).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client")]
pub struct HttpClientError(#[source] reqwest::Error);

impl HttpClient {
    /// A client with rustls, connection pooling, `TCP_NODELAY` and sluice's `User-Agent`.
    /// Redirects are not followed: a redirected write could be sent twice, and a provider
    /// API that redirects means a wrong `base_url`.
    ///
    /// # Errors
    /// [`HttpClientError`] when reqwest cannot build the client.
    pub fn new() -> Result<Self, HttpClientError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(USER_AGENT)
            .tcp_nodelay(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(HttpClientError)?;
        Ok(HttpClient { client })
    }
}

/// A provider's error code and message, read from an error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProviderMessage {
    /// The provider's code (`card_declined`), if it gives one.
    pub(crate) code: Option<String>,
    /// The provider's message, verbatim.
    pub(crate) message: String,
}

/// Reads a provider's error body; `None` when the body has not the provider's shape.
pub(crate) type ErrorReader = fn(&Value) -> Option<ProviderMessage>;

/// Reads the error shapes common to JSON APIs: `{"error": {"code", "message"}}`,
/// `{"error": "…"}`, `{"message": "…", "code": …}`, `{"errors": ["…"]}`.
pub(crate) fn read_common_error(body: &Value) -> Option<ProviderMessage> {
    let text = |v: Option<&Value>| match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let Some(err) = body.get("error") {
        if let Some(message) = text(err.get("message")) {
            return Some(ProviderMessage {
                code: text(err.get("code")).or_else(|| text(err.get("type"))),
                message,
            });
        }
        if let Some(message) = text(Some(err)) {
            return Some(ProviderMessage {
                code: text(body.get("code")),
                message: text(body.get("message")).unwrap_or(message),
            });
        }
    }
    if let Some(message) = text(body.get("message")) {
        return Some(ProviderMessage {
            code: text(body.get("code")),
            message,
        });
    }
    let errors: Vec<String> = body
        .get("errors")?
        .as_array()?
        .iter()
        .filter_map(|e| text(Some(e)).or_else(|| text(e.get("message"))))
        .collect();
    (!errors.is_empty()).then(|| ProviderMessage {
        code: None,
        message: errors.join("; "),
    })
}

/// A successful answer of [`Transport::send_any`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    /// The HTTP status (2xx).
    pub(crate) status: u16,
    /// The body: its JSON, its text when it is not JSON, `null` when empty.
    pub(crate) body: Value,
}

/// One provider's way of talking HTTP.
#[derive(Debug)]
pub(crate) struct Transport {
    provider: String,
    http: HttpClient,
    base_url: String,
    timeout: Duration,
    limiter: Limiter,
    redactor: Redactor,
    read_error: ErrorReader,
    clock: Arc<dyn Clock>,
    /// Failed calls of one kind within seconds of each other are logged once, then counted.
    folded: Folded,
}

/// Everything a [`Transport`] needs besides the shared client.
#[derive(Debug)]
pub(crate) struct TransportConfig {
    /// The provider block's name.
    pub(crate) provider: String,
    /// The API base URL, without a trailing `/`.
    pub(crate) base_url: String,
    /// The per-request timeout.
    pub(crate) timeout: Duration,
    /// The provider's request budget.
    pub(crate) limiter: Limiter,
    /// Removes the provider's credentials from anything kept.
    pub(crate) redactor: Redactor,
    /// Reads the provider's error bodies.
    pub(crate) read_error: ErrorReader,
    /// Wall-clock time, for HTTP-date `Retry-After` values.
    pub(crate) clock: Arc<dyn Clock>,
}

impl Transport {
    /// A transport over the shared `http` client.
    pub(crate) fn new(http: &HttpClient, config: TransportConfig) -> Self {
        Transport {
            provider: config.provider,
            http: http.clone(),
            base_url: config.base_url,
            timeout: config.timeout,
            limiter: config.limiter,
            redactor: config.redactor,
            read_error: config.read_error,
            clock: config.clock,
            folded: Folded::default(),
        }
    }

    /// The provider block's name.
    pub(crate) fn provider(&self) -> &str {
        &self.provider
    }

    /// The wall clock.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// A successful answer the adapter cannot read: in doubt for a write (it was applied,
    /// but what it created is unknown), retryable for a read.
    pub(crate) fn unexpected(&self, detail: impl std::fmt::Display, write: bool) -> ProviderError {
        self.unclear(
            format!("answered in an unexpected shape ({detail})"),
            None,
            None,
            write,
        )
    }

    fn config_error(&self, reason: String) -> ProviderError {
        ProviderError::Config {
            provider: self.provider.clone(),
            reason,
        }
    }

    /// The URL `wire` is sent to: the base URL and its path, or its absolute URL, with its
    /// query.
    ///
    /// # Errors
    /// [`ProviderError::Config`] when that is not a URL.
    pub(crate) fn url(&self, wire: &WireRequest) -> Result<Url, ProviderError> {
        // An absolute URL (`http.request`'s `url`) is sent as written.
        let text = if wire.path.starts_with("http://") || wire.path.starts_with("https://") {
            wire.path.clone()
        } else {
            format!("{}{}", self.base_url, wire.path)
        };
        let mut url = Url::parse(&text)
            .map_err(|e| self.config_error(format!("`{text}` is not a URL: {e}")))?;
        if !wire.query.is_empty() {
            url.query_pairs_mut().extend_pairs(wire.query.iter());
        }
        Ok(url)
    }

    fn headers(&self, wire: &WireRequest, auth: HeaderMap) -> Result<HeaderMap, ProviderError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &wire.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| self.config_error(format!("`{name}` is not a header name")))?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                self.config_error(format!("the `{name}` header value is not visible ASCII"))
            })?;
            headers.append(name, value);
        }
        headers.extend(auth);
        Ok(headers)
    }

    /// Sends `wire` with the headers `auth` returns and gives the answer's JSON (`null` for
    /// an empty body), credentials redacted. `auth` runs after the rate limiter let the
    /// request go, so a signed timestamp is fresh however long the wait was.
    ///
    /// # Errors
    /// A [`ProviderError`] classified as in the module table.
    pub(crate) async fn send(
        &self,
        wire: &WireRequest,
        auth: impl FnOnce() -> Result<HeaderMap, ProviderError>,
    ) -> Result<Value, ProviderError> {
        self.send_decoded(wire, auth, |t, bytes, status, write| {
            t.decode(bytes, status, write)
        })
        .await
    }

    /// As [`send`](Self::send), for an API whose answers need not be JSON: the answer's
    /// status, and its body as JSON when it is JSON, else as text (redacted either way).
    ///
    /// # Errors
    /// As [`send`](Self::send), except that a body that is not JSON is no error.
    pub(crate) async fn send_any(
        &self,
        wire: &WireRequest,
        auth: impl FnOnce() -> Result<HeaderMap, ProviderError>,
    ) -> Result<Answer, ProviderError> {
        self.send_decoded(wire, auth, |t, bytes, status, _| {
            let body = match serde_json::from_slice::<Value>(bytes) {
                _ if bytes.iter().all(u8::is_ascii_whitespace) => Value::Null,
                Ok(v) => t.redactor.value(v),
                Err(_) => Value::String(t.redactor.text(&String::from_utf8_lossy(bytes))),
            };
            Ok(Answer {
                status: status.as_u16(),
                body,
            })
        })
        .await
    }

    async fn send_decoded<T>(
        &self,
        wire: &WireRequest,
        auth: impl FnOnce() -> Result<HeaderMap, ProviderError>,
        decode: impl FnOnce(&Self, &[u8], StatusCode, bool) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let write = wire.is_write();
        let method = Method::from_bytes(wire.method.as_bytes())
            .map_err(|_| self.config_error(format!("`{}` is not an HTTP method", wire.method)))?;
        let url = self.url(wire)?;

        let _permit = self.limiter.acquire().await;
        let headers = self.headers(wire, auth()?)?;
        let mut request = self
            .http
            .client
            .request(method, url)
            .timeout(self.timeout)
            .headers(headers);
        if let Some(body) = &wire.body {
            request = request.body(body.clone().into_bytes());
        }
        let started = Instant::now();
        let result = self
            .exchange(request, write)
            .await
            .and_then(|(status, bytes)| decode(self, &bytes, status, write));
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(_) => tracing::debug!(
                provider = %self.provider, method = %wire.method, path = %wire.path,
                elapsed_ms, "Provider answered."
            ),
            Err(error) => {
                let kind = match error.status() {
                    Some(status) => format!("HTTP {status} from `{}`", self.provider),
                    None => format!(
                        "{} failures from `{}`",
                        error.class().as_str(),
                        self.provider
                    ),
                };
                if self.folded.first(&kind) {
                    tracing::warn!(
                        provider = %self.provider, method = %wire.method, path = %wire.path,
                        elapsed_ms, class = error.class().as_str(), error = %error,
                        "Provider call failed."
                    );
                }
            }
        }
        result
    }

    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        write: bool,
    ) -> Result<(StatusCode, bytes::Bytes), ProviderError> {
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(e, write))?;
        let status = response.status();
        let after = retry_after(response.headers(), self.clock.now());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e, write))?;
        if status.is_success() {
            return Ok((status, bytes));
        }
        Err(self.status_error(status, after, &bytes, write))
    }

    fn decode(
        &self,
        bytes: &[u8],
        status: StatusCode,
        write: bool,
    ) -> Result<Value, ProviderError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => Ok(self.redactor.value(v)),
            Err(e) => {
                let reason = format!(
                    "answered HTTP {} with a body that is not JSON",
                    status.as_u16()
                );
                Err(self.unclear(reason, Some(status), Some(Box::new(e)), write))
            }
        }
    }

    /// An answer that does not tell whether a write was applied.
    fn unclear(
        &self,
        reason: String,
        status: Option<StatusCode>,
        source: Option<BoxError>,
        write: bool,
    ) -> ProviderError {
        let status = status.map(|s| s.as_u16());
        if write {
            ProviderError::InDoubt {
                provider: self.provider.clone(),
                reason,
                status,
                source,
            }
        } else {
            ProviderError::Retryable {
                provider: self.provider.clone(),
                reason,
                status,
                after: None,
                source,
            }
        }
    }

    fn transport_error(&self, e: reqwest::Error, write: bool) -> ProviderError {
        if e.is_connect() {
            return ProviderError::Retryable {
                provider: self.provider.clone(),
                reason: "could not be reached (the request was not sent)".into(),
                status: None,
                after: None,
                source: Some(Box::new(e)),
            };
        }
        let reason = if e.is_timeout() {
            format!("did not answer within {:?}", self.timeout)
        } else {
            "dropped the connection after the request was sent".to_string()
        };
        self.unclear(reason, e.status(), Some(Box::new(e)), write)
    }

    fn status_error(
        &self,
        status: StatusCode,
        after: Option<Duration>,
        body: &[u8],
        write: bool,
    ) -> ProviderError {
        let code = status.as_u16();
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.limiter.pause_for(after.unwrap_or(DEFAULT_429_PAUSE));
            return ProviderError::Retryable {
                provider: self.provider.clone(),
                reason: "is rate limiting (HTTP 429)".into(),
                status: Some(code),
                after,
                source: None,
            };
        }
        let message = self.message(body);
        if status.is_server_error() {
            let reason = format!("answered HTTP {code}: {}", message.message);
            return match self.unclear(reason, Some(status), None, write) {
                ProviderError::Retryable {
                    provider,
                    reason,
                    status,
                    source,
                    ..
                } => ProviderError::Retryable {
                    provider,
                    reason,
                    status,
                    after,
                    source,
                },
                other => other,
            };
        }
        if status.is_client_error() || !write {
            return ProviderError::Rejected {
                provider: self.provider.clone(),
                status: Some(code),
                code: message.code,
                message: message.message,
            };
        }
        self.unclear(
            format!("answered an unexpected HTTP {code}"),
            Some(status),
            None,
            write,
        )
    }

    /// The provider's own message from an error body, redacted; the body text (cut to 500
    /// characters) when it has not the provider's shape.
    fn message(&self, body: &[u8]) -> ProviderMessage {
        let parsed = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| (self.read_error)(&v));
        let message = parsed.unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(500).collect();
            ProviderMessage {
                code: None,
                message: if text.is_empty() {
                    "(empty body)".to_string()
                } else {
                    text
                },
            }
        });
        ProviderMessage {
            code: message.code.map(|c| self.redactor.message(&c)),
            message: self.redactor.message(&message.message),
        }
    }
}

/// A transport for unit tests of request building: it points at a closed port and is
/// never used to send.
#[cfg(test)]
pub(crate) fn test_transport(provider: &str) -> Transport {
    Transport::new(
        &HttpClient::new().expect("client"),
        TransportConfig {
            provider: provider.into(),
            base_url: "http://127.0.0.1:9".into(),
            timeout: Duration::from_secs(1),
            limiter: Limiter::new(None, None),
            redactor: Redactor::default(),
            read_error: read_common_error,
            clock: Arc::new(super::clock::SystemClock),
        },
    )
}

/// A `Retry-After` value: delay seconds or an HTTP date.
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Mon, 01 Jan 2024 00:00:30 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 31 Dec 2023 23:00:00 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_the_whole_provider_for_its_retry_after() {
        let t = test_transport("p");
        let e = t.status_error(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(2)),
            b"",
            true,
        );
        assert_eq!(e.class(), crate::providers::FailureClass::Retryable);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        let start = tokio::time::Instant::now();
        let _permit = t.limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        let e = t.status_error(StatusCode::TOO_MANY_REQUESTS, None, b"", false);
        assert_eq!(e.retry_after(), None);
        let start = tokio::time::Instant::now();
        let _permit = t.limiter.acquire().await;
        assert_eq!(start.elapsed(), DEFAULT_429_PAUSE);
    }

    #[test]
    fn statuses_are_classified_by_method() {
        use crate::providers::FailureClass::*;
        let t = test_transport("p");
        let class = |code: u16, write: bool| {
            t.status_error(
                StatusCode::from_u16(code).unwrap(),
                None,
                br#"{"message":"m"}"#,
                write,
            )
            .class()
        };
        assert_eq!((class(500, true), class(500, false)), (InDoubt, Retryable));
        assert_eq!((class(503, true), class(502, false)), (InDoubt, Retryable));
        assert_eq!((class(400, true), class(404, false)), (Rejected, Rejected));
        assert_eq!((class(302, true), class(302, false)), (InDoubt, Rejected));
        let e = t.status_error(StatusCode::BAD_REQUEST, None, b"<html>bad</html>", true);
        assert!(e.to_string().ends_with(": <html>bad</html>"), "{e}");
    }

    #[test]
    fn common_error_shapes_are_read() {
        let m = |v: Value| read_common_error(&v);
        assert_eq!(
            m(json!({"error": {"code": "bad_amount", "message": "Amount too small"}})),
            Some(ProviderMessage {
                code: Some("bad_amount".into()),
                message: "Amount too small".into()
            })
        );
        assert_eq!(m(json!({"error": "nope"})).unwrap().message, "nope");
        assert_eq!(
            m(json!({"message": "Invalid token", "code": 401})),
            Some(ProviderMessage {
                code: Some("401".into()),
                message: "Invalid token".into()
            })
        );
        assert_eq!(m(json!({"errors": ["a", "b"]})).unwrap().message, "a; b");
        assert_eq!(m(json!({"ok": true})), None);
    }
}
