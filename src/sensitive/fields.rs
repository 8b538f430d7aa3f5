//! Fields of a provider's answers kept redacted: the adapter's list from the catalog and
//! the provider block's own `redact`.

use std::borrow::Cow;

use serde_json::Value;

use super::mask_digits;

/// What a redacted answer field reads as.
pub const REDACTED: &str = "***";

/// Fields of a provider's answers to redact, as dotted paths (`targetAccount.fields`,
/// `card.name`) matched against the end of a field's path, arrays crossed: `email` is every
/// `email` field, `card.name` a `name` inside a `card`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPaths {
    paths: Vec<Vec<String>>,
}

impl FieldPaths {
    /// The paths, each `a.b.c`.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        FieldPaths {
            paths: paths
                .into_iter()
                .map(|p| p.split('.').map(str::to_owned).collect())
                .filter(|p: &Vec<String>| p.iter().all(|seg| !seg.is_empty()))
                .collect(),
        }
    }

    /// `value` with every matching field (that is not null) replaced by [`REDACTED`], and
    /// every card number, verification code and IBAN in the rest masked
    /// ([`mask_text`](super::mask_text)).
    pub fn redact(&self, mut value: Value) -> Value {
        self.walk(&mut value, &mut Vec::new());
        value
    }

    /// Redacts and masks `value` where it is: an answer's objects keep their allocations
    /// and only the strings that change are replaced (this runs on every answer kept).
    fn walk<'a>(&self, value: &'a mut Value, path: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    path.push(k);
                    match v {
                        Value::Null => {}
                        _ if self.matches(path) => *v = Value::String(REDACTED.into()),
                        v => self.walk(v, path),
                    }
                    path.pop();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.walk(v, path)),
            Value::String(s) => {
                if let Cow::Owned(masked) = mask_digits(s) {
                    *s = masked;
                }
            }
            _ => {}
        }
    }

    fn matches(&self, path: &[&str]) -> bool {
        self.paths.iter().any(|p| {
            p.len() <= path.len() && p.iter().rev().zip(path.iter().rev()).all(|(a, b)| a == b)
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn answer_fields_are_redacted_by_the_end_of_their_path() {
        let paths = FieldPaths::new(["targetAccount.fields", "card.name", "email", ""]);
        let answer = json!({
            "id": "tr_1", "state": "COMPLETED", "amount": "10.00",
            "targetAccount": {"network": "SEPA", "fields": {"iban": "DE89370400440532013000"}},
            "card": {"last4": "4242", "name": "A. Ahmed"},
            "customers": [{"email": "a@b.co", "name": "kept"}],
            "note": "card 4242424242424242, iban GB82WEST12345698765432",
            "email_verified": true,
            "ip": null,
        });
        assert_eq!(
            paths.redact(answer),
            json!({
                "id": "tr_1", "state": "COMPLETED", "amount": "10.00",
                "targetAccount": {"network": "SEPA", "fields": "***"},
                "card": {"last4": "4242", "name": "***"},
                "customers": [{"email": "***", "name": "kept"}],
                "note": "card 4242 •••• •••• 4242, iban GB82 •••• 5432",
                "email_verified": true,
                "ip": null,
            })
        );
    }
}
