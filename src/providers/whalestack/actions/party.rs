//! `customer.create` (POST /customer) and `beneficiary.create` (POST /beneficiary).
//!
//! Both upsert by email, so sending again is harmless; `lookup` still finds the object by
//! email in `GET /customers` / `GET /beneficiaries` so the step records the real id.

use serde_json::{Map, Value};

use crate::catalog::ProviderKind;
use crate::providers::fields::{With, merge};
use crate::providers::whalestack::client::{Client, Scan};
use crate::providers::whalestack::convert;
use crate::providers::{Call, Lookup, Outcome, Output, ProviderError, WireRequest};

/// Which of the two kinds of counterparty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::providers::whalestack) enum Party {
    Customer,
    Beneficiary,
}

impl Party {
    fn envelope(self) -> &'static str {
        match self {
            Party::Customer => "customer",
            Party::Beneficiary => "beneficiary",
        }
    }

    fn list(self) -> &'static str {
        match self {
            Party::Customer => "customers",
            Party::Beneficiary => "beneficiaries",
        }
    }

    fn id_field(self) -> &'static str {
        match self {
            Party::Customer => "customerId",
            Party::Beneficiary => "beneficiaryId",
        }
    }
}

/// Neutral text field → wire field.
const TEXT_FIELDS: &[(&str, &str)] = &[
    ("email", "email"),
    ("first_name", "firstname"),
    ("last_name", "lastname"),
    ("company", "company"),
    ("address_line1", "adr1"),
    ("address_line2", "adr2"),
    ("zip", "zip"),
    ("city", "city"),
    ("country", "countrycode"),
    ("phone", "phonenumber"),
    ("tax_id", "taxid"),
    ("note", "note"),
];

/// The request: `{"customer": {email, firstname, …, meta}}`.
pub(in crate::providers::whalestack) fn build(
    w: &With<'_>,
    party: Party,
    client: &Client,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::Whalestack)?;
    w.required_text("email")?;
    let mut inner = Map::new();
    for (neutral, wire) in TEXT_FIELDS {
        if let Some(v) = w.text(neutral)? {
            inner.insert((*wire).to_string(), Value::String(v));
        }
    }
    if let Some(meta) = w.object("metadata")? {
        inner.insert("meta".into(), Value::Object(meta.clone()));
    }
    let mut body = Map::new();
    body.insert(party.envelope().into(), Value::Object(inner));
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    Ok(WireRequest::new("POST", client.paths().get(party.envelope())).json(&Value::Object(body)))
}

/// Sends the upsert; the output's id is the answer's `customerId`/`beneficiaryId`.
pub(in crate::providers::whalestack) async fn execute(
    client: &Client,
    call: &Call<'_>,
    party: Party,
) -> Result<Outcome, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    let answer = client.send(&build(&w, party, client)?).await?;
    let id = answer
        .get(party.id_field())
        .and_then(Value::as_str)
        .ok_or_else(|| {
            client
                .transport()
                .unexpected(format!("no `{}`", party.id_field()), true)
        })?;
    let mut item = Map::new();
    item.insert("id".into(), id.into());
    if let Some(email) = w.text("email")? {
        item.insert("email".into(), email.into());
    }
    let out = convert::party(&Value::Object(item), answer.clone())
        .map_err(|d| client.transport().unexpected(d, true))?;
    Ok(Outcome::Done(out))
}

/// Reads one counterparty by id.
pub(in crate::providers::whalestack) async fn get(
    client: &Client,
    party: Party,
    id: &str,
) -> Result<Output, ProviderError> {
    let wire = WireRequest::new("GET", client.paths().get(party.envelope())).query("id", id);
    let answer = client.send(&wire).await?;
    let item = answer.get(party.envelope()).ok_or_else(|| {
        client
            .transport()
            .unexpected(format!("no `{}`", party.envelope()), false)
    })?;
    convert::party(item, answer.clone()).map_err(|d| client.transport().unexpected(d, false))
}

/// By id when recorded, else by email in the list; absent (a harmless re-upsert) otherwise.
pub(in crate::providers::whalestack) async fn lookup(
    client: &Client,
    call: &Call<'_>,
    party: Party,
    provider_ref: Option<&str>,
) -> Result<Lookup, ProviderError> {
    if let Some(id) = provider_ref {
        return Ok(Lookup::Found(get(client, party, id).await?));
    }
    let w = With::new(client.transport().provider(), call);
    let email = w.required_text("email")?;
    let scan = client
        .scan(party.list(), party.list(), |item| {
            item.get("email")
                .and_then(Value::as_str)
                .is_some_and(|e| e.eq_ignore_ascii_case(&email))
        })
        .await?;
    match scan {
        Scan::Found(item) => Ok(Lookup::Found(
            convert::party(&item, item.clone())
                .map_err(|d| client.transport().unexpected(d, false))?,
        )),
        Scan::Exhausted | Scan::Truncated { .. } => Ok(Lookup::Absent),
    }
}
