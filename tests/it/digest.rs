//! The leaf `digest` module and the store's own copy of its functions agree: a request
//! digest recorded by the engine is compared by the store, and a plan's inputs hash with a
//! run's.

use serde_json::{Value, json};
use sluice::{digest, store};

fn samples() -> Vec<Value> {
    vec![
        json!({}),
        json!(null),
        json!("x\"y"),
        json!({"b": 1.50, "a": {"z": 1, "é": [true, null]}, "lines": [{"amount": "2.00"}]}),
        json!([1, {"k": "v"}, [2.5e3]]),
    ]
}

#[test]
fn digests_and_canonical_json_match_the_stores() {
    for value in samples() {
        assert_eq!(
            digest::canonical_json(&value),
            store::canonical_json(&value)
        );
        assert_eq!(
            digest::request_digest(&value),
            store::request_digest(&value)
        );
    }
}

#[test]
fn request_diffs_match_the_stores() {
    let samples = samples();
    for old in &samples {
        for new in &samples {
            assert_eq!(
                digest::request_diff(old, new),
                store::request_diff(old, new)
            );
        }
    }
}
