//! Whalestack answers to [`Output`]s, and Whalestack states to [`NormalizedState`]s.
//!
//! State mapping is exhaustive over the documented strings. A string the docs do not list
//! maps to `pending` with a warning: an await keeps waiting (and times out loudly) rather
//! than treating an unknown state as success or failure, and a two-phase commit refuses
//! to commit an object in an unknown state.

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::wire::{
    CheckoutState, CheckoutWire, CommitState, DepositState, DepositWire, SwapWire, TransferWire,
};
use crate::providers::fields::decimal;
use crate::providers::output::{NormalizedState, Output, State, Unit};
use crate::providers::shape::ShapeError;

fn unknown(kind: &str, state: &str) -> NormalizedState {
    tracing::warn!(
        provider_kind = "whalestack",
        object = kind,
        state,
        "Unknown provider state, treated as pending."
    );
    NormalizedState::Pending
}

/// A checkout state's meaning. `UNRESOLVED_*` and `RESOLVED_OTHER` need an operator's
/// eye (the docs leave the outcome open); refunds and expiry mean no money was kept.
pub(super) fn checkout_state(s: &CheckoutState) -> NormalizedState {
    match s {
        CheckoutState::PendingCharge | CheckoutState::NewCharge => NormalizedState::Pending,
        CheckoutState::InProgress => NormalizedState::Processing,
        CheckoutState::Completed => NormalizedState::Succeeded,
        CheckoutState::Expired | CheckoutState::Refunded | CheckoutState::ResolvedRefunded => {
            NormalizedState::Failed
        }
        CheckoutState::UnresolvedGeneric
        | CheckoutState::UnresolvedUnderpaid
        | CheckoutState::ResolvedOther => NormalizedState::RequiresAction,
        CheckoutState::Unknown(s) => unknown("checkout", s),
    }
}

/// A swap or transfer state's meaning: `PENDING_API_COMMIT` waits for our commit.
pub(super) fn commit_state(object: &str, s: &CommitState) -> NormalizedState {
    match s {
        CommitState::PendingApiCommit => NormalizedState::RequiresAction,
        CommitState::Processing => NormalizedState::Processing,
        CommitState::Completed => NormalizedState::Succeeded,
        CommitState::Failed => NormalizedState::Failed,
        CommitState::Unknown(s) => unknown(object, s),
    }
}

/// A deposit state's meaning.
pub(super) fn deposit_state(s: &DepositState) -> NormalizedState {
    match s {
        DepositState::PendingExternal => NormalizedState::Pending,
        DepositState::Processing => NormalizedState::Processing,
        DepositState::Completed => NormalizedState::Succeeded,
        DepositState::Failed => NormalizedState::Failed,
        DepositState::Unknown(s) => unknown("deposit", s),
    }
}

/// `answer[envelope]` as a DTO.
fn object<T: DeserializeOwned>(answer: &Value, envelope: &'static str) -> Result<T, ShapeError> {
    let inner = answer
        .get(envelope)
        .ok_or(ShapeError::NoEnvelope { envelope })?;
    serde_json::from_value(inner.clone()).map_err(ShapeError::enveloped(envelope))
}

/// An amount as template text, `null` when absent.
pub(super) fn text(amount: Option<Decimal>) -> Value {
    amount.map_or(Value::Null, |a| Value::String(a.to_string()))
}

fn put(fields: &mut Map<String, Value>, key: &str, value: Option<String>) {
    if let Some(v) = value {
        fields.insert(key.to_string(), Value::String(v));
    }
}

/// A swap or transfer with its state and quote expiry.
#[derive(Debug, Clone)]
pub(super) struct TwoPhase {
    pub(super) output: Output,
    pub(super) state: CommitState,
    pub(super) expire_time: Option<String>,
}

/// A `{"swap": {...}}` answer. The amount is the source amount; the target side is in
/// `target_amount`/`target_asset`.
pub(super) fn swap(answer: &Value) -> Result<TwoPhase, ShapeError> {
    let w: SwapWire = object(answer, "swap")?;
    let state = CommitState::parse(&w.state);
    let source_asset = w.source_asset_id.or(w.source_asset_issuer);
    let target_asset = w.target_asset_id.or(w.target_asset_issuer);
    let mut fields = Map::new();
    fields.insert(
        "source_amount".into(),
        text(decimal(w.source_amount.as_ref())),
    );
    put(&mut fields, "source_asset", source_asset.clone());
    fields.insert(
        "target_amount".into(),
        text(decimal(w.target_amount.as_ref())),
    );
    put(&mut fields, "target_asset", target_asset);
    put(&mut fields, "type", w.kind);
    put(&mut fields, "expire_time", w.expire_time.clone());
    let output = Output {
        id: Some(w.id),
        state: State::reported(&w.state, commit_state("swap", &state)),
        amount: decimal(w.source_amount.as_ref()),
        unit: source_asset.map(Unit::Asset),
        fee: None,
        fields,
        raw: answer.clone(),
    };
    Ok(TwoPhase {
        output,
        state,
        expire_time: w.expire_time,
    })
}

