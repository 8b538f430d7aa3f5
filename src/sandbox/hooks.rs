//! Test hooks under `/__sandbox/`: no authentication, never faulted, JSON in and out.
//!
//! | hook | what it does |
//! |---|---|
//! | `GET /__sandbox/ledger?provider=&object_id=&kind=` | every money movement, with the client's idempotency key or note |
//! | `GET /__sandbox/balances` | every account balance, by provider |
//! | `PUT /__sandbox/balances` `{"provider","asset","balance"}` | set a balance (recorded as an `adjustment`) |
//! | `POST /__sandbox/reset` | back to the starting state (objects, balances, ledger, faults, webhooks) |
//! | `POST /__sandbox/advance` `{"by": "90s"}` | move the sandbox clock and run what became due |
//! | `GET /__sandbox/clock` | sandbox time and speed |
//! | `GET`, `POST`, `DELETE /__sandbox/faults` | read, replace (`{"routes": […], "webhooks": […]}`) or clear the faults |
//! | `GET /__sandbox/requests` | the provider API requests answered so far: method, path, status |
//! | `GET /__sandbox/webhooks` | the webhook delivery log |
//! | `POST /__sandbox/checkouts/{id}/pay` `{"amount", "network", "asset"}` | the customer pays a Whalestack checkout or a WHITESTONES payment intent (all fields optional: the rest due) |
//! | `POST /__sandbox/checkouts/{id}/accept-underpaid` | settle an underpaid Whalestack checkout |
//! | `POST /__sandbox/outcomes` `{"id", "outcome": "fail"}` | the object's next transition fails (swap, transfer, payout, payment, conversion) |
//! | `POST /__sandbox/whalestack/deposits` `{"network", "asset", "amount"}` | a deposit arrives |
//! | `POST /__sandbox/whalestack/transfers/{id}/amount` `{"amount"}` | the transfer's amount changes on the provider's side (the ledger is not touched) |
//! | `DELETE /__sandbox/whalestack/transfers/{id}` | the transfer disappears from the API (the ledger keeps its movements) |
//! | `/__sandbox/seed/<base path>/…` | each provider's API without authentication (`/__sandbox/seed/whalestack/api/v1/customer`, `/__sandbox/seed/white/customers`, …), to seed customers, target accounts and so on |
//!
//! Amounts are decimal strings (JSON numbers are read from their text); a WHITESTONES payment
//! is in minor units, like its API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::faults::{FaultState, Faults};
use super::format::w3c;
use super::server::balances_json;
use super::state::Shared;
use super::{whalestack, white, whitepay, whitestones};
use crate::catalog::ProviderKind;
use crate::money::parse_amount;

/// An error of a hook: `{"error": "..."}`.
#[derive(Debug)]
struct HookError(StatusCode, String);

impl IntoResponse for HookError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad(message: impl Into<String>) -> HookError {
    HookError(StatusCode::BAD_REQUEST, message.into())
}

type S = State<Arc<Shared>>;

/// The hook routes, including the unauthenticated copies of the provider APIs.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/ledger", get(ledger))
        .route("/balances", get(balances).put(set_balance))
        .route("/reset", post(reset))
        .route("/advance", post(advance))
        .route("/clock", get(clock))
        .route("/faults", get(faults).post(set_faults).delete(clear_faults))
        .route("/webhooks", get(deliveries))
        .route("/requests", get(requests))
        .route("/checkouts/{id}/pay", post(pay))
        .route("/checkouts/{id}/accept-underpaid", post(accept_underpaid))
        .route("/outcomes", post(outcome))
        .route("/whalestack/deposits", post(deposit))
        .route("/whalestack/transfers/{id}/amount", post(transfer_amount))
        .route("/whalestack/transfers/{id}", delete(forget_transfer))
        .with_state(shared.clone())
        .nest(
            &seed(whalestack::PREFIX),
            whalestack::router(shared.clone(), false),
        )
        .nest(&seed(white::PREFIX), white::router(shared.clone(), false))
        .nest(
            &seed(whitestones::PREFIX),
            whitestones::router(shared.clone(), false),
        )
        .nest(&seed(whitepay::PREFIX), whitepay::router(shared, false))
}

/// Where the unauthenticated copy of an API mounted at `prefix` lives under the hooks.
fn seed(prefix: &str) -> String {
    format!("/seed{prefix}")
}

