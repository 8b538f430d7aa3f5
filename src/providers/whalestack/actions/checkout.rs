//! `checkout.create` (POST /checkout/hosted, or POST /checkout with `mode: self_hosted`)
//! and `checkout.commit` (POST /checkout/commit).
//!
//! The charge is one line item: `description` (else `reference`, else `Payment`) for
//! `amount` in the billing `currency`, sent as a JSON number with its exact digits. The
//! checkout's `meta` carries the workflow's `metadata`, its `reference` and
//! `idempotency_key`; the API returns `meta` inside `payload` of every checkout, which is
//! how `lookup` finds a checkout whose create answer was lost (`GET /checkouts`).

use serde_json::{Map, Value};

use crate::catalog::ProviderKind;
use crate::providers::fields::{self, With, merge, number};
use crate::providers::output::{NormalizedState, State, Unit};
use crate::providers::whalestack::assets::Resolver;
use crate::providers::whalestack::client::{Client, Scan};
use crate::providers::whalestack::convert;
use crate::providers::whalestack::wire::CheckoutState;
use crate::providers::{Call, Lookup, Outcome, Output, ProviderError, WireRequest};

fn build_create(
    w: &With<'_>,
    call: &Call<'_>,
    client: &Client,
    assets: &Resolver<'_>,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::Whalestack)?;
    let amount = w.required_amount("amount")?;
    let currency = w.required_text("currency")?;
    crate::money::check_precision(amount, &currency).map_err(|e| w.money_error("amount", e))?;
    let op = match w.text("mode")?.as_deref() {
        None | Some("hosted") => "checkout_hosted",
        Some("self_hosted") => "checkout",
        Some(other) => {
            return Err(w.invalid(format!(
                "`mode` must be `hosted` or `self_hosted`, got `{other}`"
            )));
        }
    };
    let description = match (w.text("description")?, w.text("reference")?) {
        (Some(d), _) | (None, Some(d)) => d,
        (None, None) => "Payment".to_string(),
    };
    let mut item = Map::new();
    item.insert("description".into(), description.into());
    item.insert("netAmount".into(), number(amount));
    let mut charge = Map::new();
    if let Some(customer) = w.text("customer_id")? {
        charge.insert("customerId".into(), customer.into());
    }
    charge.insert("billingCurrency".into(), currency.into());
    charge.insert("lineItems".into(), Value::Array(vec![Value::Object(item)]));

    let mut body = Map::new();
    body.insert("charge".into(), Value::Object(charge));
    let mut notes = Vec::new();
    if let Some(asset) = w.text("settlement_asset")? {
        body.insert(
            "settlementAsset".into(),
            assets.resolve(w, "settlement_asset", &asset)?.into(),
        );
        notes.extend(assets.note("settlement_asset", &asset));
    }
    if let Some(hook) = w.text("webhook")? {
        body.insert("webhook".into(), hook.into());
    }
    let mut page = Map::new();
    for (neutral, wire) in [("return_url", "returnUrl"), ("cancel_url", "cancelUrl")] {
        if let Some(url) = w.text(neutral)? {
            page.insert(wire.into(), url.into());
        }
    }
    if !page.is_empty() {
        body.insert("pageSettings".into(), Value::Object(page));
    }
    let mut meta = w.object("metadata")?.cloned().unwrap_or_default();
    if let Some(reference) = w.text("reference")? {
        meta.insert("reference".into(), reference.into());
    }
    meta.insert("idempotency_key".into(), call.key.as_str().into());
    body.insert("meta".into(), Value::Object(meta));
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    let mut wire = WireRequest::new("POST", client.paths().get(op)).json(&Value::Object(body));
    for n in notes {
        wire = wire.note(n);
    }
    Ok(wire)
}

/// The create request, as a plan shows it.
pub(in crate::providers::whalestack) fn preview_create(
    client: &Client,
    call: &Call<'_>,
) -> Result<Vec<WireRequest>, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    Ok(vec![build_create(&w, call, client, &Resolver::as_given())?])
}

