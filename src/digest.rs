//! Canonical JSON, request digests and request diffs: pure functions over JSON values that
//! the engine, the store and the plan review must compute identically (a digest recorded by
//! one process is compared by another, and a plan's hashes are compared with a run's).
//!
//! A leaf: it depends on nothing in the crate but [`signing`](crate::signing) and
//! [`sensitive`](crate::sensitive), so every layer may use it.

use serde_json::{Map, Value};

use crate::sensitive::mask_value;
use crate::signing::sha256_hex;

/// Lowercase hex SHA-256 of the [canonical JSON](canonical_json) of a rendered request, so that
/// the same request always has the same digest and any changed value (an amount, an account)
/// changes it.
pub fn request_digest(request: &Value) -> String {
    sha256_hex(&[canonical_json(request).as_bytes()])
}

/// The JSON text of `value` with object keys sorted (by their UTF-8 bytes, at every depth) and
/// no whitespace. Numbers keep their exact text (`1.50` stays `1.50`), strings use serde_json's
/// escaping, so two requests have the same canonical text exactly when they are equal up to key
/// order.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// [`canonical_json`] of an object, without making a [`Value`] of it.
pub fn canonical_object(map: &Map<String, Value>) -> String {
    let mut out = Vec::new();
    write_object(map, &mut out);
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Writes keys and scalars straight into `out` with serde_json's own writer: a digest is
/// taken of every request a run sends and a plan shows, so nothing is allocated per field.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => write_object(map, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("writing to memory succeeds"),
    }
}

fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key).expect("writing to memory succeeds");
        out.push(b':');
        write_canonical(value, out);
    }
    out.push(b'}');
}

/// The paths of the fields in which two requests differ, sorted: `amount`,
/// `beneficiary.iban`, `lines[2].amount`; a field present on one side only is named too. An
/// empty list means the requests are equal (and so are their digests). The engine names these
/// when it refuses to resend a changed request under the same idempotency key.
pub fn request_diff(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_into(old, new, String::new(), &mut out);
    out.sort();
    out
}

fn diff_into(old: &Value, new: &Value, path: String, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, old_value) in a {
                let child = join_key(&path, key);
                match b.get(key) {
                    Some(new_value) => diff_into(old_value, new_value, child, out),
                    None => out.push(child),
                }
            }
            for key in b.keys().filter(|key| !a.contains_key(*key)) {
                out.push(join_key(&path, key));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let child = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => diff_into(x, y, child, out),
                    _ => out.push(child),
                }
            }
        }
        (a, b) if canonical_json(a) == canonical_json(b) => {}
        _ => out.push(if path.is_empty() {
            "(request)".to_owned()
        } else {
            path
        }),
    }
}

/// What changed between a stored request, whose card data is masked
/// ([`sensitive`](crate::sensitive)), and a newly rendered one whose
/// [digest](request_digest) differs from the stored digest: the [`request_diff`] of the two
/// masked forms, or `(masked data)` when only masked digits differ.
pub fn changed_fields(stored: &Value, new: &Value) -> Vec<String> {
    let differences = request_diff(stored, &mask_value(new));
    if differences.is_empty() {
        vec![MASKED_CHANGE.to_owned()]
    } else {
        differences
    }
}

/// What [`changed_fields`] names when only masked card data changed.
const MASKED_CHANGE: &str = "(masked data)";

fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn request_digest_ignores_key_order_and_changes_with_the_amount() {
        let request =
            json!({"amount": "100.00", "asset": "EURC", "to": {"iban": "DE1", "name": "A"}});
        let reordered =
            json!({"to": {"name": "A", "iban": "DE1"}, "asset": "EURC", "amount": "100.00"});
        let changed =
            json!({"amount": "100.01", "asset": "EURC", "to": {"iban": "DE1", "name": "A"}});
        assert_eq!(request_digest(&request), request_digest(&reordered));
        assert_ne!(request_digest(&request), request_digest(&changed));
        assert_eq!(
            canonical_json(&reordered),
            r#"{"amount":"100.00","asset":"EURC","to":{"iban":"DE1","name":"A"}}"#
        );
        // Numbers keep their text: 1.50 and 1.5 are different requests.
        let a: Value = serde_json::from_str(r#"{"n": 1.50}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"n": 1.5}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"n":1.50}"#);
        assert_ne!(request_digest(&a), request_digest(&b));
        // printf '{"amount":"1"}' | sha256sum
        assert_eq!(
            request_digest(&json!({"amount": "1"})),
            "cdb8de78f10f4776de95629e660ff8a5aba9ab22166d96ce73e50d0e3acfc6dc"
        );
    }

    #[test]
    fn request_diff_names_changed_added_and_removed_fields() {
        let old = json!({"amount": "10", "to": {"iban": "DE1", "name": "A"}, "lines": [1, 2], "memo": "x"});
        let new = json!({"amount": "11", "to": {"iban": "DE2", "name": "A"}, "lines": [1, 3, 4], "fee": "0"});
        assert_eq!(
            request_diff(&old, &new),
            ["amount", "fee", "lines[1]", "lines[2]", "memo", "to.iban"]
        );
        assert!(request_diff(&old, &old).is_empty());
        assert_eq!(request_diff(&json!("a"), &json!("b")), ["(request)"]);
        assert_eq!(
            request_diff(&json!({"a": 1}), &json!({"a": {"b": 1}})),
            ["a"]
        );
    }

    #[test]
    fn changed_fields_compares_masked_forms() {
        let stored = mask_value(&json!({"amount": "10", "card": "4242424242424242"}));
        // Only the middle digits changed: the fields cannot be named, the change can.
        let edited = json!({"amount": "10", "card": "4242000000004242"});
        assert_ne!(
            request_digest(&edited),
            request_digest(&json!({"amount": "10", "card": "4242424242424242"}))
        );
        assert_eq!(changed_fields(&stored, &edited), ["(masked data)"]);
        let other = json!({"amount": "11", "card": "4000056655665556"});
        assert_eq!(changed_fields(&stored, &other), ["amount", "card"]);
    }
}