fn object(body: &[u8]) -> Result<Map<String, Value>, HookError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad("the body must be a JSON object")),
        Err(e) => Err(bad(format!("invalid JSON: {e}"))),
    }
}

fn text<'a>(body: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, HookError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("`{field}` must be a string"))),
    }
}

fn amount(body: &Map<String, Value>, field: &str) -> Result<Option<Decimal>, HookError> {
    let text = match body.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(bad(format!("`{field}` must be a decimal"))),
    };
    parse_amount(&text)
        .map(Some)
        .map_err(|e| bad(format!("`{field}`: {e}")))
}

fn provider(name: &str) -> Result<ProviderKind, HookError> {
    ProviderKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
        .ok_or_else(|| bad(format!("unknown provider `{name}`")))
}

async fn index() -> Json<Value> {
    Json(json!({
        "hooks": [
            "GET /__sandbox/ledger", "GET /__sandbox/balances", "PUT /__sandbox/balances",
            "POST /__sandbox/reset", "POST /__sandbox/advance", "GET /__sandbox/clock",
            "GET /__sandbox/faults", "POST /__sandbox/faults", "DELETE /__sandbox/faults",
            "GET /__sandbox/webhooks", "POST /__sandbox/checkouts/{id}/pay",
            "POST /__sandbox/checkouts/{id}/accept-underpaid", "POST /__sandbox/outcomes",
            "POST /__sandbox/whalestack/deposits",
            "POST /__sandbox/whalestack/transfers/{id}/amount",
            "DELETE /__sandbox/whalestack/transfers/{id}", "/__sandbox/seed/{base path}/...",
        ]
    }))
}

