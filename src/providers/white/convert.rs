//! Minor units to decimals and back (exactly, through `money`), White states to
//! [`NormalizedState`]s, and answers to [`Output`]s.
//!
//! Minor units appear only here and in [`super::wire`]. An amount with more decimals than
//! its currency has is refused before sending (`12.345 AED`), never rounded.

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::wire::{ChargeState, ChargeWire, RefundWire};
use crate::money;
use crate::providers::error::ProviderError;
use crate::providers::fields::With;
use crate::providers::output::{NormalizedState, Output, State, Unit};
use crate::providers::shape::ShapeError;

/// `amount` of `currency` in minor units.
///
/// # Errors
/// [`ProviderError::Invalid`] for excess precision, an unknown currency or an overflow.
pub(super) fn to_minor(
    w: &With<'_>,
    field: &str,
    amount: Decimal,
    currency: &str,
) -> Result<i64, ProviderError> {
    money::to_minor(amount, currency).map_err(|e| w.money_error(field, e))
}

fn from_minor(minor: Option<i64>, currency: &str) -> Option<Decimal> {
    money::from_minor(minor?, currency).ok()
}

fn text(amount: Option<Decimal>) -> Value {
    amount.map_or(Value::Null, |a| Value::String(a.to_string()))
}

/// A charge state's meaning. An authorisation waits for our capture; a refunded charge did
/// succeed (its refunds are their own objects).
pub(super) fn charge_state(s: &ChargeState) -> NormalizedState {
    match s {
        ChargeState::Authorized => NormalizedState::RequiresAction,
        ChargeState::Captured | ChargeState::Refunded | ChargeState::PartiallyRefunded => {
            NormalizedState::Succeeded
        }
        ChargeState::Failed => NormalizedState::Failed,
        ChargeState::Unknown(state) => {
            tracing::warn!(provider_kind = "white", object = "charge", state = %state, "Unknown provider state, treated as pending.");
            NormalizedState::Pending
        }
    }
}

/// A charge object (an answer, or an item of a list).
pub(super) fn charge(item: &Value, raw: Value) -> Result<(Output, ChargeState), ShapeError> {
    let w: ChargeWire =
        serde_json::from_value(item.clone()).map_err(ShapeError::object("charge"))?;
    let currency = w.currency.to_ascii_uppercase();
    let state = ChargeState::parse(&w.state);
    let mut fields = Map::new();
    fields.insert(
        "captured_amount".into(),
        text(from_minor(w.captured_amount, &currency)),
    );
    fields.insert(
        "refunded_amount".into(),
        text(from_minor(w.refunded_amount, &currency)),
    );
    for (k, v) in [
        ("description", w.description),
        ("failure_reason", w.failure_reason),
        ("failure_code", w.failure_code),
    ] {
        if let Some(v) = v {
            fields.insert(k.into(), v.into());
        }
    }
    let output = Output {
        id: Some(w.id),
        state: State::reported(&w.state, charge_state(&state)),
        amount: from_minor(Some(w.amount), &currency),
        unit: Some(Unit::Currency(currency)),
        fee: None,
        fields,
        raw,
    };
    Ok((output, state))
}

/// A refund answer. Its amount is shown in decimals when the step named the currency.
pub(super) fn refund(answer: &Value, currency: Option<&str>) -> Result<Output, ShapeError> {
    let w: RefundWire =
        serde_json::from_value(answer.clone()).map_err(ShapeError::object("refund"))?;
    let mut out = Output::new(State::implied(NormalizedState::Succeeded), answer.clone());
    out.id = Some(w.id);
    if let Some(c) = currency {
        let c = c.to_ascii_uppercase();
        out.amount = from_minor(Some(w.amount), &c);
        out.unit = Some(Unit::Currency(c));
    }
    out.fields.insert("amount_minor".into(), w.amount.into());
    for (k, v) in [("reason", w.reason), ("charge_id", w.charge_id)] {
        if let Some(v) = v {
            out.fields.insert(k.into(), v.into());
        }
    }
    if let Some(state) = answer.pointer("/charge/state").and_then(Value::as_str) {
        out.fields.insert("charge_state".into(), state.into());
    }
    Ok(out)
}

/// A customer object (no state: existing is success).
pub(super) fn customer(item: &Value, raw: Value) -> Result<Output, ShapeError> {
    let id = item
        .get("id")
        .and_then(Value::as_str)
        .ok_or(ShapeError::NoId {
            object: Some("customer"),
        })?;
    let mut out = Output::new(State::implied(NormalizedState::Succeeded), raw);
    out.id = Some(id.to_string());
    if let Some(email) = item.get("email").and_then(Value::as_str) {
        out.fields.insert("email".into(), email.into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    #[test]
    fn states_and_minor_units_convert_exactly() {
        use NormalizedState::*;
        for (s, n) in [
            ("authorized", RequiresAction),
            ("captured", Succeeded),
            ("refunded", Succeeded),
            ("partially_refunded", Succeeded),
            ("failed", Failed),
            ("disputed", Pending),
        ] {
            assert_eq!(charge_state(&ChargeState::parse(s)), n, "{s}");
        }
        let raw = json!({
            "id": "ch_1", "object": "charge", "amount": 1000, "currency": "bhd",
            "state": "captured", "captured_amount": 1000, "refunded_amount": 250,
            "description": "x [sluice:k]", "failure_reason": null, "failure_code": null
        });
        let (out, state) = charge(&raw, raw.clone()).unwrap();
        assert_eq!(state, ChargeState::Captured);
        assert_eq!(out.amount, Some(dec!(1.000)));
        let j = out.to_json();
        assert_eq!(j["amount"], "1.000");
        assert_eq!(j["currency"], "BHD");
        assert_eq!(j["refunded_amount"], "0.250");
        let r = refund(
            &json!({"id": "re_1", "amount": 500, "charge_id": "ch_1",
                               "charge": {"state": "partially_refunded"}}),
            Some("aed"),
        )
        .unwrap();
        assert_eq!(r.to_json()["amount"], "5.00");
        assert_eq!(r.to_json()["charge_state"], "partially_refunded");
        assert!(charge(&json!({"id": "x"}), Value::Null).is_err());
    }
}
