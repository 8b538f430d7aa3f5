//! White Payments charges: create (capture now, or authorise with `capture=false`),
//! retrieve, capture, list (newest first, failed charges included).
//!
//! Amounts are integers in the currency's smallest unit (AED 2 decimals, BHD/KWD 3, JPY 0);
//! the minimum is the equivalent of USD 0.50. A captured amount is credited to the merchant
//! balance of that currency. A declined card still creates a charge (state `failed`, with
//! `failure_code`), and the error's `extras.charge` names it. `description` and
//! `metadata[…]` (not in the seed; kept and shown as `metadata`) are how a client finds a
//! charge again by listing, since the API has no idempotency keys. Capturing less than
//! authorised releases the rest; it is not counted as refunded.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{Value, json};

use super::cards::{Behaviour, Card, card_param};
use super::error::WhiteError;
use super::form::Form;
use crate::catalog::ProviderKind;
use crate::money::{from_minor, precision};
use crate::sandbox::format::iso_millis;
use crate::sandbox::ids;
use crate::sandbox::ledger::Posting;
use crate::sandbox::prices::Round;
use crate::sandbox::state::{Ctx, Shared, World};

/// One charge.
#[derive(Debug, Clone)]
pub struct Charge {
    /// `ch_…`.
    pub id: String,
    /// Amount in minor units.
    pub amount: i64,
    /// Currency as given (lower case in the seed).
    pub currency: String,
    description: Option<String>,
    email: Option<String>,
    ip: Option<String>,
    /// `authorized`, `captured`, `partially_refunded`, `refunded` or `failed`.
    pub state: &'static str,
    /// Captured minor units.
    pub captured: i64,
    /// Refunded minor units.
    pub refunded: i64,
    failure_reason: Option<&'static str>,
    failure_code: Option<&'static str>,
    created: DateTime<Utc>,
    /// Last change.
    pub updated: DateTime<Utc>,
    card: Card,
    metadata: BTreeMap<String, String>,
    customer_id: Option<String>,
}

impl Charge {
    /// The charge object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "charge",
            "amount": self.amount,
            "currency": self.currency,
            "description": self.description,
            "email": self.email,
            "ip": self.ip,
            "state": self.state,
            "captured_amount": self.captured,
            "refunded_amount": self.refunded,
            "failure_reason": self.failure_reason,
            "failure_code": self.failure_code,
            "created_at": iso_millis(self.created),
            "updated_at": iso_millis(self.updated),
            "card": self.card.to_json(),
            "customer_id": self.customer_id,
            "metadata": self.metadata,
        })
    }

    /// The currency as a ledger account (upper case).
    pub fn account(&self) -> String {
        self.currency.to_ascii_uppercase()
    }

    /// What the client attached to find this charge again, for the ledger.
    pub fn reference(&self) -> String {
        json!({"description": self.description, "metadata": self.metadata}).to_string()
    }
}

/// Credits a capture of `minor` units of `charge`.
fn credit(world: &mut World, cx: &Ctx<'_>, charge: &Charge, minor: i64) -> Result<(), WhiteError> {
    let amount = from_minor(minor, &charge.currency)
        .map_err(|e| WhiteError::param("invalid_currency", "currency", e.to_string()))?;
    let reference = charge.reference();
    world
        .post(
            cx,
            Posting {
                provider: ProviderKind::White,
                kind: "charge.capture",
                object_id: &charge.id,
                asset: &charge.account(),
                amount,
                idempotency_key: None,
                reference: Some(&reference),
            },
        )
        .map_err(|e| {
            WhiteError::processing(
                StatusCode::INTERNAL_SERVER_ERROR,
                "processing_error",
                e.to_string(),
                json!({}),
            )
        })
}

/// Checks the currency and the USD 0.50 minimum.
fn check_amount(cx: &Ctx<'_>, amount: i64, currency: &str) -> Result<(), WhiteError> {
    let known =
        currency.len() == 3 && precision(currency).is_some() && cx.prices.price(currency).is_some();
    if !known {
        return Err(WhiteError::param(
            "invalid_currency",
            "currency",
            format!("`{currency}` is not a supported currency."),
        ));
    }
    let major = from_minor(amount, currency)
        .map_err(|e| WhiteError::param("invalid_currency", "currency", e.to_string()))?;
    let usd = cx
        .prices
        .convert(major, currency, "USD", 2, Round::Down)
        .unwrap_or_default();
    if usd < dec!(0.50) {
        return Err(WhiteError::param(
            "amount_too_small",
            "amount",
            "The minimum amount is $0.50 or its equivalent in the charge currency.",
        ));
    }
    Ok(())
}

