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
//! - every step as planned: id, action, provider, and for each item the SHA-256 of its
//!   key, decision, reason, amounts, counterparty and request digest ([`item_hash`]). The
//!   request digest ([`request_digest`]: the SHA-256 of the rendered `with` and the exact
//!   requests) is taken as the item is built, so a plan hashes every
//!   request without keeping it; the file holds every item's request digest and the
//!   requests of a few, which [`detail_matches`] checks when a file is read.
//!
//! Warnings, totals and the text around them are derived from these and left out, so
//! `--threshold` or `--balances` never change the hash.

use serde_json::{Map, Value, json};

use super::model::{DryRun, ItemDetail, ItemPlan, ProviderPlan, StepPlan};
use crate::digest::{canonical_json, canonical_object};
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
    let step_hashes = |steps: &[StepPlan]| -> Vec<Value> {
        steps
            .iter()
            .map(|s| {
                let items: Vec<Value> = s
                    .items
                    .iter()
                    .map(|i| Value::String(item_hash(i)))
                    .collect();
                json!({
                    "id": s.id,
                    "action": s.action,
                    "provider": s.provider,
                    "items": items,
                })
            })
            .collect()
    };
    let mut hashed = json!({
        "format": plan.format,
        "workflow_hash": plan.workflow.hash,
        "inputs_hash": plan.inputs.hash,
        "providers": providers,
        "steps": step_hashes(&plan.steps),
    });
    // The undo requests are bound too; a plan without an undo path hashes as it always did.
    if let Some(undo) = &plan.undo {
        hashed["undo"] = Value::Array(step_hashes(&undo.undos));
    }
    hashed
}

/// The request digest of an item that renders `detail`: the SHA-256 of the canonical JSON
/// of its rendered `with`, a newline, and the JSON of its exact requests (not the note,
/// which is the plan's own words). Requests are records whose fields have a fixed order,
/// so their text as serde writes it is already canonical; sorting it would cost a plan of
/// 100,000 rows a quarter of its time.
pub fn request_digest(detail: &ItemDetail) -> String {
    let with = canonical_object(&detail.with);
    let requests = serde_json::to_vec(&detail.requests).expect("plain data serialises");
    sha256_hex(&[with.as_bytes(), b"\n", &requests])
}

/// What the plan hash covers of `item`: the SHA-256 of the JSON array of its key,
/// decision, reason, amounts, counterparty and request digest. Its fields have a fixed
/// order, so the text is canonical without sorting; the detail is left out (the request
/// digest stands for it).
pub fn item_hash(item: &ItemPlan) -> String {
    let fields = (
        &item.key,
        item.decision,
        &item.reason,
        &item.amounts,
        &item.target,
        &item.digest,
    );
    let text = serde_json::to_vec(&fields).expect("plain data serialises");
    sha256_hex(&[&text])
}

/// Whether an item shown in full still renders its request digest (an item without a
/// detail has nothing to check).
pub fn detail_matches(item: &ItemPlan) -> bool {
    item.detail
        .as_ref()
        .is_none_or(|d| request_digest(d) == item.digest)
}
