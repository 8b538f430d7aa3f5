//! `swap`: POST /swap, then (after the checkpoint) POST /swap/commit.
//!
//! Exactly one of `source_amount` and `target_amount` is sent, as a JSON number with the
//! amount's exact digits (the docs type it `numeric`); at most 7 decimals (Stellar).
//! Whalestack swaps carry no reference field, so a swap whose create answer was lost
//! cannot be told apart from another with the same assets and amount: `lookup` reports
//! such candidates as unknown for an operator, and absent only when none exists at all.

use serde_json::{Map, Value};

use super::two_phase::{self, SWAP};
use crate::catalog::ProviderKind;
use crate::providers::fields::{With, decimal, merge, number};
use crate::providers::whalestack::assets::Resolver;
use crate::providers::whalestack::client::{Client, Scan};
use crate::providers::{Call, Lookup, Outcome, ProviderError, WireRequest};

/// Stellar's precision.
const DECIMALS: u32 = 7;

/// The amount field that is given: its neutral name, its wire name and the amount.
struct Side {
    neutral: &'static str,
    wire: &'static str,
    amount: rust_decimal::Decimal,
}

fn side(w: &With<'_>) -> Result<Side, ProviderError> {
    match (w.amount("source_amount")?, w.amount("target_amount")?) {
        (Some(_), Some(_)) => {
            Err(w.invalid("give either `source_amount` or `target_amount`, not both"))
        }
        (None, None) => Err(w.invalid("`source_amount` or `target_amount` is required")),
        (Some(_), None) => Ok(Side {
            neutral: "source_amount",
            wire: "sourceAmount",
            amount: w.required_amount("source_amount")?,
        }),
        (None, Some(_)) => Ok(Side {
            neutral: "target_amount",
            wire: "targetAmount",
            amount: w.required_amount("target_amount")?,
        }),
    }
}

/// `POST /swap` with `{sourceAsset, targetAsset, sourceAmount | targetAmount, webhook}`.
fn build(
    w: &With<'_>,
    client: &Client,
    assets: &Resolver<'_>,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::Whalestack)?;
    let source = w.required_text("source_asset")?;
    let target = w.required_text("target_asset")?;
    let side = side(w)?;
    let unit = if side.neutral == "source_amount" {
        &source
    } else {
        &target
    };
    w.check_scale(side.neutral, side.amount, unit, DECIMALS)?;
    let mut body = Map::new();
    body.insert(
        "sourceAsset".into(),
        assets.resolve(w, "source_asset", &source)?.into(),
    );
    body.insert(
        "targetAsset".into(),
        assets.resolve(w, "target_asset", &target)?.into(),
    );
    body.insert(side.wire.into(), number(side.amount));
    if let Some(hook) = w.text("webhook")? {
        body.insert("webhook".into(), hook.into());
    }
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    let mut wire = WireRequest::new("POST", client.paths().get("swap")).json(&Value::Object(body));
    for (field, value) in [("source_asset", &source), ("target_asset", &target)] {
        if let Some(note) = assets.note(field, value) {
            wire = wire.note(note);
        }
    }
    Ok(wire)
}

/// The create and the commit, as a plan shows them.
pub(in crate::providers::whalestack) fn preview(
    client: &Client,
    call: &Call<'_>,
) -> Result<Vec<WireRequest>, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    let create = build(&w, client, &Resolver::as_given())?;
    let commit = two_phase::commit_wire(client, SWAP, "{swap id}").note(
        "sent after the swap id is checkpointed, and only if the swap is still PENDING_API_COMMIT \
         with an unexpired quote",
    );
    Ok(vec![create, commit])
}

/// Creates the swap, or continues from a checkpoint to the commit.
pub(in crate::providers::whalestack) async fn execute(
    client: &Client,
    call: &Call<'_>,
) -> Result<Outcome, ProviderError> {
    if let Some(checkpoint) = call.checkpoint {
        return two_phase::resume(client, SWAP, call, checkpoint).await;
    }
    let w = With::new(client.transport().provider(), call);
    let source = w.required_text("source_asset")?;
    let target = w.required_text("target_asset")?;
    let assets = client.resolver(&[&source, &target]).await?;
    let answer = client.send(&build(&w, client, &assets)?).await?;
    two_phase::created(client, SWAP, &answer)
}

