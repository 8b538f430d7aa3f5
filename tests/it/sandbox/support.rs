//! Helpers for the sandbox tests: a sandbox on 127.0.0.1:0 with a stopped clock, clients
//! that sign requests with formulas written out here (not sluice's own signing code), a
//! webhook receiver, the seed fixtures and a shape check against them.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sluice::catalog::ProviderKind;
use sluice::sandbox::{SandboxConfig, SandboxHandle, start};
use tokio::sync::mpsc;

pub const KEY: &str = "sandbox-key";
pub const SECRET: &str = "sandbox-secret";

/// Lowercase hex HMAC-SHA256, computed here from the hmac crate.
pub fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Lowercase hex SHA-256.
pub fn sha256(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A sandbox with a stopped clock on a free port.
pub struct Sandbox {
    pub handle: SandboxHandle,
    pub http: reqwest::Client,
}

/// A response: status, headers and JSON body (`Null` when the body is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    async fn from(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Asserts the status, showing the body when it differs.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }
}

pub fn test_config() -> SandboxConfig {
    SandboxConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        speed: 0,
        ..SandboxConfig::default()
    }
}

pub async fn sandbox() -> Sandbox {
    sandbox_with(|_| {}).await
}

pub async fn sandbox_with(configure: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut config = test_config();
    configure(&mut config);
    Sandbox {
        handle: start(config).await.unwrap(),
        http: client(),
    }
}

impl Sandbox {
    pub fn url(&self, kind: ProviderKind, path: &str) -> String {
        format!("{}{path}", self.handle.base_url(kind))
    }

