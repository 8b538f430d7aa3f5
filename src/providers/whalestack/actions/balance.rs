//! `balance.get`: GET /wallet?asset= for one asset, GET /wallets for all.
//!
//! With an asset, the output's amount is that wallet's balance. Without, `balances` maps
//! each asset id to its balance (as a decimal string). The docs' example of `GET /wallets`
//! shows a single `wallet` object while its table describes a `wallets` list; both are read.

use serde_json::{Map, Value};

use crate::catalog::ProviderKind;
use crate::providers::fields::{self, With, extra_query};
use crate::providers::output::{NormalizedState, State, Unit};
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
    let wire = match w.text("asset")? {
        Some(asset) => {
            let mut wire = WireRequest::new("GET", client.paths().get("wallet"))
                .query("asset", assets.resolve(w, "asset", &asset)?);
            if let Some(note) = assets.note("asset", &asset) {
                wire = wire.note(note);
            }
            wire
        }
        None => WireRequest::new("GET", client.paths().get("wallets")),
    };
    extra_query(w, wire)
}

/// The request, as a plan shows it.
pub(in crate::providers::whalestack) fn preview(
    client: &Client,
    call: &Call<'_>,
) -> Result<Vec<WireRequest>, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    Ok(vec![build(&w, client, &Resolver::as_given())?])
}

/// Reads the balance(s).
pub(in crate::providers::whalestack) async fn execute(
    client: &Client,
    call: &Call<'_>,
) -> Result<Outcome, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    let asset = w.text("asset")?;
    let assets = match &asset {
        Some(a) => client.resolver(&[a]).await?,
        None => client.resolver(&[]).await?,
    };
    let answer = client.send(&build(&w, client, &assets)?).await?;
    let mut out = Output::new(State::implied(NormalizedState::Succeeded), answer.clone());
    let wallets: Vec<&Value> = match (answer.get("wallets"), answer.get("wallet")) {
        (Some(Value::Array(list)), _) => list.iter().collect(),
        (_, Some(one)) => vec![one],
        _ => {
            return Err(client
                .transport()
                .unexpected("no `wallet` or `wallets`", false));
        }
    };
    if asset.is_some() {
        let wallet = wallets[0];
        out.amount = fields::decimal(wallet.get("balance"));
        out.unit = fields::text(wallet, "asset").map(Unit::Asset);
        if let Some(code) = fields::text(wallet, "currencyCode") {
            out.fields.insert("currency_code".into(), code.into());
        }
    } else {
        let balances: Map<String, Value> = wallets
            .iter()
            .filter_map(|w| {
                let asset = fields::text(w, "asset")?;
                Some((asset, convert::text(fields::decimal(w.get("balance")))))
            })
            .collect();
        out.fields
            .insert("balances".into(), Value::Object(balances));
    }
    Ok(Outcome::Done(out))
}