/// By id when known; otherwise a search of `GET /swaps` for a swap with the same assets
/// and amount.
pub(in crate::providers::whalestack) async fn lookup(
    client: &Client,
    call: &Call<'_>,
    provider_ref: Option<&str>,
) -> Result<Lookup, ProviderError> {
    if let Some(id) = two_phase::known_id(call, provider_ref) {
        return Ok(two_phase::found(
            SWAP,
            two_phase::get(client, SWAP, &id).await?,
        ));
    }
    let w = With::new(client.transport().provider(), call);
    let source = w.required_text("source_asset")?;
    let target = w.required_text("target_asset")?;
    let side = side(&w)?;
    let assets = client.resolver(&[&source, &target]).await?;
    let source_id = assets.resolve(&w, "source_asset", &source)?;
    let target_id = assets.resolve(&w, "target_asset", &target)?;
    let scan = client
        .scan("swaps", "swaps", |s| {
            let text = |k: &str| {
                s.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            text("sourceAssetId") == source_id
                && text("targetAssetId") == target_id
                && decimal(s.get(side.wire)) == Some(side.amount)
        })
        .await?;
    Ok(match scan {
        Scan::Exhausted => Lookup::Absent,
        Scan::Found(candidate) => {
            let id = candidate
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let state = candidate
                .get("state")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Lookup::Unknown {
                reason: format!(
                    "swap `{id}` ({state}) has the same assets and {} `{}`, but Whalestack swaps \
                     carry no reference, so sluice cannot tell whether this step created it; if it \
                     did, resolve the step with `--succeeded {id}`, otherwise with `--retry`",
                    side.neutral, side.amount
                ),
            }
        }
        Scan::Truncated { examined } => Lookup::Unknown {
            reason: format!(
                "none of the {examined} newest swaps matches, but older ones were not checked; \
                 check the Whalestack dashboard for a {source} → {target} swap of {} `{}`",
                side.neutral, side.amount
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::providers::IdempotencyKey;
    use crate::providers::whalestack::client::test_client;

    fn call_with(v: Value, f: impl FnOnce(&Call<'_>)) {
        let map = v.as_object().unwrap().clone();
        let key = IdempotencyKey::new("idk_1").unwrap();
        f(&Call {
            action: "swap",
            with: &map,
            key: &key,
            checkpoint: None,
        });
    }

    #[test]
    fn body_is_exact_and_precision_is_checked_before_sending() {
        let client = test_client(&BTreeMap::new());
        call_with(
            json!({"source_asset": "USDC:GA5Z", "target_asset": "XLM:NATIVE", "source_amount": "100.50"}),
            |call| {
                let wires = preview(&client, call).unwrap();
                assert_eq!(wires[0].path, "/swap");
                assert_eq!(
                    wires[0].body.as_deref(),
                    Some(
                        r#"{"sourceAsset":"USDC:GA5Z","targetAsset":"XLM:NATIVE","sourceAmount":100.50}"#
                    )
                );
                assert!(wires[0].notes.is_empty());
                assert_eq!(wires[1].path, "/swap/commit");
                assert_eq!(wires[1].body.as_deref(), Some(r#"{"swapId":"{swap id}"}"#));
            },
        );
        call_with(
            json!({"source_asset": "USDC", "target_asset": "EURC", "target_amount": "1.12345678"}),
            |call| {
                let err = preview(&client, call).unwrap_err().to_string();
                assert!(err.contains("has 8 decimals but `EURC` allows 7"), "{err}");
            },
        );
        call_with(
            json!({"source_asset": "USDC", "target_asset": "EURC", "target_amount": "5",
                   "extra": {"webhook": "https://h/x"}}),
            |call| {
                let w = &preview(&client, call).unwrap()[0];
                assert_eq!(
                    w.body.as_deref(),
                    Some(
                        r#"{"sourceAsset":"USDC","targetAsset":"EURC","targetAmount":5,"webhook":"https://h/x"}"#
                    )
                );
                assert_eq!(w.notes.len(), 2);
            },
        );
        call_with(
            json!({"source_asset": "A", "target_asset": "B", "source_amount": "1", "target_amount": "1"}),
            |call| assert!(preview(&client, call).is_err()),
        );
    }
}
