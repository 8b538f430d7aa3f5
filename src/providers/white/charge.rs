//! `charge.create` (POST /charges), `charge.capture` (POST /charges/{id}/capture) and
//! `refund.create` (POST /charges/{id}/refunds).
//!
//! The charge's `description` carries the idempotency marker `[sluice:KEY]` (after the
//! workflow's description, if any): White has no idempotency keys and no metadata, and
//! `GET /charges` lists every charge, so `lookup` finds a charge whose answer was lost by
//! its marker. `source` is a card token (`card=tok_…`) or a card object (`card[number]=…`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::client::Client;
use super::convert;
use super::wire::{ChargeState, encode_form};
use crate::catalog::ProviderKind;
use crate::providers::fields::{With, merge};
use crate::providers::{
    Call, IdempotencyKey, Lookup, Marked, Outcome, Output, ProviderError, WireRequest,
};

/// `POST /charges`, form-encoded.
pub(super) fn build_create(
    w: &With<'_>,
    call: &Call<'_>,
    client: &Client,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::White)?;
    let amount = w.required_amount("amount")?;
    let currency = w.required_text("currency")?;
    let minor = convert::to_minor(w, "amount", amount, &currency)?;
    let mut body = Map::new();
    body.insert("amount".into(), minor.into());
    body.insert("currency".into(), currency.to_ascii_lowercase().into());
    if w.text("customer_id")?.is_none() && call.with.get("source").is_none_or(Value::is_null) {
        return Err(w.invalid("give `source` (a card token or card details) or `customer_id`"));
    }
    match call.with.get("source") {
        Some(Value::Object(card)) => {
            body.insert("card".into(), Value::Object(card.clone()));
        }
        None | Some(Value::Null) => {}
        Some(_) => {
            body.insert("card".into(), w.required_text("source")?.into());
        }
    }
    for (neutral, wire) in [
        ("customer_id", "customer_id"),
        ("email", "email"),
        ("ip", "ip"),
        ("statement_descriptor", "statement_descriptor"),
    ] {
        if let Some(v) = w.text(neutral)? {
            body.insert(wire.into(), v.into());
        }
    }
    if let Some(capture) = w.boolean("capture")? {
        body.insert("capture".into(), capture.into());
    }
    let description = match w.text("description")? {
        Some(d) => format!("{d} {}", call.key.marker()),
        None => call.key.marker(),
    };
    body.insert("description".into(), description.into());
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    Ok(WireRequest::new("POST", client.paths().get("charges")).form(encode_form(&body)))
}

/// An optional amount in minor units; converting needs the currency.
fn optional_minor(w: &With<'_>, body: &mut Map<String, Value>) -> Result<(), ProviderError> {
    if w.amount("amount")?.is_none() {
        return Ok(());
    }
    let amount = w.required_amount("amount")?;
    let currency = w.text("currency")?.ok_or_else(|| {
        w.invalid("`currency` is required with `amount` (amounts are sent in minor units)")
    })?;
    body.insert(
        "amount".into(),
        convert::to_minor(w, "amount", amount, &currency)?.into(),
    );
    Ok(())
}

/// `POST /charges/{id}/capture`, form-encoded (`amount` optional).
pub(super) fn build_capture(w: &With<'_>, client: &Client) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::White)?;
    let id = w.required_text("charge_id")?;
    let mut body = Map::new();
    optional_minor(w, &mut body)?;
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    Ok(
        WireRequest::new("POST", client.paths().with_id("charge_capture", &id))
            .form(encode_form(&body)),
    )
}

/// `POST /charges/{id}/refunds`, form-encoded (`amount` and `reason` optional).
pub(super) fn build_refund(w: &With<'_>, client: &Client) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::White)?;
    let id = w.required_text("charge_id")?;
    let mut body = Map::new();
    optional_minor(w, &mut body)?;
    if let Some(reason) = w.text("reason")? {
        body.insert("reason".into(), reason.into());
    }
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    Ok(WireRequest::new("POST", client.paths().with_id("refunds", &id)).form(encode_form(&body)))
}

fn charge_output(
    client: &Client,
    answer: &Value,
    write: bool,
) -> Result<(Output, ChargeState), ProviderError> {
    convert::charge(answer, answer.clone()).map_err(|d| client.transport().unexpected(d, write))
}

