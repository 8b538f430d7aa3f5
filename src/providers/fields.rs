//! Reading a step's rendered `with` map: typed access to neutral fields, with errors that
//! name the field, and the deep merge of `extra` into a wire body.
//!
//! Which neutral fields each provider maps is its table in [`crate::catalog`]
//! ([`With::only`]); a field the provider cannot carry is refused rather than silently
//! dropped, because in a payment an ignored `description` or `metadata` is a bug someone
//! finds much later.

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::error::ProviderError;
use super::preview::WireRequest;
use super::traits::Call;
use crate::catalog::{self, ProviderKind};
use crate::money;

/// The `with` map of one call, read for one provider.
#[derive(Debug, Clone, Copy)]
pub(crate) struct With<'a> {
    provider: &'a str,
    action: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> With<'a> {
    /// The call's `with` map, read on behalf of `provider`.
    pub(crate) fn new(provider: &'a str, call: &Call<'a>) -> Self {
        With {
            provider,
            action: call.action,
            map: call.with,
        }
    }

    /// An [`ProviderError::Invalid`] for this call.
    pub(crate) fn invalid(&self, reason: impl Into<String>) -> ProviderError {
        ProviderError::Invalid {
            provider: self.provider.to_string(),
            action: self.action.to_string(),
            reason: reason.into(),
            source: None,
        }
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// Refuses any field `kind`'s table does not accept for this action, with the words
    /// `validate` uses for it: a field the provider cannot carry is never silently dropped.
    pub(crate) fn only(&self, kind: ProviderKind) -> Result<(), ProviderError> {
        catalog::check_fields(kind, self.action, self.map.keys().map(String::as_str))
            .map_err(|e| self.invalid(e.to_string()))
    }

    /// A text field: a string, or a number or boolean as its text.
    pub(crate) fn text(&self, field: &str) -> Result<Option<String>, ProviderError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(self.invalid(format!("`{field}` must be text"))),
        }
    }

    /// A text field that must be present and non-empty.
    pub(crate) fn required_text(&self, field: &str) -> Result<String, ProviderError> {
        self.text(field)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| self.invalid(format!("`{field}` is required")))
    }

    /// A decimal amount, parsed exactly from its text (never through a float).
    pub(crate) fn amount(&self, field: &str) -> Result<Option<Decimal>, ProviderError> {
        let Some(text) = self.text(field)? else {
            return Ok(None);
        };
        money::parse_amount(text.trim())
            .map(Some)
            .map_err(|e| ProviderError::Invalid {
                provider: self.provider.to_string(),
                action: self.action.to_string(),
                reason: format!("`{field}` is not an amount"),
                source: Some(Box::new(e)),
            })
    }

    /// A decimal amount that must be present and positive.
    pub(crate) fn required_amount(&self, field: &str) -> Result<Decimal, ProviderError> {
        let amount = self
            .amount(field)?
            .ok_or_else(|| self.invalid(format!("`{field}` is required")))?;
        if amount <= Decimal::ZERO {
            return Err(self.invalid(format!("`{field}` must be positive, got `{amount}`")));
        }
        Ok(amount)
    }

    /// A boolean: `true`/`false` or their text.
    pub(crate) fn boolean(&self, field: &str) -> Result<Option<bool>, ProviderError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" => Ok(Some(false)),
            Some(_) => Err(self.invalid(format!("`{field}` must be `true` or `false`"))),
        }
    }

    /// An object field.
    pub(crate) fn object(
        &self,
        field: &str,
    ) -> Result<Option<&'a Map<String, Value>>, ProviderError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(self.invalid(format!("`{field}` must be a mapping"))),
        }
    }

    /// The `extra` object, if any.
    pub(crate) fn extra(&self) -> Result<Option<&'a Map<String, Value>>, ProviderError> {
        self.object("extra")
    }

    /// Checks that `amount` has at most `allowed` decimals of `unit`.
    pub(crate) fn check_scale(
        &self,
        field: &str,
        amount: Decimal,
        unit: &str,
        allowed: u32,
    ) -> Result<(), ProviderError> {
        money::check_scale(amount, unit, allowed).map_err(|e| self.money_error(field, e))
    }

    /// A money error on `field` as an [`ProviderError::Invalid`]: never sent, never rounded.
    pub(crate) fn money_error(&self, field: &str, e: money::MoneyError) -> ProviderError {
        ProviderError::Invalid {
            provider: self.provider.to_string(),
            action: self.action.to_string(),
            reason: format!("`{field}`: {e}"),
            source: Some(Box::new(e)),
        }
    }
}

