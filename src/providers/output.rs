//! The provider-neutral result of a call: what templates see as `steps.<id>.output`.
//!
//! Every adapter turns its provider's answer into an [`Output`]: the object's id, its state
//! (the provider's own string and a [`NormalizedState`]), the amount with its asset or
//! currency, the fee, a few action-specific fields, and the raw answer. Amounts stay
//! [`Decimal`] here and become decimal strings in the template JSON.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A provider state mapped onto the five states sluice reasons about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalizedState {
    /// Created; waiting on someone outside sluice (a customer paying, a bank).
    Pending,
    /// Accepted and being worked on by the provider.
    Processing,
    /// Done, successfully.
    Succeeded,
    /// Done, unsuccessfully (failed, expired, cancelled).
    Failed,
    /// Waiting for an action by us or an operator (a commit, a capture, an underpayment).
    RequiresAction,
}

impl NormalizedState {
    /// The name templates see.
    pub fn as_str(self) -> &'static str {
        match self {
            NormalizedState::Pending => "pending",
            NormalizedState::Processing => "processing",
            NormalizedState::Succeeded => "succeeded",
            NormalizedState::Failed => "failed",
            NormalizedState::RequiresAction => "requires_action",
        }
    }

    /// Whether the provider will not change this state by itself.
    pub fn is_final(self) -> bool {
        match self {
            NormalizedState::Succeeded | NormalizedState::Failed => true,
            NormalizedState::Pending
            | NormalizedState::Processing
            | NormalizedState::RequiresAction => false,
        }
    }
}

/// An object's state: the provider's string and its normalised meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The provider's state string, when the answer has one (a created customer has none).
    pub raw: Option<String>,
    /// What it means.
    pub normalized: NormalizedState,
}

impl State {
    /// A state the provider reported.
    pub fn reported(raw: impl Into<String>, normalized: NormalizedState) -> Self {
        State {
            raw: Some(raw.into()),
            normalized,
        }
    }

    /// A state implied by a successful answer that carries no state field.
    pub fn implied(normalized: NormalizedState) -> Self {
        State {
            raw: None,
            normalized,
        }
    }
}

/// What an amount is counted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// A crypto or Stellar asset (`USDC:GA5Z…`, `USDT`); shown as `asset`.
    Asset(String),
    /// An ISO 4217 currency (`AED`); shown as `currency`.
    Currency(String),
}

/// The normalised result of a provider call.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The provider's id of the object, when it has one.
    pub id: Option<String>,
    /// The object's state.
    pub state: State,
    /// The main amount (for swaps the source amount, for transfers the gross amount).
    pub amount: Option<Decimal>,
    /// The amount's asset or currency.
    pub unit: Option<Unit>,
    /// The fee the provider charged or quoted, in the same unit.
    pub fee: Option<Decimal>,
    /// Action-specific fields (`url`, `target_amount`, `expire_time`, …); never override
    /// the common keys.
    pub fields: Map<String, Value>,
    /// The provider's answer, with credentials and client secrets redacted.
    pub raw: Value,
}

impl Output {
    /// An output with only a state and the raw answer.
    pub fn new(state: State, raw: Value) -> Self {
        Output {
            id: None,
            state,
            amount: None,
            unit: None,
            fee: None,
            fields: Map::new(),
            raw,
        }
    }

    /// The JSON templates see: `{id, state, provider_state, amount, asset | currency, fee,
    /// …fields, raw}`, with amounts as decimal strings (`"12.30"`), never numbers.
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// [`to_json`](Self::to_json), consuming the output: the provider's answer (`raw`, often
    /// kilobytes of JSON) is moved, never copied.
    pub fn into_json(self) -> Value {
        let mut out = self.fields;
        let text = |d: Option<Decimal>| d.map_or(Value::Null, |d| Value::String(d.to_string()));
        out.insert("id".into(), self.id.map_or(Value::Null, Value::String));
        out.insert("state".into(), self.state.normalized.as_str().into());
        out.insert(
            "provider_state".into(),
            self.state.raw.map_or(Value::Null, Value::String),
        );
        out.insert("amount".into(), text(self.amount));
        match self.unit {
            Some(Unit::Asset(a)) => {
                out.insert("asset".into(), a.into());
            }
            Some(Unit::Currency(c)) => {
                out.insert("currency".into(), c.into());
            }
            None => {}
        }
        out.insert("fee".into(), text(self.fee));
        out.insert("raw".into(), self.raw);
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    #[test]
    fn template_json_keeps_amounts_as_exact_strings() {
        let mut fields = Map::new();
        fields.insert("url".into(), "https://pay.example/x".into());
        fields.insert("state".into(), "must not win".into());
        let out = Output {
            id: Some("sw_1".into()),
            state: State::reported("COMPLETED", NormalizedState::Succeeded),
            amount: Some(dec!(12.30)),
            unit: Some(Unit::Asset("USDC:GA5Z".into())),
            fee: Some(dec!(0.0000100)),
            fields,
            raw: json!({"a": 1}),
        };
        assert_eq!(
            out.to_json(),
            json!({
                "url": "https://pay.example/x",
                "state": "succeeded",
                "id": "sw_1",
                "provider_state": "COMPLETED",
                "amount": "12.30",
                "asset": "USDC:GA5Z",
                "fee": "0.0000100",
                "raw": {"a": 1}
            })
        );
        let bare = Output::new(State::implied(NormalizedState::Pending), Value::Null);
        let j = bare.into_json();
        assert_eq!(j["provider_state"], Value::Null);
        assert_eq!(j["amount"], Value::Null);
        assert!(j.get("asset").is_none() && j.get("currency").is_none());
        assert!(!NormalizedState::Pending.is_final());
        assert!(NormalizedState::Failed.is_final());
    }
}
