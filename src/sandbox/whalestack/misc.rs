//! Whalestack's small endpoints: `ping` and `time` (public), `auth-test`, the catalogue
//! (`assets`, `networks`, `currencies`) and `exchange-rate`.
//!
//! `GET /time` reports the machine's clock, the one digest timestamps are checked against.
//! `GET /exchange-rate` quotes from the price table with no spread (`deviation` is `0.000`);
//! `pair` is target group / source group and `exchangeRate` is `1:<source units per target
//! unit>`, as in the seed's example.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};

use super::catalog;
use super::error::WsError;
use super::input::{self, STELLAR_DP};
use crate::sandbox::clock::Clock;
use crate::sandbox::format::stellar;
use crate::sandbox::prices::Round;
use crate::sandbox::state::Shared;

/// `GET /ping`.
pub async fn ping() -> Json<Value> {
    Json(json!({ "success": true }))
}

/// `GET /time`.
pub async fn time() -> Json<Value> {
    Json(json!({ "time": Clock::wall_unix() }))
}

/// `GET /auth-test`: reaching it means the credentials passed.
pub async fn auth_test() -> Json<Value> {
    Json(json!({ "success": true }))
}

/// `GET /assets`.
pub async fn assets() -> Json<Value> {
    Json(catalog::assets_json())
}

/// `GET /networks`.
pub async fn networks() -> Json<Value> {
    Json(catalog::networks_json())
}

/// `GET /currencies`.
pub async fn currencies() -> Json<Value> {
    Json(catalog::currencies_json())
}

/// `GET /exchange-rate?sourceAsset=&targetAsset=&amount=&switch=`.
pub async fn exchange_rate(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let params: Map<String, Value> = query
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let source = input::asset(&params, "sourceAsset")?;
    let target = input::asset(&params, "targetAsset")?;
    let amount = input::opt_stellar_amount(&params, "amount")?
        .ok_or_else(|| WsError::bad_request("`amount` is mandatory"))?;
    let switch = input::opt_str(&params, "switch")?.unwrap_or("send-amount");
    let prices = &shared.prices;
    let no_rate = || {
        WsError::bad_request(format!(
            "no rate between `{}` and `{}`",
            source.id, target.id
        ))
    };
    let (source_amount, target_amount) = match switch {
        "send-amount" => (
            amount,
            prices
                .convert(amount, source.id, target.id, STELLAR_DP, Round::Down)
                .ok_or_else(no_rate)?,
        ),
        "receive-amount" => (
            prices
                .convert(amount, target.id, source.id, STELLAR_DP, Round::Up)
                .ok_or_else(no_rate)?,
            amount,
        ),
        other => {
            return Err(WsError::bad_request(format!(
                "`switch` must be `send-amount` or `receive-amount`, got `{other}`"
            )));
        }
    };
    let rate: Decimal = prices
        .rate(target.id, source.id)
        .ok_or_else(no_rate)?
        .round_dp_with_strategy(STELLAR_DP, RoundingStrategy::MidpointAwayFromZero);
    Ok(Json(json!({
        "sourceAsset": source.id,
        "sourceAmount": source_amount.normalize().to_string(),
        "targetAsset": target.id,
        "targetAmount": stellar(target_amount),
        "pair": format!("{}/{}", target.group, source.group),
        "exchangeRate": format!("1:{}", stellar(rate)),
        "deviation": "0.000",
        "switch": switch,
    })))
}
