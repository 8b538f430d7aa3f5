//! `transfer`: POST /transfer, then (after the checkpoint) POST /transfer/commit.
//!
//! The transfer's `note` carries the idempotency marker `[sluice:KEY]` (after the
//! workflow's own note, if any), which is how `lookup` finds a transfer whose create
//! answer was lost: it pages through `GET /transfers` for that marker (each item wrapped
//! as `{"transfer": {...}}`, as the seed's example shows, or bare).

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::two_phase::{self, TRANSFER};
use crate::catalog::ProviderKind;
use crate::providers::fields::{With, merge, number};
use crate::providers::whalestack::assets::Resolver;
use crate::providers::whalestack::client::{Client, Scan};
use crate::providers::whalestack::convert;
use crate::providers::{Call, IdempotencyKey, Lookup, Marked, Outcome, ProviderError, WireRequest};

/// Stellar's precision.
const DECIMALS: u32 = 7;

/// `POST /transfer` with `{network, asset, amount, amountType, targetAccount, note, webhook}`.
fn build(
    w: &With<'_>,
    call: &Call<'_>,
    client: &Client,
    assets: &Resolver<'_>,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::Whalestack)?;
    let asset = w.required_text("asset")?;
    let amount = w.required_amount("amount")?;
    w.check_scale("amount", amount, &asset, DECIMALS)?;
    let mut body = Map::new();
    body.insert("network".into(), w.required_text("network")?.into());
    body.insert("asset".into(), assets.resolve(w, "asset", &asset)?.into());
    body.insert("amount".into(), number(amount));
    if let Some(kind) = w.text("amount_type")? {
        if kind != "source" && kind != "target" {
            return Err(w.invalid(format!(
                "`amount_type` must be `source` or `target`, got `{kind}`"
            )));
        }
        body.insert("amountType".into(), kind.into());
    }
    if let Some(account) = w.text("target_account")? {
        body.insert("targetAccount".into(), account.into());
    }
    let note = match w.text("note")? {
        Some(note) => format!("{note} {}", call.key.marker()),
        None => call.key.marker(),
    };
    body.insert("note".into(), note.into());
    if let Some(hook) = w.text("webhook")? {
        body.insert("webhook".into(), hook.into());
    }
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    let mut wire =
        WireRequest::new("POST", client.paths().get("transfer")).json(&Value::Object(body));
    if let Some(note) = assets.note("asset", &asset) {
        wire = wire.note(note);
    }
    Ok(wire)
}

/// The create and the commit, as a plan shows them.
pub(in crate::providers::whalestack) fn preview(
    client: &Client,
    call: &Call<'_>,
) -> Result<Vec<WireRequest>, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    let create = build(&w, call, client, &Resolver::as_given())?;
    let commit = two_phase::commit_wire(client, TRANSFER, "{transfer id}").note(
        "sent after the transfer id is checkpointed, and only if the transfer is still \
         PENDING_API_COMMIT",
    );
    Ok(vec![create, commit])
}

/// Creates the transfer, or continues from a checkpoint to the commit.
pub(in crate::providers::whalestack) async fn execute(
    client: &Client,
    call: &Call<'_>,
) -> Result<Outcome, ProviderError> {
    if let Some(checkpoint) = call.checkpoint {
        return two_phase::resume(client, TRANSFER, call, checkpoint).await;
    }
    let w = With::new(client.transport().provider(), call);
    let asset = w.required_text("asset")?;
    let assets = client.resolver(&[&asset]).await?;
    let answer = client.send(&build(&w, call, client, &assets)?).await?;
    two_phase::created(client, TRANSFER, &answer)
}

/// A `GET /transfers` item: the seed's example wraps each one as `{"transfer": {...}}`
/// (its field table lists the fields bare); both are read.
fn unwrap_item(item: &Value) -> &Value {
    item.get("transfer")
        .filter(|t| t.is_object())
        .unwrap_or(item)
}

