//! White Payments on the wire: form-encoded request bodies and the answer DTOs.
//!
//! Bodies are `application/x-www-form-urlencoded`, nested objects in bracket notation
//! (`card[number]=…`), as the docs' curl examples send them. Amounts are integers in the
//! currency's smallest unit; [`super::convert`] converts them exactly.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Encodes `body` as a form: scalars as `key=value`, objects as `key[sub]=value`, arrays
/// as `key[]=value`. `null` entries are left out.
pub(super) fn encode_form(body: &Map<String, Value>) -> String {
    let mut pairs = Vec::new();
    for (k, v) in body {
        flatten(k.clone(), v, &mut pairs);
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn flatten(key: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Null => {}
        Value::String(s) => out.push((key, s.clone())),
        Value::Number(n) => out.push((key, n.to_string())),
        Value::Bool(b) => out.push((key, b.to_string())),
        Value::Object(m) => {
            for (k, v) in m {
                flatten(format!("{key}[{k}]"), v, out);
            }
        }
        Value::Array(items) => {
            for v in items {
                flatten(format!("{key}[]"), v, out);
            }
        }
    }
}

/// The `application/x-www-form-urlencoded` byte serializer (WHATWG URL §5.2).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A charge's `state`, as documented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ChargeState {
    Authorized,
    Captured,
    Refunded,
    PartiallyRefunded,
    Failed,
    /// A string the docs do not list.
    Unknown(String),
}

impl ChargeState {
    pub(super) fn parse(s: &str) -> Self {
        match s {
            "authorized" => Self::Authorized,
            "captured" => Self::Captured,
            "refunded" => Self::Refunded,
            "partially_refunded" => Self::PartiallyRefunded,
            "failed" => Self::Failed,
            other => Self::Unknown(other.to_string()),
        }
    }
}

/// A charge object.
#[derive(Debug, Deserialize)]
pub(super) struct ChargeWire {
    pub(super) id: String,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) state: String,
    pub(super) captured_amount: Option<i64>,
    pub(super) refunded_amount: Option<i64>,
    pub(super) description: Option<String>,
    pub(super) failure_reason: Option<String>,
    pub(super) failure_code: Option<String>,
}

/// A refund object; it names no currency (its charge's applies).
#[derive(Debug, Deserialize)]
pub(super) struct RefundWire {
    pub(super) id: String,
    pub(super) amount: i64,
    pub(super) reason: Option<String>,
    pub(super) charge_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn forms_encode_like_the_docs_send_them() {
        let body = json!({
            "amount": 1000, "currency": "aed", "email": "a+b@example.com",
            "card": {"name": "Abdullah Ahmed", "exp_month": 11}, "tags": ["x", "y"],
            "capture": false, "gone": null, "description": "Two widgets (50% off) & more"
        });
        assert_eq!(
            encode_form(body.as_object().unwrap()),
            "amount=1000&currency=aed&email=a%2Bb%40example.com&card%5Bname%5D=Abdullah+Ahmed\
             &card%5Bexp_month%5D=11&tags%5B%5D=x&tags%5B%5D=y&capture=false\
             &description=Two+widgets+%2850%25+off%29+%26+more"
        );
        assert_eq!(encode("ünï"), "%C3%BCn%C3%AF");
    }
}
