//! The customer-facing pages behind the URLs the sandbox hands out: a Whalestack hosted
//! checkout (`url`, `hostedCheckoutUrl`) and a WHITESTONES `payment_url`. Each shows what is
//! due and a button that pays it in full through `POST /__sandbox/checkouts/{id}/pay`, so a
//! person trying a workflow by hand can play the customer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use super::state::Shared;

/// The page routes, at the paths the sandbox's URLs point to.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/whalestack/en/checkout", get(whalestack_checkout))
        .route("/whitestones/checkout/{id}", get(whitestones_intent))
        .with_state(shared)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn field(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::Null => "-".to_string(),
        Value::String(s) => escape(s),
        other => escape(&other.to_string()),
    }
}

fn page(title: &str, id: &str, rows: &[(&str, String)]) -> Html<String> {
    let rows: String = rows
        .iter()
        .map(|(k, v)| format!("<tr><th>{k}</th><td>{v}</td></tr>"))
        .collect();
    let id = escape(id);
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>{title}</title>\
         <h1>{title}</h1><table>{rows}</table>\
         <form method=post action=\"/__sandbox/checkouts/{id}/pay\"><button>Pay in full</button></form>\
         <p>sluice sandbox: no real money moves.</p>"
    ))
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<h1>No such checkout</h1>".to_string()),
    )
        .into_response()
}

async fn whalestack_checkout(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let id = query.get("id").cloned().unwrap_or_default();
    let Some(c) =
        shared.with_world(|world, _| world.whalestack.checkouts.get(&id).map(|c| c.to_json()))
    else {
        return not_found();
    };
    let charge = &c["payload"]["charge"];
    let billing = charge["billingCurrency"]
        .as_str()
        .or(charge["currency"].as_str())
        .unwrap_or("");
    page(
        "Whalestack checkout",
        &id,
        &[
            ("Checkout", escape(&id)),
            ("State", field(&c, "state")),
            ("Billed in", escape(billing)),
            ("Settles in", field(&c, "settlementAssetId")),
            ("Paid so far", field(&c, "sourceAmountReceived")),
        ],
    )
    .into_response()
}

async fn whitestones_intent(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Some(intent) =
        shared.with_world(|world, _| world.whitestones.intents.get(&id).map(|i| i.to_json()))
    else {
        return not_found();
    };
    page(
        "WHITESTONES payment",
        &id,
        &[
            ("Payment", escape(&id)),
            ("Status", field(&intent, "status")),
            ("Amount (minor units)", field(&intent, "amount")),
            ("Currency", field(&intent, "currency")),
            ("Description", field(&intent, "description")),
        ],
    )
    .into_response()
}