/// Sends a charge create or capture; the answer is the charge.
pub(super) async fn send_charge(
    client: &Client,
    wire: &WireRequest,
) -> Result<Outcome, ProviderError> {
    let answer = client.send(wire).await?;
    Ok(Outcome::Done(charge_output(client, &answer, true)?.0))
}

/// Sends a refund.
pub(super) async fn refund(client: &Client, w: &With<'_>) -> Result<Outcome, ProviderError> {
    let answer = client.send(&build_refund(w, client)?).await?;
    let currency = w.text("currency")?;
    let out = convert::refund(&answer, currency.as_deref())
        .map_err(|d| client.transport().unexpected(d, true))?;
    Ok(Outcome::Done(out))
}

/// `GET /charges/{id}`.
pub(super) async fn get(client: &Client, id: &str) -> Result<(Output, ChargeState), ProviderError> {
    let answer = client
        .send(&WireRequest::new(
            "GET",
            client.paths().with_id("charge", id),
        ))
        .await?;
    charge_output(client, &answer, false)
}

/// By id when recorded, else the charge whose description carries this step's marker.
pub(super) async fn lookup_create(
    client: &Client,
    call: &Call<'_>,
    provider_ref: Option<&str>,
) -> Result<Lookup, ProviderError> {
    if let Some(id) = provider_ref {
        return Ok(Lookup::Found(get(client, id).await?.0));
    }
    let marker = call.key.marker();
    let answer = client
        .send(&WireRequest::new("GET", client.paths().get("charges")))
        .await?;
    let items = client.items(&answer, "charges")?;
    let found = items.iter().find(|c| {
        c.get("description")
            .and_then(Value::as_str)
            .is_some_and(|d| d.contains(&marker))
    });
    Ok(match found {
        Some(item) => Lookup::Found(
            convert::charge(item, item.clone())
                .map_err(|d| client.transport().unexpected(d, false))?
                .0,
        ),
        None => Lookup::Absent,
    })
}

/// Every charge whose description carries a sluice marker, newest first, from
/// `GET /charges`: the seed's list takes no parameters and answers every charge at once,
/// failed ones included, so there is no page to follow.
pub(super) async fn list_marked(client: &Client) -> Result<Vec<Marked>, ProviderError> {
    let answer = client
        .send(&WireRequest::new("GET", client.paths().get("charges")))
        .await?;
    let mut marked = Vec::new();
    for item in client.items(&answer, "charges")? {
        let key = item
            .get("description")
            .and_then(Value::as_str)
            .and_then(IdempotencyKey::find_marker);
        if let Some(key) = key {
            marked.push(Marked {
                key,
                created_at: item
                    .get("created_at")
                    .and_then(Value::as_str)
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc)),
                output: charge_output(client, &item, false)?.0,
            });
        }
    }
    Ok(marked)
}

/// The charge's state tells whether the capture happened; an authorisation still waiting
/// (or a failed charge, which the provider would refuse again) means absent.
pub(super) async fn lookup_capture(client: &Client, w: &With<'_>) -> Result<Lookup, ProviderError> {
    let id = w.required_text("charge_id")?;
    let (out, state) = get(client, &id).await?;
    Ok(match state {
        ChargeState::Captured | ChargeState::Refunded | ChargeState::PartiallyRefunded => {
            Lookup::Found(out)
        }
        ChargeState::Authorized | ChargeState::Failed => Lookup::Absent,
        ChargeState::Unknown(s) => Lookup::Unknown {
            reason: format!(
                "charge `{id}` is in state `{s}`, which sluice does not know; check it in the White dashboard"
            ),
        },
    })
}

