//! `customer.create`: POST /customers, form-encoded `{name, email, description}`.
//!
//! `name` is the workflow's `name`, or `first_name last_name`. The description carries the
//! idempotency marker `[sluice:KEY]`, which `lookup` looks for in `GET /customers`.

use serde_json::{Map, Value};

use super::client::Client;
use super::convert;
use super::wire::encode_form;
use crate::catalog::ProviderKind;
use crate::providers::fields::{With, merge};
use crate::providers::{Call, Lookup, Outcome, Output, ProviderError, WireRequest};

/// `POST /customers`, form-encoded.
pub(super) fn build(
    w: &With<'_>,
    call: &Call<'_>,
    client: &Client,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::White)?;
    let mut body = Map::new();
    let name = match (w.text("name")?, w.text("first_name")?, w.text("last_name")?) {
        (Some(name), None, None) => Some(name),
        (Some(_), _, _) => {
            return Err(w.invalid("give `name`, or `first_name` and `last_name`, not both"));
        }
        (None, first, last) => {
            let joined = [first, last]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!joined.is_empty()).then_some(joined)
        }
    };
    if let Some(name) = name {
        body.insert("name".into(), name.into());
    }
    body.insert("email".into(), w.required_text("email")?.into());
    let description = match w.text("description")? {
        Some(d) => format!("{d} {}", call.key.marker()),
        None => call.key.marker(),
    };
    body.insert("description".into(), description.into());
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    Ok(WireRequest::new("POST", client.paths().get("customers")).form(encode_form(&body)))
}

fn output(client: &Client, item: &Value, write: bool) -> Result<Output, ProviderError> {
    convert::customer(item, item.clone()).map_err(|d| client.transport().unexpected(d, write))
}

/// Creates the customer.
pub(super) async fn execute(
    client: &Client,
    w: &With<'_>,
    call: &Call<'_>,
) -> Result<Outcome, ProviderError> {
    let answer = client.send(&build(w, call, client)?).await?;
    Ok(Outcome::Done(output(client, &answer, true)?))
}

/// `GET /customers/{id}`.
pub(super) async fn get(client: &Client, id: &str) -> Result<Output, ProviderError> {
    let answer = client
        .send(&WireRequest::new(
            "GET",
            client.paths().with_id("customer", id),
        ))
        .await?;
    output(client, &answer, false)
}

/// By id when recorded, else the customer whose description carries this step's marker.
pub(super) async fn lookup(
    client: &Client,
    call: &Call<'_>,
    provider_ref: Option<&str>,
) -> Result<Lookup, ProviderError> {
    if let Some(id) = provider_ref {
        return Ok(Lookup::Found(get(client, id).await?));
    }
    let marker = call.key.marker();
    let answer = client
        .send(&WireRequest::new("GET", client.paths().get("customers")))
        .await?;
    let items = client.items(&answer, "customers")?;
    Ok(
        match items.iter().find(|c| {
            c.get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.contains(&marker))
        }) {
            Some(item) => Lookup::Found(output(client, item, false)?),
            None => Lookup::Absent,
        },
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::providers::IdempotencyKey;
    use crate::providers::white::client::test_client;

    #[test]
    fn name_is_joined_and_marker_appended() {
        let client = test_client(&BTreeMap::new());
        let map = json!({"email": "a@b.co", "first_name": "Abdullah", "last_name": "Ahmed",
                         "extra": {"card": "tok_1"}});
        let map = map.as_object().unwrap().clone();
        let key = IdempotencyKey::new("idk_cu").unwrap();
        let call = Call {
            action: "customer.create",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = With::new("wh", &call);
        let wire = build(&w, &call, &client).unwrap();
        assert_eq!(
            wire.body.as_deref(),
            Some("name=Abdullah+Ahmed&email=a%40b.co&description=%5Bsluice%3Aidk_cu%5D&card=tok_1")
        );
    }
}