/// Applies `extra` to a read's query: each entry sets (or replaces) a parameter.
///
/// # Errors
/// [`ProviderError::Invalid`] for an entry that is not text, a number or a boolean.
pub(crate) fn extra_query(
    w: &With<'_>,
    mut wire: WireRequest,
) -> Result<WireRequest, ProviderError> {
    let Some(extra) = w.extra()? else {
        return Ok(wire);
    };
    for (k, v) in extra {
        let value = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(w.invalid(format!("`extra.{k}` must be text for a query parameter"))),
        };
        wire = wire.set_query(k, value);
    }
    Ok(wire)
}

/// Deep-merges `extra` into `body`: objects merge key by key, anything else in `extra`
/// replaces what `body` has.
pub(crate) fn merge(body: &mut Map<String, Value>, extra: &Map<String, Value>) {
    for (k, v) in extra {
        match (body.get_mut(k), v) {
            (Some(Value::Object(inner)), Value::Object(more)) => merge(inner, more),
            _ => {
                body.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A decimal from a provider's answer: a decimal string or a JSON number, read from its
/// text (never through a float).
pub(crate) fn decimal(value: Option<&Value>) -> Option<Decimal> {
    match value? {
        Value::String(s) => money::parse_amount(s.trim()).ok(),
        Value::Number(n) => money::parse_amount(&n.to_string()).ok(),
        _ => None,
    }
}

/// A JSON number with exactly the text of `amount` (serde_json keeps the digits verbatim).
pub(crate) fn number(amount: Decimal) -> Value {
    let n: serde_json::Number = amount
        .to_string()
        .parse()
        .unwrap_or_else(|_| unreachable!("a decimal's text is a JSON number"));
    Value::Number(n)
}

/// A string field of an answer.
pub(crate) fn text(value: &Value, field: &str) -> Option<String> {
    match value.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;
    use crate::providers::IdempotencyKey;

    fn with(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn reads_typed_fields() {
        let map = with(json!({
            "amount": "12.50", "n": 3, "flag": "true", "meta": {"a": 1},
            "bad": "1e3", "neg": "-1", "gone": null
        }));
        let key = IdempotencyKey::new("k").unwrap();
        let call = Call {
            action: "transfer",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = With::new("p", &call);
        assert_eq!(w.required_amount("amount").unwrap(), dec!(12.50));
        assert_eq!(w.amount("n").unwrap(), Some(dec!(3)));
        assert_eq!(w.boolean("flag").unwrap(), Some(true));
        assert!(w.object("meta").unwrap().is_some());
        assert!(w.amount("bad").is_err());
        assert!(w.required_amount("neg").is_err());
        assert_eq!(w.text("gone").unwrap(), None);
        assert!(w.required_text("gone").is_err());
    }

    #[test]
    fn refuses_fields_the_providers_table_lacks() {
        let map = with(json!({"amount": "10.00", "currency": "USD", "network": "SEPA"}));
        let key = IdempotencyKey::new("k").unwrap();
        let call = Call {
            action: "transfer",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = With::new("p", &call);
        assert!(w.only(ProviderKind::Whalestack).is_err(), "no `currency`");
        assert_eq!(
            w.only(ProviderKind::Whitestones).unwrap_err().to_string(),
            "`transfer` for `p`: `whitestones` has no equivalent of `network` for `transfer`; \
             send the provider's own field through `extra`"
        );
    }

    #[test]
    fn merge_is_deep_and_numbers_keep_their_digits() {
        let mut body = with(json!({"customer": {"email": "a@b", "note": "x"}, "k": 1}));
        merge(
            &mut body,
            &with(json!({"customer": {"adr1": "1 Main"}, "k": 2})),
        );
        assert_eq!(
            Value::Object(body),
            json!({"customer": {"email": "a@b", "note": "x", "adr1": "1 Main"}, "k": 2})
        );
        assert_eq!(number(dec!(100.50)).to_string(), "100.50");
        assert_eq!(decimal(Some(&json!("0.0000100"))), Some(dec!(0.0000100)));
        assert_eq!(decimal(Some(&json!(250))), Some(dec!(250)));
        assert_eq!(decimal(Some(&json!("1:30819.09"))), None);
    }
}
