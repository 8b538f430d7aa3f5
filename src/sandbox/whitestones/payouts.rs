//! WHITESTONES payouts: `POST /payouts` debits the amount and the fee from the balance of
//! that currency and creates the payout in `pending` (payout.created); after the payout delay
//! it is `completed` (payout.completed) or `failed` (payout.failed, amount and fee returned).
//! It fails when told to, or when the recipient's name starts with `fail`. A payout larger
//! than the balance is refused (400 `insufficient_funds`) and moves nothing.
//! `Idempotency-Key` is honoured: a replay returns the first payout and debits nothing.
//! The fee is a percentage of the amount rounded down to a minor unit (the seed shows 25 on
//! 5000); `estimated_arrival` is the creation time plus the payout delay.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};

use super::error::WstError;
use super::idempotency::create_once;
use super::intents::reply;
use super::list::ListQuery;
use super::{events, input};
use crate::catalog::ProviderKind;
use crate::money::from_minor;
use crate::sandbox::format::iso_secs;
use crate::sandbox::ids;
use crate::sandbox::ledger::Posting;
use crate::sandbox::state::{Ctx, Shared, World};
use crate::sandbox::timers::Due;

/// One payout.
#[derive(Debug, Clone)]
pub struct Payout {
    id: String,
    status: &'static str,
    amount: i64,
    currency: String,
    recipient: Map<String, Value>,
    description: Option<String>,
    metadata: Option<Map<String, Value>>,
    fee: i64,
    created: DateTime<Utc>,
    arrival: DateTime<Utc>,
    idempotency_key: Option<String>,
    failure_reason: Option<&'static str>,
}

impl Payout {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "payout",
            "status": self.status,
            "amount": self.amount,
            "currency": self.currency,
            "recipient": self.recipient,
            "description": self.description,
            "metadata": self.metadata,
            "estimated_arrival": iso_secs(self.arrival),
            "fee": self.fee,
            "failure_reason": self.failure_reason,
            "created": self.created.timestamp(),
        })
    }

    fn reference(&self) -> String {
        json!({"description": self.description, "metadata": self.metadata}).to_string()
    }

    fn post(
        &self,
        world: &mut World,
        cx: &Ctx<'_>,
        kind: &'static str,
        minor: i64,
    ) -> Result<(), WstError> {
        let amount =
            from_minor(minor, &self.currency).map_err(|e| WstError::invalid(e.to_string()))?;
        let reference = self.reference();
        world
            .post(
                cx,
                Posting {
                    provider: ProviderKind::Whitestones,
                    kind,
                    object_id: &self.id,
                    asset: &self.currency,
                    amount,
                    idempotency_key: self.idempotency_key.as_deref(),
                    reference: Some(&reference),
                },
            )
            .map_err(|e| {
                WstError::new(
                    StatusCode::BAD_REQUEST,
                    "insufficient_funds",
                    format!(
                        "insufficient funds: the {} balance is {}, the payout needs {}",
                        self.currency, e.available, e.needed
                    ),
                )
            })
    }
}

fn recipient(body: &Map<String, Value>) -> Result<Map<String, Value>, WstError> {
    let r = input::opt_object(body, "recipient")?
        .ok_or_else(|| WstError::invalid("`recipient` is required"))?;
    match r.get("type").and_then(Value::as_str) {
        Some("individual" | "business") => {}
        _ => {
            return Err(WstError::invalid(
                "`recipient.type` must be `individual` or `business`",
            ));
        }
    }
    if r.get("name")
        .and_then(Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(WstError::invalid("`recipient.name` is required"));
    }
    let bank = r.get("bank_account").and_then(Value::as_object);
    let wallet = r.get("wallet").and_then(Value::as_object);
    let has_account = bank.is_some_and(|b| {
        b.get("account_number")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty())
    });
    if !has_account && wallet.is_none() {
        return Err(WstError::invalid(
            "`recipient.bank_account.account_number` (or a `recipient.wallet`) is required",
        ));
    }
    Ok(r)
}

