//! A fake provider: an axum server on 127.0.0.1:0 that answers from a script and records
//! every request it receives, and the helpers the provider tests share.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use sluice::catalog::ProviderKind;
use sluice::providers::{Call, Clock, FailureClass, IdempotencyKey, Provider, ProviderError};
use sluice::spec::env::ResolvedProvider;
use sluice::spec::{AuthMode, Secret};
use tokio::net::TcpListener;

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    hang: bool,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            hang: false,
        }
    }

    /// An answer that never comes: the request is read, the connection stays open.
    pub fn hang() -> Self {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: String::new(),
            hang: true,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A request as the fake received it; `path` is relative to the fake's base path.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    /// A header's value, or `""`.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The body as text.
    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }
}

#[derive(Default)]
struct Script {
    replies: Vec<(String, String, Reply)>,
    received: Vec<Received>,
}

#[derive(Clone)]
struct Shared {
    prefix: String,
    script: Arc<Mutex<Script>>,
}

/// A running fake provider.
pub struct Fake {
    /// The base URL adapters are given.
    pub base_url: String,
    script: Arc<Mutex<Script>>,
}

impl Fake {
    /// Starts a fake whose API lives under `prefix` (`/api/v1`, or `""`).
    pub async fn start(prefix: &str) -> Fake {
        let script = Arc::new(Mutex::new(Script::default()));
        let shared = Shared {
            prefix: prefix.to_string(),
            script: Arc::clone(&script),
        };
        let app = Router::new().fallback(answer).with_state(shared);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake {
            base_url: format!("http://{addr}{prefix}"),
            script,
        }
    }

    /// Scripts the next answer to `method path` (path relative to the prefix, no query).
    pub fn on(&self, method: &str, path: &str, reply: Reply) -> &Self {
        self.script
            .lock()
            .unwrap()
            .replies
            .push((method.into(), path.into(), reply));
        self
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    /// `METHOD path` of every request received so far.
    pub fn lines(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }
}

async fn answer(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path()
        .strip_prefix(&shared.prefix)
        .unwrap_or(uri.path())
        .to_string();
    let reply = {
        let mut script = shared.script.lock().unwrap();
        script.received.push(Received {
            method: method.to_string(),
            path: path.clone(),
            query: uri.query().map(str::to_string),
            headers,
            body: body.to_vec(),
        });
        let at = script
            .replies
            .iter()
            .position(|(m, p, _)| *m == method.as_str() && *p == path);
        at.map(|i| script.replies.remove(i).2)
    };
    let Some(reply) = reply else {
        let body = serde_json::json!({"error": format!("no scripted reply for {method} {path}")});
        return (StatusCode::NOT_FOUND, body.to_string()).into_response();
    };
    if reply.hang {
        std::future::pending::<()>().await;
    }
    let mut response = (
        StatusCode::from_u16(reply.status).expect("status"),
        reply.body,
    )
        .into_response();
    for (k, v) in reply.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            v.parse().expect("value"),
        );
    }
    response
}

/// A clock fixed at `2024-01-01T00:00:00Z` plus `secs`.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl FixedClock {
    /// The clock at unix time `secs`.
    pub fn at(secs: i64) -> Arc<FixedClock> {
        Arc::new(FixedClock(Utc.timestamp_opt(secs, 0).unwrap()))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A provider block for `kind` at `base_url` with the given credentials.
pub fn block(kind: ProviderKind, base_url: &str, creds: &[(&str, &str)]) -> ResolvedProvider {
    let get = |f: &str| {
        creds
            .iter()
            .find(|(k, _)| *k == f)
            .map(|(_, v)| Secret::new(*v))
    };
    ResolvedProvider {
        name: format!("test_{kind}"),
        kind,
        base_url: Some(base_url.to_string()),
        api_key: get("api_key"),
        api_secret: get("api_secret"),
        secret_key: get("secret_key"),
        token: get("token"),
        webhook_secret: get("webhook_secret"),
        webhook_signature_header: None,
        auth: AuthMode::Digest,
        timeout: Duration::from_millis(300),
        rate_limit: None,
        max_in_flight: None,
        paths: BTreeMap::new(),
        http_auth: None,
        headers: BTreeMap::new(),
        secret_headers: BTreeMap::new(),
        idempotency_header: None,
    }
}

/// A `with` map from JSON.
pub fn with(v: Value) -> Map<String, Value> {
    v.as_object().expect("object").clone()
}

/// Runs `execute` for `action` with `with` and key `key`.
pub async fn execute(
    p: &dyn Provider,
    action: &str,
    with: &Map<String, Value>,
    key: &str,
    checkpoint: Option<&Value>,
) -> Result<sluice::providers::Outcome, ProviderError> {
    let key = IdempotencyKey::new(key).unwrap();
    p.execute(&Call {
        action,
        with,
        key: &key,
        checkpoint,
    })
    .await
}

/// A base URL where nothing listens (the port was bound, then released).
pub async fn closed_url(prefix: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}{prefix}")
}

