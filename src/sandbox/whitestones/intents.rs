//! WHITESTONES payment intents (payins): `POST /payment_intents` creates one in
//! `requires_payment_method`; the customer's payment (`POST /__sandbox/checkouts/{id}/pay`
//! or auto-pay) moves it to `processing` (payment.processing), and after the payment delay to
//! `succeeded` (payment.succeeded, amount credited) or `failed` (payment.failed: when told
//! to, or when less than the amount was paid). `Idempotency-Key` is honoured.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};

use super::error::WstError;
use super::idempotency::create_once;
use super::list::ListQuery;
use super::{events, input};
use crate::catalog::ProviderKind;
use crate::money::from_minor;
use crate::sandbox::ids;
use crate::sandbox::ledger::Posting;
use crate::sandbox::state::{Ctx, Shared, World};
use crate::sandbox::timers::Due;

/// One payment intent.
#[derive(Debug, Clone)]
pub struct Intent {
    id: String,
    status: &'static str,
    amount: i64,
    currency: String,
    description: Option<String>,
    customer: Option<Map<String, Value>>,
    metadata: Option<Map<String, Value>>,
    return_url: Option<String>,
    cancel_url: Option<String>,
    created: DateTime<Utc>,
    idempotency_key: Option<String>,
    paid: i64,
    payment_url: String,
}

impl Intent {
    /// The intent as `GET /payment_intents/{id}` shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "payment_intent",
            "status": self.status,
            "amount": self.amount,
            "currency": self.currency,
            "description": self.description,
            "customer": self.customer,
            "metadata": self.metadata,
            "return_url": self.return_url,
            "cancel_url": self.cancel_url,
            "client_secret": format!("{}_secret_{}", self.id, &self.id[3..9]),
            "payment_url": self.payment_url,
            "created": self.created.timestamp(),
        })
    }

    fn reference(&self) -> String {
        json!({"description": self.description, "metadata": self.metadata}).to_string()
    }
}

/// Answers with `object`, marking replays of an idempotent request.
pub fn reply(object: Value, replayed: bool) -> Response {
    let mut response = Json(object).into_response();
    if replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            "true".parse().expect("a valid header value"),
        );
    }
    response
}

/// `POST /payment_intents`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WstError> {
    let body = input::object(&body)?;
    let amount = input::amount(&body)?;
    let currency = input::currency(&body)?;
    let key = input::idempotency_key(&headers);
    let description = input::opt_str(&body, "description")?;
    let customer = input::opt_object(&body, "customer")?;
    let metadata = input::opt_object(&body, "metadata")?;
    let return_url = input::opt_str(&body, "return_url")?;
    let cancel_url = input::opt_str(&body, "cancel_url")?;
    let body = Value::Object(body);
    shared.with_world(|world, cx| {
        let (id, replayed) =
            create_once(world, "payment_intents", key.as_deref(), &body, |world| {
                let id = ids::prefixed("pi_", 16);
                let intent = Intent {
                    id: id.clone(),
                    status: "requires_payment_method",
                    amount,
                    currency,
                    description,
                    customer,
                    metadata,
                    return_url,
                    cancel_url,
                    created: cx.now,
                    idempotency_key: key.clone(),
                    paid: 0,
                    payment_url: format!("{}/whitestones/checkout/{id}", cx.origin),
                };
                if let Some(auto) = &cx.config.auto_pay {
                    world
                        .timers
                        .schedule(cx.after(auto.after), Due::AutoPay(id.clone()));
                }
                world.whitestones.intents.insert(id.clone(), intent);
                Ok(id)
            })?;
        let intent = world
            .whitestones
            .intents
            .get(&id)
            .ok_or_else(|| WstError::not_found("payment intent", &id))?;
        Ok(reply(intent.to_json(), replayed))
    })
}

/// `GET /payment_intents?idempotency_key=&limit=&starting_after=`: see [`ListQuery`].
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WstError> {
    let query = ListQuery::parse(&query)?;
    shared.with_world(|world, _| {
        let kept = world
            .whitestones
            .intents
            .newest_first()
            .filter(|o| query.keeps(o.idempotency_key.as_deref(), o.metadata.as_ref()))
            .map(Intent::to_json);
        query.answer(kept).map(Json)
    })
}

/// `GET /payment_intents/{id}`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WstError> {
    shared.with_world(|world, _| {
        let intent = world
            .whitestones
            .intents
            .get(&id)
            .ok_or_else(|| WstError::not_found("payment intent", &id))?;
        Ok(Json(intent.to_json()))
    })
}

/// The customer pays `amount` minor units (the full amount when `None`).
pub fn pay(
    world: &mut World,
    cx: &Ctx<'_>,
    id: &str,
    amount: Option<i64>,
) -> Result<Value, WstError> {
    let intent = world
        .whitestones
        .intents
        .get_mut(id)
        .ok_or_else(|| WstError::not_found("payment intent", id))?;
    if intent.status != "requires_payment_method" {
        return Err(WstError::invalid(format!(
            "payment intent `{id}` is {}",
            intent.status
        )));
    }
    let amount = amount.unwrap_or(intent.amount);
    if amount <= 0 {
        return Err(WstError::invalid("the payment amount must be positive"));
    }
    intent.paid = amount;
    intent.status = "processing";
    let object = intent.to_json();
    world.timers.schedule(
        cx.after(cx.config.delays.payment),
        Due::Payment(id.to_string()),
    );
    events::emit(world, cx, "payment.processing", id, object.clone());
    Ok(object)
}

/// Timer: a processing payment succeeds (and is credited) or fails.
pub fn finish(world: &mut World, cx: &Ctx<'_>, id: &str) {
    let Some(intent) = world.whitestones.intents.get(id) else {
        return;
    };
    if intent.status != "processing" {
        return;
    }
    let short = intent.paid < intent.amount;
    let failed = world.take_forced_failure(id) || short;
    let intent = world
        .whitestones
        .intents
        .get(id)
        .expect("checked above")
        .clone();
    if !failed {
        let amount = from_minor(intent.amount, &intent.currency).unwrap_or_default();
        let reference = intent.reference();
        let posted = world.post(
            cx,
            Posting {
                provider: ProviderKind::Whitestones,
                kind: "payment.credit",
                object_id: id,
                asset: &intent.currency,
                amount,
                idempotency_key: intent.idempotency_key.as_deref(),
                reference: Some(&reference),
            },
        );
        debug_assert!(posted.is_ok(), "a credit cannot be refused");
    }
    let intent = world
        .whitestones
        .intents
        .get_mut(id)
        .expect("checked above");
    intent.status = if failed { "failed" } else { "succeeded" };
    let object = intent.to_json();
    let kind = if failed {
        "payment.failed"
    } else {
        "payment.succeeded"
    };
    events::emit(world, cx, kind, id, object);
}

/// Auto-pay: pays `ratio` of an intent still waiting for its payment.
pub fn auto_pay(world: &mut World, cx: &Ctx<'_>, id: &str, ratio: Decimal) {
    let Some(intent) = world.whitestones.intents.get(id) else {
        return;
    };
    if intent.status != "requires_payment_method" {
        return;
    }
    let amount =
        (Decimal::from(intent.amount) * ratio).round_dp_with_strategy(0, RoundingStrategy::ToZero);
    if let Ok(amount) = i64::try_from(amount)
        && amount > 0
        && let Err(error) = pay(world, cx, id, Some(amount))
    {
        tracing::warn!(payment_intent = id, error = %error.message, "Auto-pay failed.");
    }
}
