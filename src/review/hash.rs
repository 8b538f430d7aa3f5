//! The plan hash and the fingerprints it is made of.
//!
//! The plan hash is SHA-256 over the canonical JSON (keys sorted, no whitespace, numbers
//! as written: `digest::canonical_json`) of
//!
//! - the plan format,
//! - the workflow hash (`plan::fingerprint::workflow_hash` of the file's text) and the
//!   inputs hash (`plan::fingerprint::inputs_hash` of the resolved inputs), the same two
//!   hashes a run records,
//! - each provider block's fingerprint: SHA-256 over its kind, base URL, signing mode,
//!   request timeout, rate limits, path overrides and webhook header. Credentials are not
//!   part of it: a plan never reads them, so rotating a key does not invalidate a reviewed
//!   plan, while pointing a block at another URL does,
//! - every step as planned: id, action, provider, and for each item the SHA-256 of the
//!   canonical JSON of its key, decision, rendered `with` and exact requests (hashing item
//!   by item keeps a 10,000-row plan from being copied whole just to be hashed).
//!
//! Warnings, totals and the text around them are derived from these and left out, so
//! `--threshold` or `--balances` never change the hash.

use serde_json::{Map, Value, json};

use super::model::{DryRun, ItemPlan, ProviderPlan};
use crate::digest::canonical_json;
use crate::signing::sha256_hex;

/// The fingerprint of a provider block: SHA-256 over its canonical description.
pub fn provider_fingerprint(plan: &ProviderPlan) -> String {
    let mut value = serde_json::to_value(plan).expect("plain data serialises");
    if let Value::Object(map) = &mut value {
        map.remove("fingerprint");
    }
    sha256_hex(&[canonical_json(&value).as_bytes()])
}

/// The hash of `plan`, computed from its content (its `plan_hash` field is ignored).
pub fn plan_hash(plan: &DryRun) -> String {
    sha256_hex(&[canonical_json(&hashed(plan)).as_bytes()])
}

/// The part of a plan the hash covers.
fn hashed(plan: &DryRun) -> Value {
    let providers: Map<String, Value> = plan
        .providers
        .iter()
        .map(|p| (p.name.clone(), Value::String(p.fingerprint.clone())))
        .collect();
    let steps: Vec<Value> = plan
        .steps
        .iter()
        .map(|s| {
            let items: Vec<Value> = s.items.iter().map(item_digest).collect();
            json!({
                "id": s.id,
                "action": s.action,
                "provider": s.provider,
                "items": items,
            })
        })
        .collect();
    json!({
        "format": plan.format,
        "workflow_hash": plan.workflow.hash,
        "inputs_hash": plan.inputs.hash,
        "providers": providers,
        "steps": steps,
    })
}

/// The SHA-256 of the canonical JSON of what the hash covers of one item.
fn item_digest(item: &ItemPlan) -> Value {
    let mut map = Map::with_capacity(5);
    map.insert("key".into(), json!(item.key));
    map.insert("decision".into(), json!(item.decision));
    map.insert("reason".into(), json!(item.reason));
    map.insert("with".into(), Value::Object(item.with.clone()));
    map.insert("requests".into(), json!(item.requests));
    Value::String(sha256_hex(
        &[canonical_json(&Value::Object(map)).as_bytes()],
    ))
}