/// How one provider is exercised by [`failure_classes`].
pub struct Scenario {
    /// Builds the provider against a base URL.
    pub build: fn(&str) -> Arc<dyn Provider>,
    /// The API prefix of the fake.
    pub prefix: &'static str,
    /// Answers the write needs before it is sent (server time, balances).
    pub prelude: Vec<(&'static str, &'static str, Reply)>,
    /// The write: action and `with`.
    pub write: (&'static str, Value),
    /// The write's `METHOD path`.
    pub write_route: (&'static str, &'static str),
    /// A read: `poll(object, id)` and its `METHOD path`.
    pub read: (&'static str, &'static str),
    /// The read's `METHOD path`.
    pub read_route: (&'static str, &'static str),
    /// A 400 body in the provider's error format, and the message it must yield.
    pub rejection: (Value, &'static str),
}

/// Produces every failure class against a fake and checks the classification:
/// connect refused → retryable; 429 + Retry-After → retryable with `after`; 400 with the
/// provider's error body → rejected with its message; 500 on a write → in_doubt; 500 on a
/// read → retryable; a write whose answer never comes → in_doubt.
pub async fn failure_classes(s: Scenario) {
    let (action, w) = (s.write.0, with(s.write.1.clone()));

    let p = (s.build)(&closed_url(s.prefix).await);
    let e = execute(p.as_ref(), action, &w, "idk_fc", None)
        .await
        .unwrap_err();
    assert_eq!(e.class(), FailureClass::Retryable, "connect refused: {e}");
    assert!(e.to_string().contains("not sent"), "{e}");

    let cases: Vec<(Reply, FailureClass)> = vec![
        (
            Reply::json(429, serde_json::json!({"error": "slow down"})).header("retry-after", "7"),
            FailureClass::Retryable,
        ),
        (
            Reply::json(400, s.rejection.0.clone()),
            FailureClass::Rejected,
        ),
        (
            Reply::json(500, serde_json::json!({"error": "boom"})),
            FailureClass::InDoubt,
        ),
        (Reply::hang(), FailureClass::InDoubt),
    ];
    for (reply, class) in cases {
        let fake = Fake::start(s.prefix).await;
        for (m, path, r) in &s.prelude {
            fake.on(m, path, r.clone());
        }
        let status = reply.status;
        let hang = reply.hang;
        fake.on(s.write_route.0, s.write_route.1, reply);
        let p = (s.build)(&fake.base_url);
        let e = execute(p.as_ref(), action, &w, "idk_fc", None)
            .await
            .unwrap_err();
        assert_eq!(e.class(), class, "{status} (hang: {hang}): {e}");
        assert!(
            fake.lines()
                .contains(&format!("{} {}", s.write_route.0, s.write_route.1)),
            "the write was not sent: {:?}",
            fake.lines()
        );
        match (status, hang) {
            (_, true) => assert!(e.to_string().contains("did not answer within"), "{e}"),
            (429, _) => {
                assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
                assert_eq!(e.status(), Some(429));
            }
            (400, _) => match &e {
                ProviderError::Rejected {
                    message, status, ..
                } => {
                    assert_eq!(message, s.rejection.1);
                    assert_eq!(*status, Some(400));
                }
                other => panic!("not rejected: {other}"),
            },
            _ => assert_eq!(e.status(), Some(500)),
        }
    }

    let fake = Fake::start(s.prefix).await;
    for (m, path, r) in &s.prelude {
        fake.on(m, path, r.clone());
    }
    fake.on(
        s.read_route.0,
        s.read_route.1,
        Reply::json(500, serde_json::json!({"error": "boom"})),
    );
    let p = (s.build)(&fake.base_url);
    let e = p.poll(s.read.0, s.read.1).await.unwrap_err();
    assert_eq!(e.class(), FailureClass::Retryable, "500 on a read: {e}");
    assert_eq!(e.status(), Some(500));
}