/// `POST /charges`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), WhiteError> {
    let form = Form::parse(&body)?;
    let amount = form
        .positive_int("amount")?
        .ok_or_else(|| WhiteError::param("missing_param", "amount", "`amount` is required."))?;
    let currency = form
        .get("currency")
        .ok_or_else(|| WhiteError::param("missing_param", "currency", "`currency` is required."))?
        .to_string();
    let capture = form.boolean("capture")?.unwrap_or(true);
    if let Some(d) = form.get("statement_descriptor")
        && (d.chars().count() > 37 || !d.chars().all(|c| c.is_ascii_alphanumeric() || c == ' '))
    {
        return Err(WhiteError::param(
            "invalid_statement_descriptor",
            "statement_descriptor",
            "`statement_descriptor` allows at most 37 letters, numbers and spaces.",
        ));
    }
    let metadata = form.group("metadata").cloned().unwrap_or_default();
    shared.with_world(|world, cx| {
        check_amount(cx, amount, &currency)?;
        let customer_id = form.get("customer_id").map(str::to_string);
        let customer = match &customer_id {
            Some(id) => Some(
                world
                    .white
                    .customers
                    .get(id)
                    .ok_or_else(|| WhiteError::not_found("customer", id))?
                    .clone(),
            ),
            None => None,
        };
        let card = match card_param(world, &form)? {
            Some(card) => card,
            None => customer
                .as_ref()
                .and_then(|c| c.default_card().cloned())
                .ok_or_else(|| {
                    WhiteError::param(
                        "missing_param",
                        "card",
                        "Either `card` or the `customer_id` of a customer with a card is required.",
                    )
                })?,
        };
        let email = form
            .get("email")
            .map(str::to_string)
            .or_else(|| customer.map(|c| c.email));
        if email.is_none() {
            return Err(WhiteError::param(
                "missing_param",
                "email",
                "Either `email` or `customer_id` is required.",
            ));
        }
        let mut charge = Charge {
            id: ids::prefixed("ch_", 29),
            amount,
            currency,
            description: form.get("description").map(str::to_string),
            email,
            ip: form.get("ip").map(str::to_string),
            state: if capture { "captured" } else { "authorized" },
            captured: if capture { amount } else { 0 },
            refunded: 0,
            failure_reason: None,
            failure_code: None,
            created: cx.now,
            updated: cx.now,
            card,
            metadata,
            customer_id,
        };
        let failure = match charge.card.behaviour {
            Behaviour::Approve => None,
            Behaviour::Decline => Some(WhiteError::banking(
                "card_declined",
                "The card was declined.",
                json!({ "charge": charge.id }),
            )),
            Behaviour::ProcessingError => Some(WhiteError::processing(
                StatusCode::INTERNAL_SERVER_ERROR,
                "processing_error",
                "An error occurred while processing the card.",
                json!({ "charge": charge.id }),
            )),
        };
        if let Some(error) = failure {
            charge.state = "failed";
            charge.captured = 0;
            charge.failure_code = Some(error.code);
            charge.failure_reason = Some(if error.code == "card_declined" {
                "The card was declined."
            } else {
                "The card could not be processed."
            });
            world.white.charges.insert(charge.id.clone(), charge);
            return Err(error);
        }
        if capture {
            credit(world, cx, &charge, amount)?;
        }
        let out = charge.to_json();
        world.white.charges.insert(charge.id.clone(), charge);
        Ok((StatusCode::CREATED, Json(out)))
    })
}

/// `GET /charges/{id}`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WhiteError> {
    shared.with_world(|world, _| {
        let c = world
            .white
            .charges
            .get(&id)
            .ok_or_else(|| WhiteError::not_found("charge", &id))?;
        Ok(Json(c.to_json()))
    })
}

/// `POST /charges/{id}/capture`, optionally with `amount` (at most the authorised amount).
pub async fn capture(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, WhiteError> {
    let form = Form::parse(&body)?;
    let requested = form.positive_int("amount")?;
    shared.with_world(|world, cx| {
        let charge = world
            .white
            .charges
            .get(&id)
            .ok_or_else(|| WhiteError::not_found("charge", &id))?;
        if charge.state != "authorized" {
            return Err(WhiteError::request(
                "charge_not_authorized",
                format!("Charge `{id}` is {} and cannot be captured.", charge.state),
            ));
        }
        let amount = requested.unwrap_or(charge.amount);
        if amount > charge.amount {
            return Err(WhiteError::param(
                "invalid_amount",
                "amount",
                format!(
                    "Cannot capture {amount}: the charge authorised {}.",
                    charge.amount
                ),
            ));
        }
        let snapshot = charge.clone();
        credit(world, cx, &snapshot, amount)?;
        let charge = world.white.charges.get_mut(&id).expect("read above");
        charge.state = "captured";
        charge.captured = amount;
        charge.updated = cx.now;
        Ok(Json(charge.to_json()))
    })
}

/// `GET /charges`.
pub async fn list(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.with_world(|world, _| {
        let items: Vec<Value> = world
            .white
            .charges
            .newest_first()
            .map(Charge::to_json)
            .collect();
        Json(json!({ "charges": items }))
    })
}

/// The major-unit amount of `minor` in `currency`, for messages and the ledger.
pub fn major(minor: i64, currency: &str) -> Decimal {
    from_minor(minor, currency).unwrap_or_default()
}
