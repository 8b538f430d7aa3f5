//! Starting and stopping a sandbox: the router of the four providers and the test hooks,
//! the fault layer in front of the provider routes, the background ticker, the webhook
//! dispatcher, and the [`SandboxHandle`] the rest of sluice uses.
//!
//! Base URLs (what a provider block's `base_url` should be):
//!
//! | provider | base URL |
//! |---|---|
//! | whalestack | `http://HOST:PORT/whalestack/api/v1` |
//! | white | `http://HOST:PORT/white` |
//! | whitestones | `http://HOST:PORT/whitestones/v1` |
//! | whitepay | `http://HOST:PORT/whitepay` (the adapter appends `/private-api/…`) |
//! | http (generic) | `http://HOST:PORT/http` (see [`super::http::routes`]) |
//!
//! Test hooks live under `http://HOST:PORT/__sandbox/` (see [`super::hooks`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::config::SandboxConfig;
use super::error::SandboxError;
use super::faults::{FaultKind, FaultState, Faults};
use super::ledger::LedgerEntry;
use super::listener::{Connection, SandboxListener};
use super::state::{RequestSeen, Shared};
use super::webhooks::{self, Delivery};
use super::{hooks, pages};
use super::{http, whalestack, white, whitepay, whitestones};
use crate::catalog::ProviderKind;

/// The path a provider is mounted at; the base URL is the sandbox's origin plus this.
pub fn base_path(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Whalestack => whalestack::PREFIX,
        ProviderKind::White => white::PREFIX,
        ProviderKind::Whitestones => whitestones::PREFIX,
        ProviderKind::Whitepay => whitepay::PREFIX,
        ProviderKind::Http => http::PREFIX,
    }
}

/// The provider whose routes `path` belongs to.
fn provider_of(path: &str) -> Option<ProviderKind> {
    ProviderKind::ALL.into_iter().find(|k| {
        let prefix = base_path(*k).split('/').nth(1).unwrap_or_default();
        path.split('/').nth(1) == Some(prefix)
    })
}

/// The provider's own error body for an injected fault.
fn fault_response(path: &str, status: StatusCode, message: &str) -> Response {
    let body = match provider_of(path) {
        Some(ProviderKind::Whalestack) => json!({ "errors": [message] }),
        Some(ProviderKind::White) => white::routes::fault_body(status, message),
        Some(ProviderKind::Whitestones) => {
            let code = match status {
                StatusCode::TOO_MANY_REQUESTS => "rate_limited",
                StatusCode::UNAUTHORIZED => "unauthorized",
                StatusCode::FORBIDDEN => "forbidden",
                StatusCode::NOT_FOUND => "not_found",
                s if s.is_server_error() => "server_error",
                _ => "invalid_request",
            };
            whitestones::error::body(code, message)
        }
        Some(ProviderKind::Whitepay) => whitepay::error::body(message, None),
        Some(ProviderKind::Http) | None => json!({ "error": message }),
    };
    (status, axum::Json(body)).into_response()
}

/// Applies the route faults that fire for this request.
async fn inject_faults(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let faults = shared
        .lock_faults()
        .on_request(request.method().as_str(), &path);
    if faults.is_empty() {
        return next.run(request).await;
    }
    let connection = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|c| c.0.clone());
    let mut lose_response = false;
    for fault in faults {
        tracing::debug!(path, %fault, "Injecting a fault.");
        match fault {
            FaultKind::Latency { delay } => tokio::time::sleep(delay.get()).await,
            FaultKind::Error { status } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let reason = status.canonical_reason().unwrap_or("server error");
                let message = format!("{} (injected by the sandbox)", reason.to_lowercase());
                return fault_response(&path, status, &message);
            }
            FaultKind::RateLimit { retry_after } => {
                let seconds =
                    retry_after.get().as_secs() + u64::from(retry_after.get().subsec_nanos() > 0);
                let mut response = fault_response(
                    &path,
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many requests (injected by the sandbox)",
                );
                response
                    .headers_mut()
                    .insert("retry-after", seconds.to_string().parse().expect("digits"));
                return response;
            }
            FaultKind::Drop => {
                if let Some(c) = &connection {
                    c.reset();
                }
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            FaultKind::LostResponse => lose_response = true,
        }
    }
    let response = next.run(request).await;
    if lose_response && let Some(c) = &connection {
        c.reset();
    }
    response
}

