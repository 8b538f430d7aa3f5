//! `deposit_address.create`: POST /deposit-address with `{network, asset, webhook}`.
//!
//! The answer has no id: the output carries the address `fields` (address, or memo and
//! account on Stellar, or bank details) and the limits. Asking again returns the account's
//! address for that network and moves no money, so `lookup` answers absent.

use serde_json::{Map, Value};

use crate::catalog::ProviderKind;
use crate::providers::fields::{self, With, merge};
use crate::providers::output::{NormalizedState, State};
use crate::providers::whalestack::assets::Resolver;
use crate::providers::whalestack::client::Client;
use crate::providers::whalestack::convert;
use crate::providers::{Call, Outcome, Output, ProviderError, WireRequest};

fn build(
    w: &With<'_>,
    client: &Client,
    assets: &Resolver<'_>,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::Whalestack)?;
    let asset = w.required_text("asset")?;
    let mut body = Map::new();
    body.insert("network".into(), w.required_text("network")?.into());
    body.insert("asset".into(), assets.resolve(w, "asset", &asset)?.into());
    if let Some(hook) = w.text("webhook")? {
        body.insert("webhook".into(), hook.into());
    }
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    let mut wire =
        WireRequest::new("POST", client.paths().get("deposit_address")).json(&Value::Object(body));
    if let Some(note) = assets.note("asset", &asset) {
        wire = wire.note(note);
    }
    Ok(wire)
}

/// The request, as a plan shows it.
pub(in crate::providers::whalestack) fn preview(
    client: &Client,
    call: &Call<'_>,
) -> Result<Vec<WireRequest>, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    Ok(vec![build(&w, client, &Resolver::as_given())?])
}

/// Creates (or returns) the deposit address.
pub(in crate::providers::whalestack) async fn execute(
    client: &Client,
    call: &Call<'_>,
) -> Result<Outcome, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    let asset = w.required_text("asset")?;
    let assets = client.resolver(&[&asset]).await?;
    let answer = client.send(&build(&w, client, &assets)?).await?;
    let address = answer
        .get("depositAddress")
        .ok_or_else(|| client.transport().unexpected("no `depositAddress`", true))?;
    let mut out = Output::new(State::implied(NormalizedState::Succeeded), answer.clone());
    if let Some(network) = fields::text(address, "network") {
        out.fields.insert("network".into(), network.into());
    }
    out.fields.insert(
        "deposit_address".into(),
        address.get("fields").cloned().unwrap_or(Value::Null),
    );
    out.fields.insert(
        "min_amount".into(),
        convert::text(fields::decimal(address.get("minAmount"))),
    );
    out.fields.insert(
        "max_amount".into(),
        convert::text(fields::decimal(address.get("maxAmount"))),
    );
    Ok(Outcome::Done(out))
}

/// `GET /deposit?id=`: a deposit's current state.
pub(in crate::providers::whalestack) async fn get_deposit(
    client: &Client,
    id: &str,
) -> Result<Output, ProviderError> {
    let wire = WireRequest::new("GET", client.paths().get("deposit")).query("id", id);
    let answer = client.send(&wire).await?;
    convert::deposit(&answer).map_err(|d| client.transport().unexpected(d, false))
}
