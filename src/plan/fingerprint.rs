//! The hashes that bind a run (or a reviewed plan) to its workflow file and its inputs; a
//! plan and the run made from it agree on both.

use serde_json::{Map, Value};

use crate::digest::canonical_json;
use crate::signing::sha256_hex;

/// The hash that binds a run to its workflow file's exact text.
pub fn workflow_hash(text: &str) -> String {
    sha256_hex(&[text.as_bytes()])
}

/// The hash that binds a run (or a plan) to its inputs: the
/// [`request_digest`](crate::digest::request_digest) of the inputs object, computed
/// member by member so that the inputs (a CSV of 100,000 rows is about 90 MB of JSON values)
/// are not copied into one first.
pub fn inputs_hash(inputs: &Map<String, Value>) -> String {
    let mut names: Vec<&String> = inputs.keys().collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut text = String::from("{");
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&Value::String(name.clone()).to_string());
        text.push(':');
        text.push_str(&canonical_json(&inputs[name]));
    }
    text.push('}');
    sha256_hex(&[text.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::request_digest;

    #[test]
    fn the_workflow_hash_is_hex_sha256() {
        assert_eq!(workflow_hash("a").len(), 64);
    }

    #[test]
    fn the_inputs_hash_is_the_digest_of_the_inputs_object() {
        let inputs: Map<String, Value> = serde_json::from_str(
            r#"{"payees": [{"id": "E1", "amount": 1.50}], "b": "x\"y", "a": {"z": 1, "é": [true, null]}}"#,
        )
        .unwrap();
        assert_eq!(
            inputs_hash(&inputs),
            request_digest(&Value::Object(inputs.clone()))
        );
        assert_eq!(
            inputs_hash(&Map::new()),
            request_digest(&serde_json::json!({}))
        );
    }
}