/// The whole application: the four providers behind the fault layer, then the customer
/// pages and the hooks (never faulted).
/// Logs every provider API request with the status it got (faults included), for
/// [`SandboxHandle::requests`] and `GET /__sandbox/requests`.
async fn log_request(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    shared.saw(RequestSeen {
        method,
        path,
        status: response.status().as_u16(),
    });
    response
}

fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .nest(whalestack::PREFIX, whalestack::router(shared.clone(), true))
        .nest(white::PREFIX, white::router(shared.clone(), true))
        .nest(
            whitestones::PREFIX,
            whitestones::router(shared.clone(), true),
        )
        .nest(whitepay::PREFIX, whitepay::router(shared.clone(), true))
        .nest(http::PREFIX, http::router(shared.clone()))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            inject_faults,
        ))
        .layer(middleware::from_fn_with_state(shared.clone(), log_request))
        .merge(pages::router(shared.clone()))
        .nest("/__sandbox", hooks::router(shared))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": "no such endpoint"})),
            )
        })
}

/// A running sandbox. Dropping it stops the server and its tasks.
#[derive(Debug)]
pub struct SandboxHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Binds the listener (port 0 picks a free port) and starts serving in the background.
///
/// # Errors
/// [`SandboxError::Config`] for an unusable configuration, [`SandboxError::Bind`] when the
/// address cannot be bound.
pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
    validate(&config)?;
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| SandboxError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        addr: config.addr,
        source,
    })?;
    let (outbox_tx, outbox_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::new(config, format!("http://{addr}"), outbox_tx));
    let (shutdown, shutdown_rx) = watch::channel(false);

    let mut stop = shutdown_rx.clone();
    let serve = axum::serve(
        SandboxListener::new(listener),
        app(shared.clone()).into_make_service_with_connect_info::<Connection>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop.changed().await;
    });
    let mut tasks = vec![tokio::spawn(async move {
        if let Err(error) = serve.await {
            tracing::error!(%error, "The sandbox server stopped.");
        }
    })];
    tasks.push(tokio::spawn(webhooks::dispatch(
        shared.clone(),
        outbox_rx,
        shutdown_rx.clone(),
    )));
    if shared.config.speed > 0 {
        tasks.push(tokio::spawn(tick(shared.clone(), shutdown_rx)));
    }
    tracing::info!(%addr, "Sandbox listening.");
    Ok(SandboxHandle {
        shared,
        addr,
        shutdown,
        tasks,
    })
}

fn validate(config: &SandboxConfig) -> Result<(), SandboxError> {
    let fail = |reason: String| Err(SandboxError::Config { reason });
    if config.api_key.is_empty() || config.api_secret.expose().is_empty() {
        return fail("the API key and secret must not be empty".into());
    }
    if config.tick.is_zero() {
        return fail("`tick` must be longer than zero".into());
    }
    if config.webhooks.max_attempts == 0 {
        return fail("webhook `max_attempts` must be at least 1".into());
    }
    if config.rate_limit == Some(0) {
        return fail("the rate limit must be at least 1 request per second".into());
    }
    if let Some(auto) = &config.auto_pay
        && (auto.ratio <= Decimal::ZERO || auto.ratio > Decimal::from(10))
    {
        return fail(format!(
            "the auto-pay ratio `{}` must be above 0 and at most 10",
            auto.ratio
        ));
    }
    let whalestack_balances = config.balances.get(&ProviderKind::Whalestack);
    if let Some(code) = whalestack_balances
        .into_iter()
        .flat_map(|rows| rows.keys())
        .find(|code| whalestack::catalog::asset_id(code).is_none())
    {
        return fail(format!(
            "`{code}` is not a Whalestack asset (see GET /assets)"
        ));
    }
    if let Some((code, amount)) = config
        .balances
        .values()
        .flat_map(|rows| rows.iter())
        .find(|(_, amount)| amount.is_sign_negative())
    {
        return fail(format!(
            "the balance of `{code}` cannot be negative: `{amount}`"
        ));
    }
    let urls = config
        .webhooks
        .url
        .iter()
        .chain(config.webhooks.urls.values());
    for url in urls {
        if reqwest::Url::parse(url).map(|u| u.scheme().starts_with("http")) != Ok(true) {
            return fail(format!("webhook URL `{url}` is not an http(s) URL"));
        }
    }
    Ok(())
}

