//! Masking text and JSON: every card number, verification code and IBAN, found by
//! [`card`](super::card) and [`iban`](super::iban).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::card::{
    MASKED_CVC, is_card_digits, is_cvc_field, mask_cvcs, mask_numbers, masked_card, starred_card,
};
use super::iban::{mask_ibans, masked_iban, starred_iban};

/// `text` with every card number, verification code and IBAN masked.
pub fn mask_text(text: &str) -> String {
    mask_digits(text).into_owned()
}

/// [`mask_text`], borrowing `text` back when it holds no digit: card numbers, verification
/// codes and IBANs all have digits, and most of an answer's strings (states, names, ids of
/// letters) have none, so they are neither scanned three times nor copied.
pub fn mask_digits(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_digit()) {
        Cow::Owned(mask_cards(&mask_ibans(text, masked_iban)))
    } else {
        Cow::Borrowed(text)
    }
}

/// `text` with its card numbers and verification codes masked.
fn mask_cards(text: &str) -> String {
    mask_cvcs(&mask_numbers(text, masked_card), |_| MASKED_CVC.to_owned())
}

/// `text` with the same masking as [`mask_text`] that keeps every byte where it was (the
/// characters hidden become `*`), so that the spans of a diagnostic still point at the right
/// place in a workflow file shown with its card data hidden.
pub fn blank_text(text: &str) -> String {
    let ibans = mask_ibans(text, starred_iban);
    mask_cvcs(&mask_numbers(&ibans, starred_card), |len| "*".repeat(len))
}

/// `value` with every card number (in a string, or an integer), verification code field
/// and IBAN masked, at every depth.
pub fn mask_value(value: &Value) -> Value {
    mask_with(value, &mask_text)
}

/// [`mask_value`] of an object's fields.
pub fn mask_map(map: &Map<String, Value>) -> Map<String, Value> {
    mask_fields(map, &mask_text)
}

fn mask_with(value: &Value, text: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(text(s)),
        Value::Number(n) => {
            let digits = n.to_string();
            if is_card_digits(digits.as_bytes()) {
                Value::String(masked_card(digits.as_bytes()))
            } else {
                value.clone()
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| mask_with(v, text)).collect()),
        Value::Object(map) => Value::Object(mask_fields(map, text)),
        other => other.clone(),
    }
}

fn mask_fields(map: &Map<String, Value>, text: &dyn Fn(&str) -> String) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Null => Value::Null,
                _ if is_cvc_field(k) => Value::String(MASKED_CVC.into()),
                other => mask_with(other, text),
            };
            (k.clone(), v)
        })
        .collect()
}

/// The paths (`source.number`, `[2].card`) at which `value` holds card data (numbers and
/// verification codes; IBANs are not card data).
pub fn card_paths(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_paths(value, String::new(), &mut out);
    out
}

/// Adds the paths under `value` that [`mask_value`]'s card masking would change, leaf by
/// leaf, without building the masked copy (this runs on every request of a plan).
fn collect_paths(value: &Value, path: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match v {
                    Value::Null => {}
                    Value::String(s) if s == MASKED_CVC => {}
                    _ if is_cvc_field(k) => out.push(child),
                    v => collect_paths(v, child, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_paths(v, format!("{path}[{i}]"), out);
            }
        }
        Value::String(s) if s.bytes().any(|b| b.is_ascii_digit()) && mask_cards(s) != *s => {
            out.push(path);
        }
        Value::Number(n) if is_card_digits(n.to_string().as_bytes()) => out.push(path),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn blanking_keeps_every_byte_in_place() {
        let text = "number: \"4242 4242 4242 4242\"\ncvc: 737 # x";
        let blank = blank_text(text);
        assert_eq!(blank, "number: \"4242 **** **** 4242\"\ncvc: *** # x");
        assert_eq!(blank.len(), text.len());
    }

    #[test]
    fn json_values_are_masked_at_every_depth() {
        let request = json!({
            "amount": "10.00",
            "source": {"number": "4242424242424242", "cvc": "123", "exp_month": 12},
            "cards": [4_000_056_655_665_556_u64],
            "iban": "GB82WEST12345698765432",
            "cvv": null,
        });
        assert_eq!(
            mask_value(&request),
            json!({
                "amount": "10.00",
                "source": {"number": "4242 •••• •••• 4242", "cvc": "***", "exp_month": 12},
                "cards": ["4000 •••• •••• 5556"],
                "iban": "GB82 •••• 5432",
                "cvv": null,
            })
        );
        assert_eq!(
            card_paths(&request),
            ["source.number", "source.cvc", "cards[0]"]
        );
        assert!(card_paths(&json!({"amount": "1", "id": 7})).is_empty());
    }

    /// Text without a digit cannot hold card data or an IBAN: it is lent back, not copied.
    #[test]
    fn text_without_digits_is_borrowed_and_text_with_them_masked() {
        assert!(matches!(
            mask_digits("PROCESSING"),
            Cow::Borrowed("PROCESSING")
        ));
        assert_eq!(
            mask_digits("card 4242424242424242"),
            "card 4242 •••• •••• 4242"
        );
        assert_eq!(mask_digits("tr_8f1ad0b5e823"), "tr_8f1ad0b5e823");
    }
}