/// Creates the checkout; the output carries the hosted `url` (or the self-hosted
/// `payment_methods`).
pub(in crate::providers::whalestack) async fn create(
    client: &Client,
    call: &Call<'_>,
) -> Result<Outcome, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    let assets = match w.text("settlement_asset")? {
        Some(asset) => client.resolver(&[&asset]).await?,
        None => client.resolver(&[]).await?,
    };
    let answer = client
        .send(&build_create(&w, call, client, &assets)?)
        .await?;
    let id = fields::text(&answer, "id")
        .ok_or_else(|| client.transport().unexpected("no `id`", true))?;
    let mut out = Output::new(State::implied(NormalizedState::Pending), answer.clone());
    out.id = Some(id);
    out.amount = w.amount("amount")?;
    out.unit = w.text("currency")?.map(Unit::Currency);
    if let Some(url) = fields::text(&answer, "url") {
        out.fields.insert("url".into(), url.into());
    }
    if let Some(methods) = answer.get("paymentMethods") {
        out.fields.insert("payment_methods".into(), methods.clone());
    }
    Ok(Outcome::Done(out))
}

/// `GET /checkout?id=`.
pub(in crate::providers::whalestack) async fn get(
    client: &Client,
    id: &str,
) -> Result<(Output, CheckoutState), ProviderError> {
    let wire = WireRequest::new("GET", client.paths().get("checkout")).query("id", id);
    let answer = client.send(&wire).await?;
    convert::checkout(&answer).map_err(|d| client.transport().unexpected(d, false))
}

/// By id when recorded, else the checkout whose `meta.idempotency_key` is this step's key.
pub(in crate::providers::whalestack) async fn lookup_create(
    client: &Client,
    call: &Call<'_>,
    provider_ref: Option<&str>,
) -> Result<Lookup, ProviderError> {
    if let Some(id) = provider_ref {
        return Ok(Lookup::Found(get(client, id).await?.0));
    }
    let key = call.key.as_str();
    let scan = client
        .scan("checkouts", "checkouts", |c| {
            c.pointer("/payload/meta/idempotency_key")
                .and_then(Value::as_str)
                == Some(key)
        })
        .await?;
    Ok(match scan {
        Scan::Found(item) => Lookup::Found(
            convert::checkout_object(&item, item.clone())
                .map_err(|d| client.transport().unexpected(d, false))?
                .0,
        ),
        Scan::Exhausted => Lookup::Absent,
        Scan::Truncated { examined } => Lookup::Unknown {
            reason: format!(
                "none of the {examined} newest checkouts has `meta.idempotency_key` `{key}`, but \
                 older ones were not checked; search the Whalestack dashboard for it"
            ),
        },
    })
}

fn build_commit(
    w: &With<'_>,
    client: &Client,
    assets: &Resolver<'_>,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::Whalestack)?;
    let asset = w.required_text("asset")?;
    let mut body = Map::new();
    body.insert("checkoutId".into(), w.required_text("checkout_id")?.into());
    body.insert("network".into(), w.required_text("network")?.into());
    body.insert("asset".into(), assets.resolve(w, "asset", &asset)?.into());
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    let mut wire =
        WireRequest::new("POST", client.paths().get("checkout_commit")).json(&Value::Object(body));
    if let Some(note) = assets.note("asset", &asset) {
        wire = wire.note(note);
    }
    Ok(wire)
}

/// The commit request, as a plan shows it.
pub(in crate::providers::whalestack) fn preview_commit(
    client: &Client,
    call: &Call<'_>,
) -> Result<Vec<WireRequest>, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    Ok(vec![build_commit(&w, client, &Resolver::as_given())?])
}