/// Moves due objects along while the clock runs.
async fn tick(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(shared.config.tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = interval.tick() => shared.with_world(|_, _| ()),
        }
    }
}

impl SandboxHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL a provider block of `kind` should use (see the module docs).
    pub fn base_url(&self, kind: ProviderKind) -> String {
        format!("{}{}", self.origin(), base_path(kind))
    }

    /// `http://HOST:PORT/__sandbox`, where the test hooks are.
    pub fn hooks_url(&self) -> String {
        format!("{}/__sandbox", self.origin())
    }

    /// Every money movement so far, oldest first.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared
            .with_world(|world, _| world.books.entries().to_vec())
    }

    /// The balance of a provider account (a Whalestack asset id, or a currency code).
    pub fn balance(&self, kind: ProviderKind, asset: &str) -> Decimal {
        self.shared
            .with_world(|world, _| world.books.balance(kind, asset))
    }

    /// Moves the sandbox clock forward and runs what became due; returns the new time.
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        self.shared.advance(by)
    }

    /// Replaces every fault rule (an empty [`Faults`] clears them).
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.lock_faults() = FaultState::new(faults);
    }

    /// Back to the starting state (objects, balances, ledger, faults, delivery log).
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// The provider API requests answered so far, oldest first.
    pub fn requests(&self) -> Vec<RequestSeen> {
        self.shared.requests()
    }

    /// The webhook deliveries so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock_deliveries().clone()
    }

    /// Stops accepting connections, finishes open requests (for up to five seconds) and
    /// stops the background tasks.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// JSON of every balance, by provider then account, for `GET /__sandbox/balances`.
pub fn balances_json(shared: &Shared) -> Value {
    shared.with_world(|world, _| {
        let mut out = serde_json::Map::new();
        for kind in ProviderKind::ALL {
            let accounts: serde_json::Map<String, Value> = world
                .books
                .balances(kind)
                .map(|(asset, amount)| (asset.to_string(), json!(amount.to_string())))
                .collect();
            out.insert(kind.as_str().to_string(), Value::Object(accounts));
        }
        Value::Object(out)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rust_decimal_macros::dec;

    use super::*;
    use crate::sandbox::config::AutoPay;

    #[test]
    fn unusable_configs_are_refused() {
        assert!(validate(&SandboxConfig::default()).is_ok());
        let refused = |change: fn(&mut SandboxConfig)| {
            let mut config = SandboxConfig::default();
            change(&mut config);
            validate(&config).is_err()
        };
        assert!(refused(|c| c.api_key.clear()));
        assert!(refused(|c| c.rate_limit = Some(0)));
        assert!(refused(|c| c.webhooks.max_attempts = 0));
        assert!(refused(|c| c.webhooks.url = Some("ftp://x".into())));
        assert!(refused(|c| c.auto_pay = Some(AutoPay {
            after: Duration::ZERO,
            ratio: dec!(0)
        })));
        assert!(refused(|c| {
            c.balances.insert(
                ProviderKind::Whalestack,
                BTreeMap::from([("DOGE".into(), dec!(1))]),
            );
        }));
        assert!(refused(|c| {
            c.balances.insert(
                ProviderKind::White,
                BTreeMap::from([("AED".into(), dec!(-1))]),
            );
        }));
    }

    #[test]
    fn paths_belong_to_their_provider() {
        assert_eq!(
            provider_of("/whalestack/api/v1/ping"),
            Some(ProviderKind::Whalestack)
        );
        assert_eq!(provider_of("/white/charges"), Some(ProviderKind::White));
        assert_eq!(
            provider_of("/whitepay/private-api/balances"),
            Some(ProviderKind::Whitepay)
        );
        assert_eq!(
            provider_of("/whitestones/v1/payouts"),
            Some(ProviderKind::Whitestones)
        );
        assert_eq!(provider_of("/__sandbox/ledger"), None);
    }
}
