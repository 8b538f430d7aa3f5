//! Fields of a provider's answers kept redacted: the adapter's list from the catalog and
//! the provider block's own `redact`.

use serde_json::Value;

use super::mask_text;

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
    /// every card number, verification code and IBAN in the rest masked ([`mask_text`]).
    pub fn redact(&self, value: Value) -> Value {
        self.walk(value, &mut Vec::new())
    }

    fn walk(&self, value: Value, path: &mut Vec<String>) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        path.push(k);
                        let v = match v {
                            Value::Null => Value::Null,
                            _ if self.matches(path) => Value::String(REDACTED.into()),
                            v => self.walk(v, path),
                        };
                        (path.pop().expect("pushed above"), v)
                    })
                    .collect(),
            ),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.walk(v, path)).collect())
            }
            Value::String(s) => Value::String(mask_text(&s)),
            other => other,
        }
    }

    fn matches(&self, path: &[String]) -> bool {
        self.paths.iter().any(|p| path.ends_with(p))
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
