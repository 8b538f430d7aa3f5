//! `rate.get`: GET /exchange-rate?sourceAsset=&targetAsset=&amount=&switch=send-amount.
//!
//! The docs make `amount` mandatory (so Whalestack's catalog table requires it); `switch`
//! defaults to `send-amount` and can be changed through `extra`. The output's amount is
//! the target amount; `exchange_rate` stays the provider's text (`1:30819.0913175`).

use crate::catalog::ProviderKind;
use crate::providers::fields::{self, With, extra_query};
use crate::providers::output::{NormalizedState, State, Unit};
use crate::providers::whalestack::assets::Resolver;
use crate::providers::whalestack::client::Client;
use crate::providers::whalestack::convert;
use crate::providers::{Call, Outcome, Output, ProviderError, WireRequest};

/// Stellar's precision.
const DECIMALS: u32 = 7;

fn build(
    w: &With<'_>,
    client: &Client,
    assets: &Resolver<'_>,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::Whalestack)?;
    let source = w.required_text("source_asset")?;
    let target = w.required_text("target_asset")?;
    let amount = w.required_amount("amount")?;
    w.check_scale("amount", amount, &source, DECIMALS)?;
    let mut wire = WireRequest::new("GET", client.paths().get("exchange_rate"))
        .query("sourceAsset", assets.resolve(w, "source_asset", &source)?)
        .query("targetAsset", assets.resolve(w, "target_asset", &target)?)
        .query("amount", amount.to_string())
        .query("switch", "send-amount");
    for (field, value) in [("source_asset", &source), ("target_asset", &target)] {
        if let Some(note) = assets.note(field, value) {
            wire = wire.note(note);
        }
    }
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

/// Reads the rate.
pub(in crate::providers::whalestack) async fn execute(
    client: &Client,
    call: &Call<'_>,
) -> Result<Outcome, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    let source = w.required_text("source_asset")?;
    let target = w.required_text("target_asset")?;
    let assets = client.resolver(&[&source, &target]).await?;
    let answer = client.send(&build(&w, client, &assets)?).await?;
    let mut out = Output::new(State::implied(NormalizedState::Succeeded), answer.clone());
    out.amount = fields::decimal(answer.get("targetAmount"));
    out.unit = fields::text(&answer, "targetAsset").map(Unit::Asset);
    out.fields.insert(
        "source_amount".into(),
        convert::text(fields::decimal(answer.get("sourceAmount"))),
    );
    for (wire, neutral) in [
        ("sourceAsset", "source_asset"),
        ("exchangeRate", "exchange_rate"),
        ("pair", "pair"),
        ("deviation", "deviation"),
        ("switch", "switch"),
    ] {
        if let Some(v) = fields::text(&answer, wire) {
            out.fields.insert(neutral.into(), v.into());
        }
    }
    Ok(Outcome::Done(out))
}
