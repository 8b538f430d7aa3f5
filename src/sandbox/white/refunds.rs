//! White Payments refunds, full or partial, several per charge, up to what was captured.
//! Each refund debits the merchant balance of the charge's currency.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::charges::{Charge, major};
use super::error::WhiteError;
use super::form::Form;
use crate::catalog::ProviderKind;
use crate::sandbox::format::iso_millis;
use crate::sandbox::ids;
use crate::sandbox::ledger::Posting;
use crate::sandbox::state::Shared;

/// One refund.
#[derive(Debug, Clone)]
pub struct Refund {
    id: String,
    amount: i64,
    created: DateTime<Utc>,
    reason: Option<String>,
    /// The refunded charge.
    pub charge_id: String,
}

impl Refund {
    fn to_json(&self, charge: &Charge) -> Value {
        json!({
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "created_at": iso_millis(self.created),
            "reason": self.reason,
            "charge_id": self.charge_id,
            "charge": {
                "id": charge.id,
                "object": "charge",
                "captured_amount": charge.captured,
                "refunded_amount": charge.refunded,
                "state": charge.state,
            },
        })
    }
}

const REASONS: &[&str] = &["duplicate", "fraudulent", "requested_by_customer"];

/// `POST /charges/{id}/refunds` with optional `amount` (default: all that is left) and
/// `reason`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), WhiteError> {
    let form = Form::parse(&body)?;
    let requested = form.positive_int("amount")?;
    let reason = form.get("reason").map(str::to_string);
    if let Some(r) = &reason
        && !REASONS.contains(&r.as_str())
    {
        return Err(WhiteError::param(
            "invalid_reason",
            "reason",
            format!("`reason` must be one of {}.", REASONS.join(", ")),
        ));
    }
    shared.with_world(|world, cx| {
        let charge = world
            .white
            .charges
            .get(&id)
            .ok_or_else(|| WhiteError::not_found("charge", &id))?
            .clone();
        if !matches!(charge.state, "captured" | "partially_refunded") {
            return Err(WhiteError::request(
                "charge_not_refundable",
                format!("Charge `{id}` is {} and cannot be refunded.", charge.state),
            ));
        }
        let left = charge.captured - charge.refunded;
        let amount = requested.unwrap_or(left);
        if amount > left {
            return Err(WhiteError::param(
                "invalid_amount",
                "amount",
                format!("Cannot refund {amount}: only {left} of the charge is left to refund."),
            ));
        }
        let refund = Refund {
            id: ids::prefixed("re_", 24),
            amount,
            created: cx.now,
            reason: reason.clone(),
            charge_id: id.clone(),
        };
        world
            .post(
                cx,
                Posting {
                    provider: ProviderKind::White,
                    kind: "refund",
                    object_id: &refund.id,
                    asset: &charge.account(),
                    amount: -major(amount, &charge.currency),
                    idempotency_key: None,
                    reference: Some(&charge.id),
                },
            )
            .map_err(|e| {
                WhiteError::processing(
                    StatusCode::PAYMENT_REQUIRED,
                    "insufficient_balance",
                    e.to_string(),
                    json!({}),
                )
            })?;
        let charge = world.white.charges.get_mut(&id).expect("read above");
        charge.refunded += amount;
        charge.state = if charge.refunded == charge.captured {
            "refunded"
        } else {
            "partially_refunded"
        };
        charge.updated = cx.now;
        let out = refund.to_json(charge);
        world.white.refunds.insert(refund.id.clone(), refund);
        Ok((StatusCode::CREATED, Json(out)))
    })
}

/// `GET /charges/{id}/refunds`.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WhiteError> {
    shared.with_world(|world, _| {
        let charge = world
            .white
            .charges
            .get(&id)
            .ok_or_else(|| WhiteError::not_found("charge", &id))?;
        let items: Vec<Value> = world
            .white
            .refunds
            .newest_first()
            .filter(|r| r.charge_id == id)
            .map(|r| r.to_json(charge))
            .collect();
        Ok(Json(json!({ "refunds": items })))
    })
}
