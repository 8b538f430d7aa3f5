//! Whitepay conversions: `POST /private-api/balances/{balanceId}` with `currency_to` and
//! `amount_to_convert` debits the balance at once and creates a CONVERT transaction in INIT
//! (`value_to` is 0, as in the seed). After the conversion delay it is PROCESSING, after
//! another one COMPLETED: `value_to` is set (rounded down to the target's precision) and
//! credited. When told to fail it ends FAILED and the debit is returned. Each change is sent
//! as a webhook `{"event_type": "transaction::<status>", "transaction": {…}}`, signed with
//! `Signature` = hex HMAC-SHA256(token, raw body). `GET /private-api/transactions/{id}` reads
//! a transaction back (the seed documents no such path; this is the sandbox's choice).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::currencies::{Currency, VALUE_DP, by_balance_id, by_ticker};
use super::error::WpError;
use crate::catalog::ProviderKind;
use crate::money::{check_scale, parse_amount};
use crate::sandbox::format::{fixed, plain};
use crate::sandbox::ids;
use crate::sandbox::ledger::Posting;
use crate::sandbox::prices::Round;
use crate::sandbox::state::{Ctx, Shared, World};
use crate::sandbox::timers::Due;

/// One CONVERT transaction.
#[derive(Debug, Clone)]
pub struct Conversion {
    id: String,
    status: &'static str,
    from: &'static Currency,
    to: &'static Currency,
    amount: Decimal,
    value_to: Decimal,
    created: DateTime<Utc>,
    completed: Option<DateTime<Utc>>,
}

impl Conversion {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": "CONVERT",
            "currency": self.from.ticker,
            "value": self.amount.normalize().to_string(),
            "status": self.status,
            "hash": null,
            "is_internal": false,
            "created_at": plain(self.created),
            "completed_at": self.completed.map(plain),
            "currency_from": self.from.ticker,
            "value_from": fixed(self.amount, VALUE_DP),
            "currency_to": self.to.ticker,
            "value_to": fixed(self.value_to, VALUE_DP),
        })
    }
}

fn amount(body: &Map<String, Value>, from: &Currency) -> Result<Decimal, WpError> {
    let text = match body.get("amount_to_convert") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        None | Some(Value::Null) => {
            return Err(WpError::invalid(
                "amount_to_convert",
                "The amount to convert field is required.",
            ));
        }
        Some(_) => {
            return Err(WpError::invalid(
                "amount_to_convert",
                "The amount to convert must be a number.",
            ));
        }
    };
    let amount =
        parse_amount(&text).map_err(|e| WpError::invalid("amount_to_convert", e.to_string()))?;
    if amount <= Decimal::ZERO {
        return Err(WpError::invalid(
            "amount_to_convert",
            "The amount to convert must be positive.",
        ));
    }
    check_scale(amount, from.ticker, from.precision)
        .map_err(|e| WpError::invalid("amount_to_convert", e.to_string()))?;
    let min = parse_amount(from.min_exchange).unwrap_or_default();
    if amount < min {
        return Err(WpError::invalid(
            "amount_to_convert",
            format!(
                "The amount to convert must be at least {} {}.",
                from.min_exchange, from.ticker
            ),
        ));
    }
    Ok(amount)
}

fn emit(world: &mut World, id: &str) {
    let Some(t) = world.whitepay.conversions.get(id) else {
        return;
    };
    let event = format!("transaction::{}", t.status.to_ascii_lowercase());
    let body = json!({"event_type": event, "transaction": t.to_json()});
    world.emit(ProviderKind::Whitepay, &event, id, None, &body);
}

/// `POST /private-api/balances/{balanceId}`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    Path(balance_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, WpError> {
    let from = by_balance_id(&balance_id).ok_or_else(WpError::not_found)?;
    let body = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(WpError::invalid(
                "currency_to",
                "The request body must be a JSON object.",
            ));
        }
    };
    let to_ticker = body
        .get("currency_to")
        .and_then(Value::as_str)
        .ok_or_else(|| WpError::invalid("currency_to", "The currency to field is required."))?;
    let to = by_ticker(to_ticker)
        .filter(|c| c.ticker != from.ticker)
        .ok_or_else(|| {
            WpError::invalid(
                "currency_to",
                format!("The selected currency to `{to_ticker}` is invalid."),
            )
        })?;
    let amount = amount(&body, from)?;
    shared.with_world(|world, cx| {
        if cx.prices.rate(from.ticker, to.ticker).is_none() {
            return Err(WpError::invalid(
                "currency_to",
                format!("No rate from {} to {}.", from.ticker, to.ticker),
            ));
        }
        let id = ids::uuid();
        world
            .post(
                cx,
                Posting {
                    provider: ProviderKind::Whitepay,
                    kind: "conversion.debit",
                    object_id: &id,
                    asset: from.ticker,
                    amount: -amount,
                    idempotency_key: None,
                    reference: None,
                },
            )
            .map_err(|e| {
                WpError::invalid(
                    "amount_to_convert",
                    format!(
                        "Insufficient funds: the {} balance is {}.",
                        from.ticker,
                        fixed(e.available, VALUE_DP)
                    ),
                )
            })?;
        let t = Conversion {
            id: id.clone(),
            status: "INIT",
            from,
            to,
            amount,
            value_to: Decimal::ZERO,
            created: cx.now,
            completed: None,
        };
        let out = t.to_json();
        world.whitepay.conversions.insert(id.clone(), t);
        world
            .timers
            .schedule(cx.after(cx.config.delays.conversion), Due::Conversion(id));
        Ok(Json(json!({ "transaction": out })))
    })
}

/// Timer: INIT → PROCESSING → COMPLETED (or FAILED).
pub fn step(world: &mut World, cx: &Ctx<'_>, id: &str) {
    let Some(t) = world.whitepay.conversions.get(id) else {
        return;
    };
    match t.status {
        "INIT" => {
            let t = world
                .whitepay
                .conversions
                .get_mut(id)
                .expect("checked above");
            t.status = "PROCESSING";
            world.timers.schedule(
                cx.after(cx.config.delays.conversion),
                Due::Conversion(id.to_string()),
            );
        }
        "PROCESSING" => {
            let t = t.clone();
            let converted = cx.prices.convert(
                t.amount,
                t.from.ticker,
                t.to.ticker,
                t.to.precision,
                Round::Down,
            );
            let failed =
                world.take_forced_failure(id) || converted.is_none_or(|v| v <= Decimal::ZERO);
            let (kind, asset, amount) = match converted {
                Some(v) if !failed => ("conversion.credit", t.to.ticker, v),
                _ => ("conversion.reversal", t.from.ticker, t.amount),
            };
            let posted = world.post(
                cx,
                Posting {
                    provider: ProviderKind::Whitepay,
                    kind,
                    object_id: id,
                    asset,
                    amount,
                    idempotency_key: None,
                    reference: None,
                },
            );
            debug_assert!(posted.is_ok(), "a credit cannot be refused");
            let t = world
                .whitepay
                .conversions
                .get_mut(id)
                .expect("checked above");
            if failed {
                t.status = "FAILED";
            } else {
                t.status = "COMPLETED";
                t.value_to = amount;
                t.completed = Some(cx.now);
            }
        }
        _ => return,
    }
    emit(world, id);
}

/// `GET /private-api/transactions/{id}`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WpError> {
    shared.with_world(|world, _| {
        let t = world
            .whitepay
            .conversions
            .get(&id)
            .ok_or_else(WpError::not_found)?;
        Ok(Json(json!({ "transaction": t.to_json() })))
    })
}