/// `POST /payouts`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WstError> {
    let body = input::object(&body)?;
    let amount = input::amount(&body)?;
    let currency = input::currency(&body)?;
    let recipient = recipient(&body)?;
    let description = input::opt_str(&body, "description")?;
    let metadata = input::opt_object(&body, "metadata")?;
    let key = input::idempotency_key(&headers);
    let body = Value::Object(body);
    shared.with_world(|world, cx| {
        let (id, replayed) = create_once(world, "payouts", key.as_deref(), &body, |world| {
            let fee = (Decimal::from(amount) * cx.config.fees.payout_percent / Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(0, RoundingStrategy::ToZero);
            let payout = Payout {
                id: ids::prefixed("po_", 16),
                status: "pending",
                amount,
                currency,
                recipient,
                description,
                metadata,
                fee: i64::try_from(fee).unwrap_or_default(),
                created: cx.now,
                arrival: cx.after(cx.config.delays.payout),
                idempotency_key: key.clone(),
                failure_reason: None,
            };
            let total = payout.amount + payout.fee;
            let available = world.books.balance(ProviderKind::Whitestones, &payout.currency);
            let needed = from_minor(total, &payout.currency).unwrap_or_default();
            if available < needed {
                return Err(WstError::new(
                    StatusCode::BAD_REQUEST,
                    "insufficient_funds",
                    format!("insufficient funds: the {} balance is {available}, the payout and its fee need {needed}", payout.currency),
                ));
            }
            payout.post(world, cx, "payout.debit", -payout.amount)?;
            if payout.fee > 0 {
                payout.post(world, cx, "payout.fee", -payout.fee)?;
            }
            let id = payout.id.clone();
            let object = payout.to_json();
            world.whitestones.payouts.insert(id.clone(), payout);
            world.timers.schedule(cx.after(cx.config.delays.payout), Due::Payout(id.clone()));
            events::emit(world, cx, "payout.created", &id, object);
            Ok(id)
        })?;
        let payout = world.whitestones.payouts.get(&id).ok_or_else(|| WstError::not_found("payout", &id))?;
        Ok(reply(payout.to_json(), replayed))
    })
}

/// `GET /payouts?idempotency_key=&limit=&starting_after=`: see [`ListQuery`].
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WstError> {
    let query = ListQuery::parse(&query)?;
    shared.with_world(|world, _| {
        let kept = world
            .whitestones
            .payouts
            .newest_first()
            .filter(|o| query.keeps(o.idempotency_key.as_deref(), o.metadata.as_ref()))
            .map(Payout::to_json);
        query.answer(kept).map(Json)
    })
}

/// `GET /payouts/{id}`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WstError> {
    shared.with_world(|world, _| {
        let payout = world
            .whitestones
            .payouts
            .get(&id)
            .ok_or_else(|| WstError::not_found("payout", &id))?;
        Ok(Json(payout.to_json()))
    })
}

/// Timer: a pending payout completes, or fails and is refunded.
pub fn finish(world: &mut World, cx: &Ctx<'_>, id: &str) {
    let Some(p) = world.whitestones.payouts.get(id) else {
        return;
    };
    if p.status != "pending" {
        return;
    }
    let by_name = p
        .recipient
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.trim().to_ascii_lowercase().starts_with("fail"));
    let failed = world.take_forced_failure(id) || by_name;
    let p = world
        .whitestones
        .payouts
        .get(id)
        .expect("checked above")
        .clone();
    if failed {
        let refunded = p
            .post(world, cx, "payout.reversal", p.amount)
            .and_then(|()| {
                if p.fee > 0 {
                    p.post(world, cx, "payout.fee_reversal", p.fee)
                } else {
                    Ok(())
                }
            });
        debug_assert!(refunded.is_ok(), "a credit cannot be refused");
    }
    let p = world
        .whitestones
        .payouts
        .get_mut(id)
        .expect("checked above");
    if failed {
        p.status = "failed";
        p.failure_reason = Some("recipient_rejected");
    } else {
        p.status = "completed";
    }
    let object = p.to_json();
    let kind = if failed {
        "payout.failed"
    } else {
        "payout.completed"
    };
    events::emit(world, cx, kind, id, object);
}
