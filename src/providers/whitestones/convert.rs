//! Minor units to decimals and back (exactly, through `money`), WHITESTONES statuses to
//! [`NormalizedState`]s, and answers to [`Output`]s.
//!
//! Minor units appear only here. A payment intent's `client_secret` is meant for the
//! paying customer's browser, not for sluice's store: it is masked in `raw`.

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::wire::{IntentStatus, IntentWire, PayoutStatus, PayoutWire};
use crate::money;
use crate::providers::error::ProviderError;
use crate::providers::fields::With;
use crate::providers::output::{NormalizedState, Output, State, Unit};
use crate::providers::preview::MASKED;
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

fn unknown(object: &str, status: &str) -> NormalizedState {
    tracing::warn!(
        provider_kind = "whitestones",
        object,
        status,
        "Unknown provider state, treated as pending."
    );
    NormalizedState::Pending
}

/// A payment intent status's meaning: waiting for the customer is pending, waiting for us
/// (authentication, capture) requires action.
pub(super) fn intent_state(s: &IntentStatus) -> NormalizedState {
    match s {
        IntentStatus::RequiresPaymentMethod | IntentStatus::RequiresConfirmation => {
            NormalizedState::Pending
        }
        IntentStatus::RequiresAction | IntentStatus::RequiresCapture => {
            NormalizedState::RequiresAction
        }
        IntentStatus::Processing => NormalizedState::Processing,
        IntentStatus::Succeeded => NormalizedState::Succeeded,
        IntentStatus::Failed | IntentStatus::Canceled => NormalizedState::Failed,
        IntentStatus::Unknown(s) => unknown("payment_intent", s),
    }
}

/// A payout status's meaning.
pub(super) fn payout_state(s: &PayoutStatus) -> NormalizedState {
    match s {
        PayoutStatus::Pending => NormalizedState::Pending,
        PayoutStatus::Processing | PayoutStatus::InTransit => NormalizedState::Processing,
        PayoutStatus::Completed => NormalizedState::Succeeded,
        PayoutStatus::Failed | PayoutStatus::Canceled => NormalizedState::Failed,
        PayoutStatus::Unknown(s) => unknown("payout", s),
    }
}

fn masked(mut raw: Value) -> Value {
    if let Some(secret) = raw.get_mut("client_secret").filter(|s| !s.is_null()) {
        *secret = Value::String(MASKED.into());
    }
    raw
}

/// A payment intent object.
pub(super) fn intent(item: &Value) -> Result<(Output, IntentStatus), ShapeError> {
    let w: IntentWire =
        serde_json::from_value(item.clone()).map_err(ShapeError::object("payment intent"))?;
    let currency = w.currency.to_ascii_uppercase();
    let status = IntentStatus::parse(&w.status);
    let mut fields = Map::new();
    if let Some(url) = w.payment_url {
        fields.insert("payment_url".into(), url.into());
    }
    if let Some(created) = w.created {
        fields.insert("created".into(), created.into());
    }
    let output = Output {
        id: Some(w.id),
        state: State::reported(&w.status, intent_state(&status)),
        amount: from_minor(Some(w.amount), &currency),
        unit: Some(Unit::Currency(currency)),
        fee: None,
        fields,
        raw: masked(item.clone()),
    };
    Ok((output, status))
}

/// A payout object; its `fee` is in the payout's currency.
pub(super) fn payout(item: &Value) -> Result<(Output, PayoutStatus), ShapeError> {
    let w: PayoutWire =
        serde_json::from_value(item.clone()).map_err(ShapeError::object("payout"))?;
    let currency = w.currency.to_ascii_uppercase();
    let status = PayoutStatus::parse(&w.status);
    let mut fields = Map::new();
    if let Some(eta) = w.estimated_arrival {
        fields.insert("estimated_arrival".into(), eta.into());
    }
    if let Some(created) = w.created {
        fields.insert("created".into(), created.into());
    }
    let output = Output {
        id: Some(w.id),
        state: State::reported(&w.status, payout_state(&status)),
        amount: from_minor(Some(w.amount), &currency),
        fee: from_minor(w.fee, &currency),
        unit: Some(Unit::Currency(currency)),
        fields,
        raw: item.clone(),
    };
    Ok((output, status))
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    #[test]
    fn statuses_map_and_seed_answers_convert() {
        use NormalizedState::*;
        for (s, n) in [
            ("requires_payment_method", Pending),
            ("requires_confirmation", Pending),
            ("requires_action", RequiresAction),
            ("requires_capture", RequiresAction),
            ("processing", Processing),
            ("succeeded", Succeeded),
            ("failed", Failed),
            ("canceled", Failed),
            ("on_hold", Pending),
        ] {
            assert_eq!(intent_state(&IntentStatus::parse(s)), n, "{s}");
        }
        for (s, n) in [
            ("pending", Pending),
            ("processing", Processing),
            ("in_transit", Processing),
            ("completed", Succeeded),
            ("failed", Failed),
            ("canceled", Failed),
            ("returned", Pending),
        ] {
            assert_eq!(payout_state(&PayoutStatus::parse(s)), n, "{s}");
        }
        let (pi, _) = intent(&json!({
            "id": "pi_1234567890", "status": "requires_payment_method", "amount": 1000,
            "currency": "USD", "client_secret": "pi_1234567890_secret_abc123",
            "payment_url": "https://checkout.whitestones.com/pi_1234567890", "created": 1640995200
        }))
        .unwrap();
        let j = pi.to_json();
        assert_eq!(j["amount"], "10.00");
        assert_eq!(j["state"], "pending");
        assert_eq!(
            j["payment_url"],
            "https://checkout.whitestones.com/pi_1234567890"
        );
        assert_eq!(j["raw"]["client_secret"], "***");
        let (po, status) = payout(&json!({
            "id": "po_9876543210", "status": "pending", "amount": 5000, "currency": "USD",
            "estimated_arrival": "2024-01-15T10:00:00Z", "fee": 25, "created": 1640995200
        }))
        .unwrap();
        assert_eq!(status, PayoutStatus::Pending);
        assert_eq!(po.amount, Some(dec!(50.00)));
        assert_eq!(po.fee, Some(dec!(0.25)));
    }
}
