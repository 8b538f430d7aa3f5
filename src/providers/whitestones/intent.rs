//! `checkout.create` as a payment intent: `POST /payment_intents`, `GET
//! /payment_intents/{id}`.
//!
//! The body follows the seed: `{amount (minor units), currency, description, customer:
//! {email, name}, metadata, return_url, cancel_url}`; `metadata` carries the workflow's
//! metadata, its `reference` and `idempotency_key`, and the request an `Idempotency-Key`.

use serde_json::{Map, Value};

use super::client::{Client, Search};
use super::convert;
use crate::catalog::ProviderKind;
use crate::providers::fields::{With, merge};
use crate::providers::{Call, Lookup, Outcome, Output, ProviderError, WireRequest};

/// `POST /payment_intents`.
pub(super) fn build(
    w: &With<'_>,
    call: &Call<'_>,
    client: &Client,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::Whitestones)?;
    let amount = w.required_amount("amount")?;
    let currency = w.required_text("currency")?.to_ascii_uppercase();
    let mut body = Map::new();
    body.insert(
        "amount".into(),
        convert::to_minor(w, "amount", amount, &currency)?.into(),
    );
    body.insert("currency".into(), currency.into());
    if let Some(d) = w.text("description")? {
        body.insert("description".into(), d.into());
    }
    let mut customer = Map::new();
    for (neutral, wire) in [("customer_email", "email"), ("customer_name", "name")] {
        if let Some(v) = w.text(neutral)? {
            customer.insert(wire.into(), v.into());
        }
    }
    if !customer.is_empty() {
        body.insert("customer".into(), Value::Object(customer));
    }
    let mut meta = w.object("metadata")?.cloned().unwrap_or_default();
    if let Some(reference) = w.text("reference")? {
        meta.insert("reference".into(), reference.into());
    }
    meta.insert("idempotency_key".into(), call.key.as_str().into());
    body.insert("metadata".into(), Value::Object(meta));
    for field in ["return_url", "cancel_url"] {
        if let Some(v) = w.text(field)? {
            body.insert(field.into(), v.into());
        }
    }
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    Ok(
        WireRequest::new("POST", client.paths().get("payment_intents"))
            .header("Idempotency-Key", call.key.as_str())
            .json(&Value::Object(body)),
    )
}

pub(super) fn output(client: &Client, item: &Value, write: bool) -> Result<Output, ProviderError> {
    Ok(convert::intent(item)
        .map_err(|d| client.transport().unexpected(d, write))?
        .0)
}

/// Creates the payment intent; the output carries its `payment_url`.
pub(super) async fn execute(
    client: &Client,
    w: &With<'_>,
    call: &Call<'_>,
) -> Result<Outcome, ProviderError> {
    let answer = client.send(&build(w, call, client)?).await?;
    Ok(Outcome::Done(output(client, &answer, true)?))
}

/// `GET /payment_intents/{id}`.
pub(super) async fn get(client: &Client, id: &str) -> Result<Output, ProviderError> {
    let answer = client
        .send(&WireRequest::new(
            "GET",
            client.paths().with_id("payment_intent", id),
        ))
        .await?;
    output(client, &answer, false)
}

/// By id when recorded, else a search by idempotency key.
pub(super) async fn lookup(
    client: &Client,
    call: &Call<'_>,
    provider_ref: Option<&str>,
) -> Result<Lookup, ProviderError> {
    if let Some(id) = provider_ref {
        return Ok(Lookup::Found(get(client, id).await?));
    }
    Ok(
        match client
            .search("payment_intents_search", call.key.as_str())
            .await?
        {
            Search::Found(item) => Lookup::Found(output(client, &item, false)?),
            Search::Absent => Lookup::Absent,
            Search::Unknown(reason) => Lookup::Unknown { reason },
        },
    )
}