/// A `{"transfer": {...}}` answer. The amount is the gross amount debited, the fee the
/// network fee; the beneficiary's net amount is `target_amount`.
pub(super) fn transfer(answer: &Value) -> Result<TwoPhase, ShapeError> {
    let w: TransferWire = object(answer, "transfer")?;
    let state = CommitState::parse(&w.state);
    let mut fields = Map::new();
    fields.insert(
        "target_amount".into(),
        text(decimal(w.target_amount_net.as_ref())),
    );
    put(&mut fields, "target_asset", w.target_asset);
    put(&mut fields, "fee_asset", w.network_fee_asset);
    put(&mut fields, "network", w.network);
    put(&mut fields, "note", w.note);
    put(&mut fields, "expire_time", w.expire_time.clone());
    let output = Output {
        id: Some(w.id),
        state: State::reported(&w.state, commit_state("transfer", &state)),
        amount: decimal(w.source_amount_gross.as_ref()),
        unit: w.source_asset.map(Unit::Asset),
        fee: decimal(w.network_fee_amount.as_ref()),
        fields,
        raw: answer.clone(),
    };
    Ok(TwoPhase {
        output,
        state,
        expire_time: w.expire_time,
    })
}

/// A checkout object (the `checkout` of `GET /checkout` or of a list). The amount is the
/// settlement amount required, `amount_received` what was credited so far.
pub(super) fn checkout_object(
    item: &Value,
    raw: Value,
) -> Result<(Output, CheckoutState), ShapeError> {
    let w: CheckoutWire =
        serde_json::from_value(item.clone()).map_err(ShapeError::enveloped("checkout"))?;
    let state = CheckoutState::parse(&w.state);
    let mut fields = Map::new();
    fields.insert(
        "amount_received".into(),
        text(decimal(w.settlement_amount_received.as_ref())),
    );
    fields.insert(
        "source_amount_required".into(),
        text(decimal(w.source_amount_required.as_ref())),
    );
    fields.insert(
        "source_amount_received".into(),
        text(decimal(w.source_amount_received.as_ref())),
    );
    put(&mut fields, "source_asset", w.source_asset_id);
    put(&mut fields, "url", w.hosted_checkout_url);
    let output = Output {
        id: Some(w.id),
        state: State::reported(&w.state, checkout_state(&state)),
        amount: decimal(w.settlement_amount_required.as_ref()),
        unit: w.settlement_asset_id.map(Unit::Asset),
        fee: decimal(w.settlement_amount_fee_paid.as_ref()),
        fields,
        raw,
    };
    Ok((output, state))
}

/// A `{"checkout": {...}}` answer.
pub(super) fn checkout(answer: &Value) -> Result<(Output, CheckoutState), ShapeError> {
    let item = answer.get("checkout").ok_or(ShapeError::NoEnvelope {
        envelope: "checkout",
    })?;
    checkout_object(item, answer.clone())
}

/// A `{"deposit": {...}}` answer. The amount is the net amount credited.
pub(super) fn deposit(answer: &Value) -> Result<Output, ShapeError> {
    let w: DepositWire = object(answer, "deposit")?;
    let state = DepositState::parse(&w.state);
    let mut fields = Map::new();
    fields.insert(
        "amount_gross".into(),
        text(decimal(w.amount_gross.as_ref())),
    );
    put(&mut fields, "network", w.network);
    Ok(Output {
        id: Some(w.id),
        state: State::reported(&w.state, deposit_state(&state)),
        amount: decimal(w.amount_net.as_ref()),
        unit: w.asset.map(Unit::Asset),
        fee: decimal(w.amount_fees.as_ref()),
        fields,
        raw: answer.clone(),
    })
}

