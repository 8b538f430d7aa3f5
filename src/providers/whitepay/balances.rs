//! `balance.get`, `rate.get` and `swap` (a balance conversion), all keyed by currency ticker.
//!
//! - `balance.get`: `GET /private-api/balances`; with `asset` (or `currency`) the output's
//!   amount is that balance, without it `balances` maps tickers to values.
//! - `rate.get`: the source balance's `GET /private-api/balances/{id}`; the output carries
//!   the target's `exchange_rate` and, with `amount`, the amount times the rate (exact).
//! - `swap`: `POST /private-api/balances/{id}` with `{"currency_to", "amount_to_convert"}`,
//!   the amount a decimal string checked against the source currency's `precision`.
//!   Whitepay converts a given source amount only, so the provider requires `source_amount`.
//!   A conversion carries no reference: a lost answer can only be looked up by id.

use serde_json::{Map, Value};

use super::client::Client;
use super::convert;
use crate::catalog::ProviderKind;
use crate::providers::fields::{self, With, extra_query, merge};
use crate::providers::output::{NormalizedState, State, Unit};
use crate::providers::{Call, Lookup, Outcome, Output, ProviderError, WireRequest};

/// The ticker of `balance.get`: `asset` or `currency`.
fn ticker(w: &With<'_>) -> Result<Option<(String, &'static str)>, ProviderError> {
    w.only(ProviderKind::Whitepay)?;
    match (w.text("asset")?, w.text("currency")?) {
        (Some(_), Some(_)) => Err(w.invalid("give `asset` or `currency`, not both")),
        (Some(a), None) => Ok(Some((a, "asset"))),
        (None, Some(c)) => Ok(Some((c, "currency"))),
        (None, None) => Ok(None),
    }
}

/// `balance.get`'s request.
pub(super) fn preview_balance(
    client: &Client,
    w: &With<'_>,
) -> Result<Vec<WireRequest>, ProviderError> {
    ticker(w)?;
    Ok(vec![extra_query(w, client.balances_wire())?])
}

/// Reads the balance(s).
pub(super) async fn balance(client: &Client, w: &With<'_>) -> Result<Outcome, ProviderError> {
    let ticker = ticker(w)?;
    let wire = extra_query(w, client.balances_wire())?;
    let answer = client.send(&wire).await?;
    let balances: Vec<super::wire::BalanceWire> = serde_json::from_value(
        answer.get("balances").cloned().unwrap_or(Value::Null),
    )
    .map_err(|e| {
        client
            .transport()
            .unexpected(format!("balances: {e}"), false)
    })?;
    let mut out = Output::new(State::implied(NormalizedState::Succeeded), answer.clone());
    match ticker {
        Some((ticker, field)) => {
            let b = balances
                .iter()
                .find(|b| b.currency.ticker.eq_ignore_ascii_case(&ticker))
                .ok_or_else(|| {
                    w.invalid(format!("`{field}`: the account has no `{ticker}` balance"))
                })?;
            out.id = Some(b.id.clone());
            out.amount = fields::decimal(b.value.as_ref());
            out.unit = Some(Unit::Asset(b.currency.ticker.clone()));
            if let Some(p) = b.currency.precision {
                out.fields.insert("precision".into(), p.into());
            }
        }
        None => {
            let all: Map<String, Value> = balances
                .iter()
                .map(|b| (b.currency.ticker.clone(), convert::text(b.value.as_ref())))
                .collect();
            out.fields.insert("balances".into(), Value::Object(all));
        }
    }
    Ok(Outcome::Done(out))
}

/// `rate.get`'s requests: the balances, then the source balance's rates.
pub(super) fn preview_rate(
    client: &Client,
    w: &With<'_>,
) -> Result<Vec<WireRequest>, ProviderError> {
    w.only(ProviderKind::Whitepay)?;
    let source = w.required_text("source_asset")?;
    w.required_text("target_asset")?;
    w.amount("amount")?;
    Ok(vec![
        client.balances_wire(),
        WireRequest::new(
            "GET",
            client
                .paths()
                .with_id("balance", &format!("{{{source} balance id}}")),
        )
        .note(format!(
            "the id of the `{source}` balance is read from the first request"
        )),
    ])
}

/// Reads the source balance's rate to the target.
pub(super) async fn rate(client: &Client, w: &With<'_>) -> Result<Outcome, ProviderError> {
    w.only(ProviderKind::Whitepay)?;
    let source = w.required_text("source_asset")?;
    let target = w.required_text("target_asset")?;
    let amount = w.amount("amount")?;
    let balance = client.balance(w, "source_asset", &source).await?;
    let (rates, answer) = client.rates(&balance.id).await?;
    let to = rates
        .currencies
        .iter()
        .find(|c| c.ticker.eq_ignore_ascii_case(&target))
        .ok_or_else(|| {
            let there: Vec<String> = rates
                .currencies
                .iter()
                .map(|c| format!("`{}`", c.ticker))
                .collect();
            w.invalid(format!(
                "`{source}` converts to {} but not to `{target}`",
                there.join(", ")
            ))
        })?;
    let rate = fields::decimal(to.exchange_rate.as_ref());
    let mut out = Output::new(State::implied(NormalizedState::Succeeded), answer);
    out.id = Some(rates.id.clone());
    out.unit = Some(Unit::Asset(to.ticker.clone()));
    out.amount = match (amount, rate) {
        (Some(a), Some(r)) => a.checked_mul(r),
        _ => None,
    };
    out.fields.insert(
        "exchange_rate".into(),
        convert::text(to.exchange_rate.as_ref()),
    );
    out.fields
        .insert("source_asset".into(), rates.currency.ticker.clone().into());
    if let Some(p) = to.precision {
        out.fields.insert("target_precision".into(), p.into());
    }
    out.fields.insert(
        "min_exchange_amount".into(),
        convert::text(rates.currency.min_exchange_amount.as_ref()),
    );
    Ok(Outcome::Done(out))
}

