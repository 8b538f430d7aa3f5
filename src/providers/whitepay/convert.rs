//! Whitepay transaction statuses to [`NormalizedState`]s, and answers to [`Output`]s.

use serde_json::{Map, Value};

use super::wire::{TransactionStatus, TransactionWire};
use crate::providers::fields::decimal;
use crate::providers::output::{NormalizedState, Output, State, Unit};
use crate::providers::shape::ShapeError;

/// A transaction status's meaning.
pub(super) fn transaction_state(s: &TransactionStatus) -> NormalizedState {
    match s {
        TransactionStatus::Init => NormalizedState::Pending,
        TransactionStatus::Pending | TransactionStatus::Processing => NormalizedState::Processing,
        TransactionStatus::Complete => NormalizedState::Succeeded,
        TransactionStatus::Failed | TransactionStatus::Declined | TransactionStatus::Canceled => {
            NormalizedState::Failed
        }
        TransactionStatus::Unknown(status) => {
            tracing::warn!(provider_kind = "whitepay", object = "transaction", status = %status, "Unknown provider state, treated as pending.");
            NormalizedState::Pending
        }
    }
}

/// An amount as template text, `null` when absent.
pub(super) fn text(v: Option<&Value>) -> Value {
    decimal(v).map_or(Value::Null, |d| Value::String(d.to_string()))
}

/// A transaction answer (`{"transaction": {...}}`, or the object itself). For a conversion
/// the amount is what leaves the source balance; `target_amount` what arrives (zero until
/// the conversion completes).
pub(super) fn transaction(answer: &Value) -> Result<Output, ShapeError> {
    let item = answer.get("transaction").unwrap_or(answer);
    let w: TransactionWire =
        serde_json::from_value(item.clone()).map_err(ShapeError::object("transaction"))?;
    let status = TransactionStatus::parse(&w.status);
    let mut fields = Map::new();
    fields.insert("target_amount".into(), text(w.value_to.as_ref()));
    for (k, v) in [
        ("target_asset", w.currency_to),
        ("type", w.kind),
        ("created_at", w.created_at),
        ("completed_at", w.completed_at),
    ] {
        if let Some(v) = v {
            fields.insert(k.into(), v.into());
        }
    }
    Ok(Output {
        id: Some(w.id),
        state: State::reported(&w.status, transaction_state(&status)),
        amount: decimal(w.value_from.as_ref()).or_else(|| decimal(w.value.as_ref())),
        unit: w.currency_from.or(w.currency).map(Unit::Asset),
        fee: None,
        fields,
        raw: answer.clone(),
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    #[test]
    fn seed_conversion_answer_converts() {
        use NormalizedState::*;
        for (s, n) in [
            ("INIT", Pending),
            ("PENDING", Processing),
            ("PROCESSING", Processing),
            ("COMPLETE", Succeeded),
            ("COMPLETED", Succeeded),
            ("FAILED", Failed),
            ("DECLINED", Failed),
            ("CANCELED", Failed),
            ("HELD", Pending),
        ] {
            assert_eq!(transaction_state(&TransactionStatus::parse(s)), n, "{s}");
        }
        let out = transaction(&json!({"transaction": {
            "id": "85fec40f-b4df-4b52-a725-6cffdea4cf0e", "type": "CONVERT", "currency": "DOGE",
            "value": "40", "status": "INIT", "hash": null, "is_internal": false,
            "created_at": "2024-07-11 09:36:46", "completed_at": null, "currency_from": "DOGE",
            "value_from": "40.00000000", "currency_to": "USDT", "value_to": "0.00000000"
        }}))
        .unwrap();
        assert_eq!(out.amount, Some(dec!(40.00000000)));
        let j = out.to_json();
        assert_eq!(j["asset"], "DOGE");
        assert_eq!(j["target_asset"], "USDT");
        assert_eq!(j["target_amount"], "0.00000000");
        assert_eq!(j["state"], "pending");
        assert_eq!(j["provider_state"], "INIT");
    }
}
