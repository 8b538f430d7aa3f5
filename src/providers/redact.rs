//! Keeps credentials out of errors and stored outputs.
//!
//! Some providers echo what they were sent (White Payments puts the API key it could not
//! authenticate into `error.extras`). Everything an adapter keeps from an answer, whether
//! an error message or a raw body, goes through its [`Redactor`] first.

use serde_json::Value;

use crate::spec::Secret;

/// What a redacted credential reads as.
const REDACTED: &str = "***";

/// Replaces every occurrence of the adapter's credentials with `***`.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<Secret>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor for `secrets`. Values shorter than 4 characters are ignored: replacing
    /// them would mangle ordinary text while hiding nothing worth hiding.
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        Redactor {
            secrets: secrets
                .into_iter()
                .filter(|s| s.expose().len() >= 4)
                .cloned()
                .collect(),
        }
    }

    /// `text` with every credential replaced.
    pub(crate) fn text(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |t, s| {
            if t.contains(s.expose()) {
                t.replace(s.expose(), REDACTED)
            } else {
                t
            }
        })
    }

    /// An error text as it may be shown or kept: credentials replaced and card data masked
    /// (providers echo a refused card number in their messages).
    pub(crate) fn message(&self, text: &str) -> String {
        crate::sensitive::mask_text(&self.text(text))
    }

    /// `value` with every credential replaced in every string and key.
    pub(crate) fn value(&self, value: Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.text(&k), self.value(v)))
                    .collect(),
            ),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn replaces_credentials_everywhere() {
        let key = Secret::new("sk_live_sentinel");
        let short = Secret::new("ab");
        let r = Redactor::new([&key, &short]);
        assert_eq!(r.text("bad key sk_live_sentinel!"), "bad key ***!");
        assert_eq!(r.text("about"), "about");
        assert_eq!(
            r.message("sk_live_sentinel: card 4242424242424242 declined"),
            "***: card 4242 •••• •••• 4242 declined"
        );
        assert_eq!(
            r.value(json!({"extras": {"provided_api_key": "sk_live_sentinel"}, "n": 1})),
            json!({"extras": {"provided_api_key": "***"}, "n": 1})
        );
    }
}
