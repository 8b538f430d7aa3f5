//! `transfer` as a payout: `POST /payouts`, `GET /payouts/{id}`.
//!
//! The body follows the seed: `{amount (minor units), currency, recipient, description,
//! metadata}`; `recipient` is passed as the workflow gives it (a mapping such as `{type,
//! name, email, bank_account: {...}}`), `metadata` carries `idempotency_key`, and the
//! request an `Idempotency-Key`.

use serde_json::{Map, Value};

use super::client::{Client, Search};
use super::convert;
use crate::catalog::ProviderKind;
use crate::providers::fields::{With, merge};
use crate::providers::{Call, Lookup, Outcome, Output, ProviderError, WireRequest};

/// `POST /payouts`.
pub(super) fn build(
    w: &With<'_>,
    call: &Call<'_>,
    client: &Client,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::Whitestones)?;
    let amount = w.required_amount("amount")?;
    let currency = w.required_text("currency")?.to_ascii_uppercase();
    let recipient = w.object("recipient")?.ok_or_else(|| {
        w.invalid("`recipient` is required: a mapping such as `{type, name, email, bank_account}`")
    })?;
    let mut body = Map::new();
    body.insert(
        "amount".into(),
        convert::to_minor(w, "amount", amount, &currency)?.into(),
    );
    body.insert("currency".into(), currency.into());
    body.insert("recipient".into(), Value::Object(recipient.clone()));
    if let Some(d) = w.text("description")? {
        body.insert("description".into(), d.into());
    }
    let mut meta = w.object("metadata")?.cloned().unwrap_or_default();
    meta.insert("idempotency_key".into(), call.key.as_str().into());
    body.insert("metadata".into(), Value::Object(meta));
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    Ok(WireRequest::new("POST", client.paths().get("payouts"))
        .header("Idempotency-Key", call.key.as_str())
        .json(&Value::Object(body)))
}

pub(super) fn output(client: &Client, item: &Value, write: bool) -> Result<Output, ProviderError> {
    Ok(convert::payout(item)
        .map_err(|d| client.transport().unexpected(d, write))?
        .0)
}

/// Creates the payout.
pub(super) async fn execute(
    client: &Client,
    w: &With<'_>,
    call: &Call<'_>,
) -> Result<Outcome, ProviderError> {
    let answer = client.send(&build(w, call, client)?).await?;
    Ok(Outcome::Done(output(client, &answer, true)?))
}

/// `GET /payouts/{id}`.
pub(super) async fn get(client: &Client, id: &str) -> Result<Output, ProviderError> {
    let answer = client
        .send(&WireRequest::new(
            "GET",
            client.paths().with_id("payout", id),
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
        match client.search("payouts_search", call.key.as_str()).await? {
            Search::Found(item) => Lookup::Found(output(client, &item, false)?),
            Search::Absent => Lookup::Absent,
            Search::Unknown(reason) => Lookup::Unknown { reason },
        },
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::IdempotencyKey;
    use crate::providers::whitestones::client::test_client;

    #[test]
    fn payout_body_is_minor_units_with_key_in_metadata_and_header() {
        let client = test_client();
        let map = json!({
            "amount": "50.00", "currency": "usd", "description": "Freelance payment - Project ABC",
            "recipient": {"type": "individual", "name": "Jane Smith",
                          "bank_account": {"account_number": "1234567890", "routing_number": "021000021"}},
            "metadata": {"project_id": "proj_123"}
        });
        let map = map.as_object().unwrap().clone();
        let key = IdempotencyKey::new("idk_po1").unwrap();
        let call = Call {
            action: "transfer",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = With::new("wst", &call);
        let wire = build(&w, &call, &client).unwrap();
        assert_eq!(wire.path, "/payouts");
        assert_eq!(
            wire.headers[0],
            ("Idempotency-Key".into(), "idk_po1".into())
        );
        assert_eq!(
            wire.body.as_deref(),
            Some(concat!(
                r#"{"amount":5000,"currency":"USD","recipient":{"type":"individual","name":"Jane Smith","#,
                r#""bank_account":{"account_number":"1234567890","routing_number":"021000021"}},"#,
                r#""description":"Freelance payment - Project ABC","metadata":{"project_id":"proj_123","idempotency_key":"idk_po1"}}"#
            ))
        );
        let map = json!({"amount": "50.001", "currency": "USD", "recipient": {"name": "x"}});
        let map = map.as_object().unwrap().clone();
        let call = Call {
            action: "transfer",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = With::new("wst", &call);
        assert!(
            build(&w, &call, &client)
                .unwrap_err()
                .to_string()
                .contains("allows 2")
        );
    }
}