/// A customer or beneficiary object (`{"customer": {...}}` or a list item). Such objects
/// have no state: existing is success.
pub(super) fn party(item: &Value, raw: Value) -> Result<Output, ShapeError> {
    let id = item
        .get("id")
        .and_then(Value::as_str)
        .ok_or(ShapeError::NoId { object: None })?;
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
    fn every_documented_state_has_a_meaning() {
        use NormalizedState::*;
        let checkout = [
            ("PENDING_CHARGE", Pending),
            ("NEW_CHARGE", Pending),
            ("IN_PROGRESS", Processing),
            ("COMPLETED", Succeeded),
            ("EXPIRED", Failed),
            ("UNRESOLVED_GENERIC", RequiresAction),
            ("UNRESOLVED_UNDERPAID", RequiresAction),
            ("REFUNDED", Failed),
            ("RESOLVED_REFUNDED", Failed),
            ("RESOLVED_OTHER", RequiresAction),
            ("SOMETHING_NEW", Pending),
        ];
        for (s, n) in checkout {
            assert_eq!(checkout_state(&CheckoutState::parse(s)), n, "{s}");
        }
        let commit = [
            ("PENDING_API_COMMIT", RequiresAction),
            ("PROCESSING", Processing),
            ("COMPLETED", Succeeded),
            ("FAILED", Failed),
            ("QUEUED", Pending),
        ];
        for (s, n) in commit {
            assert_eq!(commit_state("swap", &CommitState::parse(s)), n, "{s}");
        }
        let deposit = [
            ("PENDING_EXTERNAL", Pending),
            ("PROCESSING", Processing),
            ("COMPLETED", Succeeded),
            ("FAILED", Failed),
        ];
        for (s, n) in deposit {
            assert_eq!(deposit_state(&DepositState::parse(s)), n, "{s}");
        }
        assert_eq!(
            CommitState::parse("QUEUED"),
            CommitState::Unknown("QUEUED".into())
        );
    }

    #[test]
    fn seed_answers_convert_exactly() {
        let commit = json!({"swap": {
            "id": "5074f4ee055d", "state": "PROCESSING", "type": "SOURCE_SPECIFIED",
            "expireTime": "2021-05-06T23:15:37+00:00",
            "sourceAssetIssuer": "USDC:GA5Z", "sourceAmount": "100.0000000",
            "targetAssetIssuer": "XLM:NATIVE", "targetAmount": "243.3928192"
        }});
        let s = swap(&commit).unwrap();
        assert_eq!(s.state, CommitState::Processing);
        let j = s.output.to_json();
        assert_eq!(j["amount"], "100.0000000");
        assert_eq!(j["asset"], "USDC:GA5Z");
        assert_eq!(j["target_amount"], "243.3928192");
        assert_eq!(j["state"], "processing");
        assert_eq!(s.expire_time.as_deref(), Some("2021-05-06T23:15:37+00:00"));

        let t = transfer(&json!({"transfer": {
            "id": "8947deb6a087", "state": "PENDING_API_COMMIT", "network": "BITCOIN",
            "note": null, "sourceAmountGross": "0.5000000", "sourceAsset": "BTC:GCQV",
            "networkFeeAmount": "0.0002010", "networkFeeAsset": "BTC:GCQV",
            "targetAmountNet": "0.4997990", "targetAsset": "BTC:GCQV"
        }}))
        .unwrap();
        assert_eq!(t.output.amount, Some(dec!(0.5000000)));
        assert_eq!(t.output.fee, Some(dec!(0.0002010)));
        assert_eq!(t.output.to_json()["state"], "requires_action");
        assert_eq!(t.expire_time, None);

        let (c, state) = checkout(&json!({"checkout": {
            "id": "a2d963a87d70", "state": "COMPLETED",
            "settlementAssetId": "USDC:GA5Z", "settlementAmountRequired": "117.8379738",
            "settlementAmountReceived": "117.8379738", "settlementAmountFeePaid": "0.0000000",
            "hostedCheckoutUrl": "https://www.whalestack.com/en/checkout/a2d963a87d70"
        }}))
        .unwrap();
        assert_eq!(state, CheckoutState::Completed);
        assert_eq!(c.to_json()["amount_received"], "117.8379738");
        assert_eq!(c.fee, Some(dec!(0.0000000)));

        let d = deposit(&json!({"deposit": {
            "id": "eb3729168fb2", "state": "PENDING_EXTERNAL", "asset": "BTC:GCQV",
            "amountGross": "7.1479281", "amountNet": "7.1479281", "amountFees": "0.0000000"
        }}))
        .unwrap();
        assert_eq!(d.state.normalized, NormalizedState::Pending);
        assert!(swap(&json!({"transfer": {}})).is_err());
        assert!(swap(&json!({"swap": {"state": "X"}})).is_err());
    }
}