    /// A Whalestack request with Digest-Auth, signed over the path without its query.
    pub async fn ws(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let ts = unix_now().to_string();
        let signed_path = path.split('?').next().unwrap();
        let signed_body: &[u8] = if method == Method::GET { b"" } else { &bytes };
        let message = [
            signed_path.as_bytes(),
            ts.as_bytes(),
            method.as_str().as_bytes(),
            signed_body,
        ]
        .concat();
        let signature = hmac_hex(SECRET.as_bytes(), &message);
        let mut request = self
            .http
            .request(method, self.url(ProviderKind::Whalestack, path))
            .header("X-Digest-Key", KEY)
            .header("X-Digest-Timestamp", ts)
            .header("X-Digest-Signature", signature);
        if !bytes.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(bytes);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    /// A White Payments request: form body, Basic auth with the secret key as user name.
    pub async fn white(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Reply {
        let mut request = self
            .http
            .request(method, self.url(ProviderKind::White, path))
            .basic_auth(KEY, Some(""));
        if !form.is_empty() {
            let body: Vec<String> = form
                .iter()
                .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
                .collect();
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.join("&"));
        }
        Reply::from(request.send().await.unwrap()).await
    }

    /// A WHITESTONES request: Bearer key plus `X-WS-Secret`, optional `Idempotency-Key`.
    pub async fn wst(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, self.url(ProviderKind::Whitestones, path))
            .bearer_auth(KEY)
            .header("X-WS-Secret", SECRET);
        if let Some(k) = key {
            request = request.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            request = with_json(request, &b);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    /// A Whitepay request with the Bearer token.
    pub async fn wp(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .http
            .request(method, self.url(ProviderKind::Whitepay, path))
            .bearer_auth(KEY);
        if let Some(b) = body {
            request = with_json(request, &b);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    /// A test hook under `/__sandbox`.
    pub async fn hook(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.handle.hooks_url()));
        if let Some(b) = body {
            request = with_json(request, &b);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    /// Moves the sandbox clock through its HTTP hook.
    pub async fn advance(&self, by: &str) {
        self.hook(Method::POST, "/advance", Some(json!({ "by": by })))
            .await
            .expect(200);
    }

    /// Ledger entries of `object_id`.
    pub fn entries_of(&self, object_id: &str) -> Vec<sluice::sandbox::LedgerEntry> {
        self.handle
            .ledger()
            .into_iter()
            .filter(|e| e.object_id == object_id)
            .collect()
    }
}

/// Sets a JSON body (reqwest is built without its `json` feature).
pub fn with_json(request: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    request
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
}

/// A GET without credentials, as JSON.
pub async fn get_json(http: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    let response = http.get(url).send().await.unwrap();
    let status = response.status();
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A seed example from `tests/fixtures/sandbox/`.
pub fn fixture(name: &str) -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "sandbox",
        name,
    ]
    .iter()
    .collect();
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Fields the documents mark nullable: a response may hold `null` where the example shows
/// a value.
const NULLABLE: &[&str] = &[
    "completeTime",
    "note",
    "memo",
    "memoType",
    "depositAddress",
    "settlementAmountRequired",
    "sourceAssetId",
    "sourceAmountRequired",
    "sourceAmountReceived",
    "sourceNetwork",
    "sourceNetworkName",
    "beneficiaryId",
    "webhook",
    "targetAccount",
    "customerId",
    "exception",
    "hostedCheckoutUrl",
    "description",
    "ip",
    "name",
    "failure_reason",
    "failure_code",
    "hash",
    "completed_at",
    "metadata",
    "customer",
    "bankTransactions",
    "firstname",
    "lastname",
    "company",
    "adr1",
    "adr2",
    "zip",
    "city",
    "countrycode",
    "country",
    "phonenumber",
    "taxid",
    "meta",
    "reason",
    "default_card_id",
    "email",
    "return_url",
    "cancel_url",
];

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Values the client chose (a checkout's `payload`, `meta`, `metadata`), an error's free-form
/// `extras`, and values that depend on the network (a target account's `fields`): only
/// their JSON type is compared.
const OPAQUE: &[&str] = &[
    ".payload",
    ".meta",
    ".metadata",
    ".extras",
    ".targetAccount.fields",
];

fn shape_errors(actual: &Value, expected: &Value, path: &str, key: &str) -> Vec<String> {
    if OPAQUE.iter().any(|o| path.ends_with(o))
        && !actual.is_null()
        && kind(actual) == kind(expected)
    {
        return vec![];
    }
    match (actual, expected) {
        (_, Value::Null) => vec![],
        (Value::Null, _) if NULLABLE.contains(&key) => vec![],
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .flat_map(|(k, ev)| match a.get(k) {
                None => vec![format!("{path}.{k}: missing")],
                Some(av) => shape_errors(av, ev, &format!("{path}.{k}"), k),
            })
            .collect(),
        (Value::Array(a), Value::Array(e)) => {
            if e.is_empty() {
                return vec![];
            }
            a.iter()
                .enumerate()
                .flat_map(|(i, item)| {
                    let candidates: Vec<Vec<String>> = e
                        .iter()
                        .map(|ev| shape_errors(item, ev, &format!("{path}[{i}]"), key))
                        .collect();
                    if candidates.iter().any(Vec::is_empty) {
                        vec![]
                    } else {
                        candidates
                            .into_iter()
                            .min_by_key(Vec::len)
                            .unwrap_or_default()
                    }
                })
                .collect()
        }
        (a, e) if kind(a) == kind(e) => vec![],
        (a, e) => vec![format!(
            "{path}: {} where the seed has {}",
            kind(a),
            kind(e)
        )],
    }
}

/// Asserts `actual` has every field of the seed example `name`, with the same JSON types.
pub fn assert_shape(actual: &Value, name: &str) {
    let errors = shape_errors(actual, &fixture(name), "$", "");
    assert!(
        errors.is_empty(),
        "{name}:\n  {}\nactual: {actual:#}",
        errors.join("\n  ")
    );
}

/// One webhook as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook receiver on 127.0.0.1:0 that answers 500 to the first `failures` requests.
pub struct Receiver {
    pub url: String,
    rx: mpsc::UnboundedReceiver<Received>,
}

#[derive(Clone)]
struct ReceiverState {
    tx: mpsc::UnboundedSender<Received>,
    failures: Arc<Mutex<u32>>,
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let _ = state.tx.send(Received { headers, body });
    let mut failures = state.failures.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

impl Receiver {
    pub async fn start(failures: u32) -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = ReceiverState {
            tx,
            failures: Arc::new(Mutex::new(failures)),
        };
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, rx }
    }

    /// The next webhook, within five seconds.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(5), self.rx.recv())
            .await
            .expect("a webhook within 5s")
            .unwrap()
    }

    /// Asserts nothing more arrives within `wait`.
    pub async fn nothing_within(&mut self, wait: Duration) {
        if let Ok(Some(extra)) = tokio::time::timeout(wait, self.rx.recv()).await {
            panic!(
                "unexpected webhook: {}",
                String::from_utf8_lossy(&extra.body)
            );
        }
    }
}

pub const USDC: &str = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
pub const EURC: &str = "EURC:GDHU6WRG4IEQXM5NZ4BMPKOXHW76MZM4Y2IEMFDVXBSDP6SJY4ITNPP2";
pub const BTC: &str = "BTC:GCQVEST7KIWV3KOSNDDUJKEPZLBFWKM7DUS4TCLW2VNVPCBGTDRVTEIT";
pub const XLM: &str = "XLM:NATIVE";

/// The shape test of the checker itself: it must catch a missing key and a wrong type.
#[test]
fn shape_check_catches_missing_keys_and_wrong_types() {
    let expected = json!({"a": "x", "b": [{"c": 1}], "note": "n", "d": null});
    assert!(
        shape_errors(
            &json!({"a": "y", "b": [{"c": 2, "z": 0}], "note": null, "d": 5}),
            &expected,
            "$",
            ""
        )
        .is_empty()
    );
    assert_eq!(
        shape_errors(&json!({"b": [], "note": "n", "d": 1}), &expected, "$", ""),
        ["$.a: missing"]
    );
    assert_eq!(
        shape_errors(
            &json!({"a": 1, "b": [{"c": "1"}], "note": "n", "d": 1}),
            &expected,
            "$",
            ""
        ),
        [
            "$.a: number where the seed has string",
            "$.b[0].c: string where the seed has number"
        ]
    );
}