/// `POST /private-api/balances/{balance_id}`, checked against `precision` when known.
fn build_swap(
    w: &With<'_>,
    client: &Client,
    balance_id: &str,
    precision: Option<u32>,
) -> Result<WireRequest, ProviderError> {
    if w.text("target_amount")?.is_some() {
        return Err(w.invalid(
            "Whitepay converts a given source amount only; give `source_amount` instead of `target_amount`",
        ));
    }
    w.only(ProviderKind::Whitepay)?;
    let source = w.required_text("source_asset")?;
    let amount = w.required_amount("source_amount")?;
    if let Some(p) = precision {
        w.check_scale("source_amount", amount, &source, p)?;
    }
    let mut body = Map::new();
    body.insert(
        "currency_to".into(),
        w.required_text("target_asset")?.into(),
    );
    body.insert("amount_to_convert".into(), amount.to_string().into());
    if let Some(extra) = w.extra()? {
        merge(&mut body, extra);
    }
    Ok(
        WireRequest::new("POST", client.paths().with_id("balance", balance_id))
            .json(&Value::Object(body)),
    )
}

/// The swap's requests: the balances read, then the conversion.
pub(super) fn preview_swap(
    client: &Client,
    w: &With<'_>,
) -> Result<Vec<WireRequest>, ProviderError> {
    let source = w.required_text("source_asset")?;
    let convert = build_swap(w, client, &format!("{{{source} balance id}}"), None)?.note(format!(
        "the id of the `{source}` balance is read from the first request, and `source_amount` \
         is checked against that currency's `precision` before sending"
    ));
    Ok(vec![client.balances_wire(), convert])
}

/// Converts; the output is the created transaction (`INIT`).
pub(super) async fn swap(client: &Client, w: &With<'_>) -> Result<Outcome, ProviderError> {
    let source = w.required_text("source_asset")?;
    let balance = client.balance(w, "source_asset", &source).await?;
    let wire = build_swap(w, client, &balance.id, balance.currency.precision)?;
    let answer = client.send(&wire).await?;
    let out = convert::transaction(&answer).map_err(|d| client.transport().unexpected(d, true))?;
    Ok(Outcome::Done(out))
}

/// `GET /private-api/transactions/{id}`.
pub(super) async fn transaction(client: &Client, id: &str) -> Result<Output, ProviderError> {
    let answer = client
        .send(&WireRequest::new(
            "GET",
            client.paths().with_id("transaction", id),
        ))
        .await?;
    convert::transaction(&answer).map_err(|d| client.transport().unexpected(d, false))
}

/// By id when recorded; otherwise it cannot be told.
pub(super) async fn lookup_swap(
    client: &Client,
    call: &Call<'_>,
    provider_ref: Option<&str>,
) -> Result<Lookup, ProviderError> {
    if let Some(id) = provider_ref {
        return Ok(Lookup::Found(transaction(client, id).await?));
    }
    let w = With::new(client.transport().provider(), call);
    Ok(Lookup::Unknown {
        reason: format!(
            "Whitepay conversions carry no reference, so a conversion whose answer was lost \
             cannot be found by sluice; check the Whitepay CRM for a CONVERT transaction of \
             `{}` `{}` to `{}`, then resolve with `--succeeded <transaction id>` or `--retry`",
            w.text("source_amount")?.unwrap_or_default(),
            w.text("source_asset")?.unwrap_or_default(),
            w.text("target_asset")?.unwrap_or_default(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::IdempotencyKey;
    use crate::providers::whitepay::client::test_client;

    #[test]
    fn conversion_body_is_exact_and_checked_against_precision() {
        let client = test_client();
        let map = json!({"source_asset": "DOGE", "target_asset": "USDT", "source_amount": "40"});
        let map = map.as_object().unwrap().clone();
        let key = IdempotencyKey::new("idk_sw").unwrap();
        let call = Call {
            action: "swap",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = With::new("wp", &call);
        let wire = build_swap(&w, &client, "9a747ebd-1b42", Some(8)).unwrap();
        assert_eq!(wire.path, "/private-api/balances/9a747ebd-1b42");
        assert_eq!(
            wire.body.as_deref(),
            Some(r#"{"currency_to":"USDT","amount_to_convert":"40"}"#)
        );
        let preview = preview_swap(&client, &w).unwrap();
        assert_eq!(preview[0].path, "/private-api/balances");
        assert_eq!(preview[1].path, "/private-api/balances/{DOGE balance id}");

        let map = json!({"source_asset": "USDT", "target_asset": "BTC", "source_amount": "1.005"});
        let map = map.as_object().unwrap().clone();
        let call = Call {
            action: "swap",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = With::new("wp", &call);
        let err = build_swap(&w, &client, "b1", Some(2)).unwrap_err();
        assert!(
            err.to_string()
                .contains("has 3 decimals but `USDT` allows 2"),
            "{err}"
        );

        let map = json!({"source_asset": "USDT", "target_asset": "BTC", "target_amount": "1"});
        let map = map.as_object().unwrap().clone();
        let call = Call {
            action: "swap",
            with: &map,
            key: &key,
            checkpoint: None,
        };
        let w = With::new("wp", &call);
        assert!(
            build_swap(&w, &client, "b1", None)
                .unwrap_err()
                .to_string()
                .contains("source amount only")
        );
    }
}
