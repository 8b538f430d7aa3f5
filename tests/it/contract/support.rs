//! What the contract tests share: a sandbox with a stopped clock, adapters built from
//! provider blocks pointing at it, calls, ledger and fault helpers, the seed-shape check,
//! and a recording relay that keeps the exact bytes an adapter sends.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use sluice::catalog::ProviderKind;
use sluice::providers::{
    Call, HttpClient, IdempotencyKey, Lookup, Outcome, Output, Provider, ProviderError,
};
use sluice::sandbox::{FaultRule, Faults, LedgerEntry, SandboxConfig, SandboxHandle, start};
use sluice::spec::env::ResolvedProvider;
use sluice::spec::{AuthMode, Secret};

pub const KEY: &str = "sandbox-key";
pub const SECRET: &str = "sandbox-secret";

pub const USDC: &str = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
pub const EURC: &str = "EURC:GDHU6WRG4IEQXM5NZ4BMPKOXHW76MZM4Y2IEMFDVXBSDP6SJY4ITNPP2";
pub const XLM: &str = "XLM:NATIVE";

/// A sandbox on a free port with its clock stopped (only `advance` moves it), registering
/// unknown Whalestack target-account labels on first use.
pub async fn sandbox() -> SandboxHandle {
    sandbox_with(|_| {}).await
}

/// As [`sandbox`], with `configure` applied to the configuration first.
pub async fn sandbox_with(configure: impl FnOnce(&mut SandboxConfig)) -> SandboxHandle {
    let mut config = SandboxConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        speed: 0,
        auto_target_accounts: true,
        ..Default::default()
    };
    configure(&mut config);
    start(config).await.unwrap()
}

/// A provider block of `kind` at `base_url` with the sandbox's credentials.
pub fn block_at(kind: ProviderKind, base_url: &str) -> ResolvedProvider {
    let secret = |v: &str| Some(Secret::new(v));
    let (api_key, api_secret, secret_key, token) = match kind {
        ProviderKind::Whalestack | ProviderKind::Whitestones => {
            (secret(KEY), secret(SECRET), None, None)
        }
        ProviderKind::White => (None, None, secret(KEY), None),
        ProviderKind::Whitepay => (None, None, None, secret(KEY)),
        ProviderKind::Http => (None, None, None, None),
    };
    ResolvedProvider {
        name: format!("contract_{kind}"),
        kind,
        base_url: Some(base_url.to_string()),
        api_key,
        api_secret,
        secret_key,
        token,
        webhook_secret: None,
        webhook_signature_header: None,
        auth: AuthMode::Digest,
        timeout: Duration::from_secs(5),
        rate_limit: None,
        max_in_flight: None,
        paths: BTreeMap::new(),
        http_auth: None,
        headers: BTreeMap::new(),
        secret_headers: BTreeMap::new(),
        idempotency_header: None,
    }
}

/// A provider block of `kind` pointing at `sandbox`.
pub fn block(sandbox: &SandboxHandle, kind: ProviderKind) -> ResolvedProvider {
    block_at(kind, &sandbox.base_url(kind))
}

/// The adapter for `resolved`.
pub fn adapter(resolved: &ResolvedProvider) -> Arc<dyn Provider> {
    sluice::providers::build(resolved, &HttpClient::new().unwrap()).unwrap()
}

/// The adapter of `kind` pointing at `sandbox`.
pub fn provider(sandbox: &SandboxHandle, kind: ProviderKind) -> Arc<dyn Provider> {
    adapter(&block(sandbox, kind))
}

/// A `with` map from JSON.
pub fn with(v: Value) -> Map<String, Value> {
    v.as_object().expect("a JSON object").clone()
}

pub fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

/// One step's call: its action, `with` map and idempotency key.
pub struct Step {
    pub action: &'static str,
    pub with: Map<String, Value>,
    pub key: IdempotencyKey,
}

impl Step {
    pub fn new(action: &'static str, key_text: &str, with_json: Value) -> Self {
        Step {
            action,
            with: with(with_json),
            key: key(key_text),
        }
    }

    fn call<'a>(&'a self, checkpoint: Option<&'a Value>) -> Call<'a> {
        Call {
            action: self.action,
            with: &self.with,
            key: &self.key,
            checkpoint,
        }
    }

    pub async fn execute(&self, p: &dyn Provider) -> Result<Outcome, ProviderError> {
        p.execute(&self.call(None)).await
    }

    pub async fn resume(
        &self,
        p: &dyn Provider,
        checkpoint: &Value,
    ) -> Result<Outcome, ProviderError> {
        p.execute(&self.call(Some(checkpoint))).await
    }

    pub async fn lookup(&self, p: &dyn Provider, provider_ref: Option<&str>) -> Lookup {
        p.lookup(&self.call(None), provider_ref).await.unwrap()
    }

    pub async fn lookup_from(&self, p: &dyn Provider, checkpoint: &Value) -> Lookup {
        p.lookup(&self.call(Some(checkpoint)), None).await.unwrap()
    }

    /// Executes and expects a finished call.
    pub async fn done(&self, p: &dyn Provider) -> Output {
        match self.execute(p).await {
            Ok(Outcome::Done(out)) => out,
            other => panic!("`{}`: expected Done, got {other:?}", self.action),
        }
    }