/// Refunds carry no reference. Absent when the charge has no refund this step could have
/// made (none at all, or none of this step's amount); unknown when one could be this step's.
pub(super) async fn lookup_refund(client: &Client, w: &With<'_>) -> Result<Lookup, ProviderError> {
    let id = w.required_text("charge_id")?;
    let minor = match w.amount("amount")? {
        Some(amount) => {
            let currency = w
                .text("currency")?
                .ok_or_else(|| w.invalid("`currency` is required with `amount`"))?;
            Some(convert::to_minor(w, "amount", amount, &currency)?)
        }
        None => None,
    };
    let answer = client
        .send(&WireRequest::new(
            "GET",
            client.paths().with_id("refunds", &id),
        ))
        .await?;
    let refunds = client.items(&answer, "refunds")?;
    let candidate = refunds.iter().find(|r| match minor {
        Some(m) => r.get("amount").and_then(Value::as_i64) == Some(m),
        None => true,
    });
    Ok(match candidate {
        None => Lookup::Absent,
        Some(r) => {
            let rid = r.get("id").and_then(Value::as_str).unwrap_or_default();
            Lookup::Unknown {
                reason: format!(
                    "charge `{id}` has refund `{rid}` that this step could have made, but White \
                     refunds carry no reference; if it is this step's, resolve with \
                     `--succeeded {rid}`, otherwise with `--retry`"
                ),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::providers::IdempotencyKey;
    use crate::providers::white::client::test_client;

    fn with<T>(v: Value, action: &str, f: impl FnOnce(&With<'_>, &Call<'_>) -> T) -> T {
        let map = v.as_object().unwrap().clone();
        let key = IdempotencyKey::new("idk_c1").unwrap();
        let call = Call {
            action,
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = With::new("wh", &call);
        f(&w, &call)
    }

    #[test]
    fn charge_body_is_form_encoded_in_minor_units() {
        let client = test_client(&BTreeMap::new());
        let wire = with(
            json!({"amount": "10.00", "currency": "AED", "source": "tok_visa",
                   "email": "abdullah@example.com", "description": "Two widgets", "capture": false}),
            "charge.create",
            |w, call| build_create(w, call, &client).unwrap(),
        );
        assert_eq!(wire.path, "/charges");
        assert_eq!(
            wire.body.as_deref(),
            Some(
                "amount=1000&currency=aed&card=tok_visa&email=abdullah%40example.com\
                 &capture=false&description=Two+widgets+%5Bsluice%3Aidk_c1%5D"
            )
        );
        let kwd = with(
            json!({"amount": "1.234", "currency": "KWD", "source": "tok"}),
            "charge.create",
            |w, call| build_create(w, call, &client).unwrap(),
        );
        assert!(kwd.body.unwrap().starts_with("amount=1234&currency=kwd&"));
        let err = with(
            json!({"amount": "12.345", "currency": "AED", "source": "tok"}),
            "charge.create",
            |w, call| build_create(w, call, &client).unwrap_err(),
        );
        assert!(
            err.to_string()
                .contains("has 3 decimals but `AED` allows 2"),
            "{err}"
        );
        let jpy = with(
            json!({"amount": "0.5", "currency": "JPY", "source": "tok"}),
            "charge.create",
            |w, call| build_create(w, call, &client).unwrap_err(),
        );
        assert!(jpy.to_string().contains("`JPY` allows 0"));
        let meta = with(
            json!({"amount": "1", "currency": "AED", "metadata": {"a": 1}}),
            "charge.create",
            |w, call| build_create(w, call, &client).unwrap_err(),
        );
        assert!(meta.to_string().contains("`metadata`"));
    }

    #[test]
    fn capture_and_refund_paths_and_bodies() {
        let client = test_client(&BTreeMap::new());
        let capture = with(
            json!({"charge_id": "ch_9", "amount": "5.5", "currency": "BHD"}),
            "charge.capture",
            |w, _| build_capture(w, &client).unwrap(),
        );
        assert_eq!(capture.path, "/charges/ch_9/capture");
        assert_eq!(capture.body.as_deref(), Some("amount=5500"));
        let refund = with(
            json!({"charge_id": "ch_9", "reason": "requested_by_customer"}),
            "refund.create",
            |w, _| build_refund(w, &client).unwrap(),
        );
        assert_eq!(refund.path, "/charges/ch_9/refunds");
        assert_eq!(refund.body.as_deref(), Some("reason=requested_by_customer"));
        let no_currency = with(
            json!({"charge_id": "ch_9", "amount": "5"}),
            "refund.create",
            |w, _| build_refund(w, &client).unwrap_err(),
        );
        assert!(no_currency.to_string().contains("`currency` is required"));
    }
}