/// Commits the customer's payment method; the output carries the deposit instructions.
pub(in crate::providers::whalestack) async fn commit(
    client: &Client,
    call: &Call<'_>,
) -> Result<Outcome, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    let asset = w.required_text("asset")?;
    let assets = client.resolver(&[&asset]).await?;
    let answer = client.send(&build_commit(&w, client, &assets)?).await?;
    let instructions = answer.get("depositInstructions").ok_or_else(|| {
        client
            .transport()
            .unexpected("no `depositInstructions`", true)
    })?;
    let mut out = Output::new(State::implied(NormalizedState::Pending), answer.clone());
    out.id = fields::text(&answer, "checkoutId").or(w.text("checkout_id")?);
    out.amount = fields::decimal(instructions.get("amount"));
    out.unit = fields::text(instructions, "assetCode").map(Unit::Asset);
    for (wire, neutral) in [
        ("address", "address"),
        ("memo", "memo"),
        ("memoType", "memo_type"),
        ("network", "network"),
    ] {
        if let Some(v) = fields::text(instructions, wire) {
            out.fields.insert(neutral.into(), v.into());
        }
    }
    if let Some(t) = fields::text(&answer, "expirationTime") {
        out.fields.insert("expiration_time".into(), t.into());
    }
    if let Some(settlement) = answer.get("settlement") {
        out.fields.insert(
            "settlement_amount".into(),
            convert::text(fields::decimal(settlement.get("amount"))),
        );
        if let Some(a) = fields::text(settlement, "assetId") {
            out.fields.insert("settlement_asset".into(), a.into());
        }
    }
    Ok(Outcome::Done(out))
}

/// The checkout's state tells: still `PENDING_CHARGE` means the commit did not happen.
pub(in crate::providers::whalestack) async fn lookup_commit(
    client: &Client,
    call: &Call<'_>,
) -> Result<Lookup, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    let id = w.required_text("checkout_id")?;
    let (out, state) = get(client, &id).await?;
    Ok(match state {
        CheckoutState::PendingCharge => Lookup::Absent,
        CheckoutState::Unknown(s) => Lookup::Unknown {
            reason: format!(
                "checkout `{id}` is in state `{s}`, which sluice does not know; check it in the Whalestack dashboard"
            ),
        },
        CheckoutState::NewCharge
        | CheckoutState::InProgress
        | CheckoutState::Completed
        | CheckoutState::Expired
        | CheckoutState::UnresolvedGeneric
        | CheckoutState::UnresolvedUnderpaid
        | CheckoutState::Refunded
        | CheckoutState::ResolvedRefunded
        | CheckoutState::ResolvedOther => Lookup::Found(out),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::providers::IdempotencyKey;
    use crate::providers::whalestack::client::test_client;

    #[test]
    fn hosted_checkout_body_is_exact() {
        let client = test_client(&BTreeMap::new());
        let map = json!({
            "amount": "169.99", "currency": "EUR", "description": "PCI Graphics Card",
            "settlement_asset": "USDC:GA5Z", "return_url": "https://shop/ok",
            "reference": "order-7", "metadata": {"order": 7}
        });
        let map = map.as_object().unwrap().clone();
        let key = IdempotencyKey::new("idk_co").unwrap();
        let call = Call {
            action: "checkout.create",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = &preview_create(&client, &call).unwrap()[0];
        assert_eq!(w.path, "/checkout/hosted");
        assert_eq!(
            w.body.as_deref(),
            Some(concat!(
                r#"{"charge":{"billingCurrency":"EUR","lineItems":[{"description":"PCI Graphics Card","netAmount":169.99}]},"#,
                r#""settlementAsset":"USDC:GA5Z","pageSettings":{"returnUrl":"https://shop/ok"},"#,
                r#""meta":{"order":7,"reference":"order-7","idempotency_key":"idk_co"}}"#
            ))
        );
        let map = json!({"amount": "10.001", "currency": "EUR"});
        let map = map.as_object().unwrap().clone();
        let call = Call {
            action: "checkout.create",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let err = preview_create(&client, &call).unwrap_err().to_string();
        assert!(err.contains("has 3 decimals but `EUR` allows 2"), "{err}");
    }

    #[test]
    fn commit_body_is_exact() {
        let client = test_client(&BTreeMap::new());
        let map =
            json!({"checkout_id": "6d55626309d6", "network": "STELLAR", "asset": "XLM:NATIVE"});
        let map = map.as_object().unwrap().clone();
        let key = IdempotencyKey::new("idk_cc").unwrap();
        let call = Call {
            action: "checkout.commit",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = &preview_commit(&client, &call).unwrap()[0];
        assert_eq!(
            w.body.as_deref(),
            Some(r#"{"checkoutId":"6d55626309d6","network":"STELLAR","asset":"XLM:NATIVE"}"#)
        );
    }
}