    /// Executes and expects the first phase of a two-phase write.
    pub async fn first_phase(&self, p: &dyn Provider) -> (Value, Output) {
        match self.execute(p).await {
            Ok(Outcome::Continue { checkpoint, output }) => (checkpoint, output),
            other => panic!("`{}`: expected Continue, got {other:?}", self.action),
        }
    }

    /// Executes and expects a failure.
    pub async fn fails(&self, p: &dyn Provider) -> ProviderError {
        match self.execute(p).await {
            Err(e) => e,
            Ok(out) => panic!("`{}`: expected a failure, got {out:?}", self.action),
        }
    }
}

/// The template JSON of an output (`id`, `state`, `amount`, …).
pub fn json(out: &Output) -> Value {
    out.to_json()
}

/// An exact decimal.
pub fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// Replaces every route fault with `rules` (compact form, `lost_response@POST /x`).
pub fn faults(sandbox: &SandboxHandle, rules: &[&str]) {
    sandbox.set_faults(Faults {
        routes: rules
            .iter()
            .map(|r| r.parse::<FaultRule>().unwrap())
            .collect(),
        webhooks: Vec::new(),
    });
}

pub fn clear_faults(sandbox: &SandboxHandle) {
    sandbox.set_faults(Faults::default());
}

/// Ledger entries that move money (opening balances left out) of `provider`.
pub fn movements(sandbox: &SandboxHandle, provider: ProviderKind) -> Vec<LedgerEntry> {
    sandbox
        .ledger()
        .into_iter()
        .filter(|e| e.provider == provider && e.kind != "opening")
        .collect()
}

/// Ledger entries of one object.
pub fn entries_of(sandbox: &SandboxHandle, object_id: &str) -> Vec<LedgerEntry> {
    sandbox
        .ledger()
        .into_iter()
        .filter(|e| e.object_id == object_id)
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

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Keys the seed shows whose values the client chose: only their presence is compared.
const CLIENT_CHOSEN: &[&str] = &[
    "payload",
    "meta",
    "metadata",
    "fields",
    "recipient",
    "customer",
];

fn key_errors(actual: &Value, expected: &Value, path: &str, out: &mut Vec<String>) {
    match (actual, expected) {
        // The seed leaves the value open (`null`), or the answer holds a documented null.
        (_, Value::Null) | (Value::Null, _) => {}
        (Value::Object(a), Value::Object(e)) => {
            for (k, ev) in e {
                match a.get(k) {
                    None => out.push(format!("{path}.{k}: missing")),
                    Some(_) if CLIENT_CHOSEN.contains(&k.as_str()) => {}
                    Some(av) => key_errors(av, ev, &format!("{path}.{k}"), out),
                }
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            if let (Some(first), Some(template)) = (a.first(), e.first()) {
                key_errors(first, template, &format!("{path}[0]"), out);
            }
        }
        (a, e) if type_name(a) != type_name(e) => out.push(format!(
            "{path}: {} where the seed has {}",
            type_name(a),
            type_name(e)
        )),
        _ => {}
    }
}

/// Asserts `raw` has every key of the seed example `name` (recursively, same JSON types).
pub fn assert_seed_shape(raw: &Value, name: &str) {
    let mut errors = Vec::new();
    key_errors(raw, &fixture(name), "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{name}:\n  {}\nraw: {raw:#}",
        errors.join("\n  ")
    );
}

/// One request as it went through the [`Relay`].
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// Path and query, as sent.
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A relay on 127.0.0.1:0 in front of the sandbox that records every request byte for byte
/// and passes it on unchanged, so a test can check (and replay) what an adapter sent. With
/// no upstream it is a webhook receiver: it records and answers 200.
pub struct Relay {
    pub origin: String,
    pub recorded: Arc<Mutex<Vec<Recorded>>>,
}

#[derive(Clone)]
struct RelayState {
    upstream: Option<String>,
    client: reqwest::Client,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

async fn relay(
    State(state): State<RelayState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    state.recorded.lock().unwrap().push(Recorded {
        method: method.clone(),
        uri: path.clone(),
        headers: headers.clone(),
        body: body.clone(),
    });
    let Some(upstream) = &state.upstream else {
        return StatusCode::OK.into_response();
    };
    match send_raw(&state.client, upstream, &method, &path, &headers, body).await {
        Ok((status, bytes)) => (status, bytes).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// Sends a request with exactly these headers and body bytes.
pub async fn send_raw(
    client: &reqwest::Client,
    origin: &str,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> reqwest::Result<(StatusCode, Bytes)> {
    let mut forwarded = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            forwarded.append(name.clone(), value.clone());
        }
    }
    let response = client
        .request(method.clone(), format!("{origin}{path_and_query}"))
        .headers(forwarded)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.bytes().await?))
}

pub fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

impl Relay {
    /// A relay to `upstream_origin` (`http://HOST:PORT`), or a receiver when `None`.
    pub async fn start(upstream_origin: Option<&str>) -> Relay {
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let state = RelayState {
            upstream: upstream_origin.map(str::to_string),
            client: raw_client(),
            recorded: recorded.clone(),
        };
        let app = Router::new().fallback(relay).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Relay { origin, recorded }
    }

    /// The requests recorded so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }
}

/// POSTs `body` to a test hook under `/__sandbox` and returns its JSON answer.
pub async fn hook(sandbox: &SandboxHandle, path: &str, body: Value) -> Value {
    let response = raw_client()
        .post(format!("{}{path}", sandbox.hooks_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "hook {path}: {}",
        response.status()
    );
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}