async fn ledger(
    State(shared): S,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, HookError> {
    let provider = query.get("provider").map(|p| provider(p)).transpose()?;
    let entries = shared.with_world(|world, _| {
        world
            .books
            .entries()
            .iter()
            .filter(|e| provider.is_none_or(|p| e.provider == p))
            .filter(|e| query.get("object_id").is_none_or(|id| &e.object_id == id))
            .filter(|e| query.get("kind").is_none_or(|k| &e.kind == k))
            .cloned()
            .collect::<Vec<_>>()
    });
    Ok(Json(json!({ "entries": entries })))
}

async fn balances(State(shared): S) -> Json<Value> {
    Json(balances_json(&shared))
}

async fn set_balance(State(shared): S, body: Bytes) -> Result<Json<Value>, HookError> {
    let body = object(&body)?;
    let kind = provider(text(&body, "provider")?.ok_or_else(|| bad("`provider` is required"))?)?;
    let asset = text(&body, "asset")?.ok_or_else(|| bad("`asset` is required"))?;
    let balance = amount(&body, "balance")?.ok_or_else(|| bad("`balance` is required"))?;
    if balance.is_sign_negative() {
        return Err(bad("`balance` must not be negative"));
    }
    let account = match kind {
        ProviderKind::Whalestack => whalestack::catalog::asset_id(asset)
            .ok_or_else(|| bad(format!("unknown Whalestack asset `{asset}`")))?
            .to_string(),
        _ => asset.to_ascii_uppercase(),
    };
    shared.with_world(|world, cx| {
        world
            .books
            .adjust(cx.now, kind, &account, balance, "adjustment")
    });
    Ok(Json(balances_json(&shared)))
}

async fn reset(State(shared): S) -> Json<Value> {
    shared.reset();
    Json(json!({ "reset": true }))
}

async fn advance(State(shared): S, body: Bytes) -> Result<Json<Value>, HookError> {
    let body = object(&body)?;
    let by = match (text(&body, "by")?, amount(&body, "seconds")?) {
        (Some(by), None) => humantime::parse_duration(by)
            .map_err(|e| bad(format!("`by`: {e} (write e.g. `90s`, `2h`)")))?,
        (None, Some(seconds)) => {
            let millis = (seconds * Decimal::ONE_THOUSAND).trunc();
            Duration::from_millis(
                u64::try_from(millis)
                    .map_err(|_| bad("`seconds` must be a non-negative number"))?,
            )
        }
        _ => return Err(bad("give `by` (e.g. \"90s\") or `seconds`")),
    };
    let now = shared.advance(by);
    Ok(Json(json!({ "now": w3c(now) })))
}

async fn clock(State(shared): S) -> Json<Value> {
    Json(json!({ "now": w3c(shared.clock.now()), "speed": shared.clock.speed() }))
}

async fn faults(State(shared): S) -> Json<Value> {
    Json(json!(shared.lock_faults().rules()))
}

async fn set_faults(State(shared): S, body: Bytes) -> Result<Json<Value>, HookError> {
    let faults: Faults =
        serde_json::from_slice(&body).map_err(|e| bad(format!("invalid faults: {e}")))?;
    *shared.lock_faults() = FaultState::new(faults);
    Ok(Json(json!(shared.lock_faults().rules())))
}

async fn clear_faults(State(shared): S) -> Json<Value> {
    *shared.lock_faults() = FaultState::new(Faults::default());
    Json(json!(Faults::default()))
}

async fn requests(State(shared): S) -> Json<Value> {
    Json(json!({ "requests": shared.requests() }))
}

async fn deliveries(State(shared): S) -> Json<Value> {
    Json(json!({ "deliveries": *shared.lock_deliveries() }))
}

async fn pay(State(shared): S, Path(id): Path<String>, body: Bytes) -> Result<Response, HookError> {
    let body = object(&body)?;
    let paid = amount(&body, "amount")?;
    let network = text(&body, "network")?;
    let asset = text(&body, "asset")?;
    Ok(shared.with_world(|world, cx| {
        if world.whitestones.intents.get(&id).is_some() {
            let minor = match paid.map(i64::try_from) {
                None => None,
                Some(Ok(m)) if paid.is_some_and(|p| p.fract().is_zero()) => Some(m),
                Some(_) => {
                    return bad("a WHITESTONES payment `amount` is an integer of minor units")
                        .into_response();
                }
            };
            return match whitestones::intents::pay(world, cx, &id, minor) {
                Ok(intent) => Json(intent).into_response(),
                Err(e) => e.into_response(),
            };
        }
        match whalestack::checkouts::pay(world, cx, &id, paid, network, asset) {
            Ok(checkout) => Json(json!({ "checkout": checkout })).into_response(),
            Err(e) => e.into_response(),
        }
    }))
}

async fn accept_underpaid(State(shared): S, Path(id): Path<String>) -> Response {
    shared.with_world(
        |world, cx| match whalestack::checkouts::accept_underpaid(world, cx, &id) {
            Ok(checkout) => Json(json!({ "checkout": checkout })).into_response(),
            Err(e) => e.into_response(),
        },
    )
}

async fn outcome(State(shared): S, body: Bytes) -> Result<Json<Value>, HookError> {
    let body = object(&body)?;
    let id = text(&body, "id")?
        .ok_or_else(|| bad("`id` is required"))?
        .to_string();
    match text(&body, "outcome")? {
        Some("fail") => {}
        other => return Err(bad(format!("`outcome` must be \"fail\", got {other:?}"))),
    }
    shared.with_world(|world, _| world.forced_failures.insert(id.clone()));
    Ok(Json(json!({ "id": id, "outcome": "fail" })))
}

async fn transfer_amount(
    State(shared): S,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, HookError> {
    let body = object(&body)?;
    let to = amount(&body, "amount")?.ok_or_else(|| bad("`amount` is required"))?;
    Ok(shared.with_world(
        |world, _| match whalestack::transfers::set_amount(world, &id, to) {
            Ok(transfer) => Json(transfer).into_response(),
            Err(e) => e.into_response(),
        },
    ))
}

async fn forget_transfer(State(shared): S, Path(id): Path<String>) -> Response {
    shared.with_world(|world, _| match whalestack::transfers::forget(world, &id) {
        Ok(()) => Json(json!({ "id": id, "deleted": true })).into_response(),
        Err(e) => e.into_response(),
    })
}

async fn deposit(State(shared): S, body: Bytes) -> Response {
    let parsed = object(&body).and_then(|body| {
        let network = text(&body, "network")?
            .ok_or_else(|| bad("`network` is required"))?
            .to_string();
        let asset = text(&body, "asset")?
            .ok_or_else(|| bad("`asset` is required"))?
            .to_string();
        let amount = amount(&body, "amount")?.ok_or_else(|| bad("`amount` is required"))?;
        Ok((network, asset, amount))
    });
    let (network, asset, amount) = match parsed {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    shared.with_world(|world, cx| {
        match whalestack::deposits::simulate(world, cx, &network, &asset, amount) {
            Ok(deposit) => Json(json!({ "deposit": deposit })).into_response(),
            Err(e) => e.into_response(),
        }
    })
}