/// By id when known; otherwise the transfer whose note carries this step's marker.
pub(in crate::providers::whalestack) async fn lookup(
    client: &Client,
    call: &Call<'_>,
    provider_ref: Option<&str>,
) -> Result<Lookup, ProviderError> {
    if let Some(id) = two_phase::known_id(call, provider_ref) {
        return Ok(two_phase::found(
            TRANSFER,
            two_phase::get(client, TRANSFER, &id).await?,
        ));
    }
    let marker = call.key.marker();
    let scan = client
        .scan("transfers", "transfers", |t| {
            unwrap_item(t)
                .get("note")
                .and_then(Value::as_str)
                .is_some_and(|n| n.contains(&marker))
        })
        .await?;
    Ok(match scan {
        Scan::Found(item) => {
            let mut answer = Map::new();
            answer.insert("transfer".into(), unwrap_item(&item).clone());
            let tp = convert::transfer(&Value::Object(answer))
                .map_err(|d| client.transport().unexpected(d, false))?;
            two_phase::found(TRANSFER, tp)
        }
        Scan::Exhausted => Lookup::Absent,
        Scan::Truncated { examined } => Lookup::Unknown {
            reason: format!(
                "none of the {examined} newest transfers carries `{marker}` in its note, but \
                 older ones were not checked; search the Whalestack dashboard for that note"
            ),
        },
    })
}

/// Pages a listing for reconciliation reads at most: the newest 100,000 transfers.
const LIST_PAGES: usize = 400;

/// Every transfer whose note carries a sluice marker, newest first, from `GET /transfers`.
pub(in crate::providers::whalestack) async fn list_marked(
    client: &Client,
) -> Result<Vec<Marked>, ProviderError> {
    let mut marked = Vec::new();
    let mut unreadable = None;
    client
        .walk("transfers", "transfers", LIST_PAGES, |item| {
            let item = unwrap_item(item);
            let key = item
                .get("note")
                .and_then(Value::as_str)
                .and_then(IdempotencyKey::find_marker);
            if let Some(key) = key {
                let mut answer = Map::new();
                answer.insert("transfer".into(), item.clone());
                match convert::transfer(&Value::Object(answer)) {
                    Ok(tp) => marked.push(Marked {
                        key,
                        created_at: item
                            .get("timestamp")
                            .and_then(Value::as_str)
                            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                            .map(|t| t.with_timezone(&Utc)),
                        output: tp.output,
                    }),
                    Err(d) => {
                        unreadable = Some(d);
                        return ControlFlow::Break(());
                    }
                }
            }
            ControlFlow::Continue(())
        })
        .await?;
    match unreadable {
        Some(d) => Err(client.transport().unexpected(d, false)),
        None => Ok(marked),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::providers::IdempotencyKey;
    use crate::providers::whalestack::client::test_client;

    #[test]
    fn list_items_are_read_wrapped_as_the_seed_shows_or_bare() {
        let bare = json!({"id": "t1", "note": "x"});
        let wrapped = json!({"transfer": bare.clone()});
        assert_eq!(unwrap_item(&wrapped), &bare);
        assert_eq!(unwrap_item(&bare), &bare);
    }

    #[test]
    fn note_carries_the_marker_and_body_is_exact() {
        let client = test_client(&BTreeMap::new());
        let map = json!({
            "network": "SEPA", "asset": "EURC", "amount": "1250.00",
            "target_account": "payroll-iban-7", "note": "Payroll May"
        });
        let map = map.as_object().unwrap().clone();
        let key = IdempotencyKey::new("idk_r1.pay.e7").unwrap();
        let call = Call {
            action: "transfer",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let wires = preview(&client, &call).unwrap();
        assert_eq!(
            wires[0].body.as_deref(),
            Some(
                r#"{"network":"SEPA","asset":"EURC","amount":1250.00,"targetAccount":"payroll-iban-7","note":"Payroll May [sluice:idk_r1.pay.e7]"}"#
            )
        );
        assert_eq!(wires[0].notes.len(), 1);
        assert_eq!(
            wires[1].body.as_deref(),
            Some(r#"{"transferId":"{transfer id}"}"#)
        );

        let bad = json!({"network": "SEPA", "asset": "EURC", "amount": "1", "recipient": {"x": 1}});
        let bad = bad.as_object().unwrap().clone();
        let call = Call {
            action: "transfer",
            with: &bad,
            key: &key,
            checkpoint: None,
        };
        assert!(
            preview(&client, &call)
                .unwrap_err()
                .to_string()
                .contains("`recipient`")
        );
    }
}
