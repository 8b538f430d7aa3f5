//! Whalestack wallets (`GET /wallets`, `GET /wallet?asset=`) and deposit addresses
//! (`POST /deposit-address`).
//!
//! `GET /wallets` answers `{"wallets": […]}` as the seed's field table says (its example
//! shows a single `wallet` key, which is the `GET /wallet` shape). Every asset of
//! `GET /assets` has a wallet; balances are the sandbox's books. A deposit address's
//! `webhook` replaces the one given before for that network and asset, as documented.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use super::catalog::{self, ASSETS, Asset};
use super::error::WsError;
use super::input;
use crate::catalog::ProviderKind;
use crate::sandbox::format::stellar;
use crate::sandbox::ids;
use crate::sandbox::state::{Shared, World};

fn wallet_json(world: &World, asset: &Asset) -> Value {
    let networks: Vec<Value> = asset
        .networks
        .iter()
        .map(|n| {
            json!({
                "network": n,
                "depositAddress": catalog::deposit_address(n, asset.id, "wallet", None),
            })
        })
        .collect();
    json!({
        "asset": asset.id,
        "balance": stellar(world.books.balance(ProviderKind::Whalestack, asset.id)),
        "currencyCode": asset.group,
        "networks": networks,
    })
}

/// `GET /wallets`.
pub async fn list(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.with_world(|world, _| {
        let wallets: Vec<Value> = ASSETS.iter().map(|a| wallet_json(world, a)).collect();
        Json(json!({ "wallets": wallets }))
    })
}

/// `GET /wallet?asset=`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let id = query
        .get("asset")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WsError::bad_request("`asset` is mandatory"))?;
    let asset = catalog::asset_exact(id).ok_or_else(|| WsError::not_found("wallet", id))?;
    Ok(shared.with_world(|world, _| Json(json!({ "wallet": wallet_json(world, asset) }))))
}

/// The asset a deposit on `network` credits, from the request where the network has several.
fn deposit_asset(
    body: &serde_json::Map<String, Value>,
    network: &str,
) -> Result<&'static str, WsError> {
    let fixed =
        |code: &str| catalog::asset_id(code).ok_or_else(|| WsError::bad_request("unknown asset"));
    match network {
        "BITCOIN" => fixed("BTC"),
        "LITECOIN" => fixed("LTC"),
        "LIGHTNING" => fixed("BTCLN"),
        "STELLAR" => Ok(input::asset(body, "asset")?.id),
        "SWIFT" | "SEPA" => {
            let asset = input::asset(body, "asset")?;
            if !["USDC", "EURC"].contains(&asset.code()) {
                return Err(WsError::bad_request(format!(
                    "{network} deposits credit USDC or EURC, not `{}`",
                    asset.id
                )));
            }
            Ok(asset.id)
        }
        other => Err(WsError::bad_request(format!(
            "`network`: `{other}` does not take deposits"
        ))),
    }
}

/// `POST /deposit-address`.
pub async fn deposit_address(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    let network = input::req_str(&body, "network")?;
    let asset = deposit_asset(&body, network)?;
    let amount = if network == "LIGHTNING" {
        let amount = input::opt_amount(&body, "amount")?
            .filter(|a| *a > rust_decimal::Decimal::ZERO && a.normalize().scale() == 0)
            .ok_or_else(|| {
                WsError::bad_request("`amount` (a whole number of SAT) is mandatory for LIGHTNING")
            })?;
        Some(amount.to_string())
    } else {
        None
    };
    let webhook = input::opt_str(&body, "webhook")?.map(str::to_string);
    let address = catalog::deposit_address(network, asset, &ids::hex(12), amount.as_deref())
        .ok_or_else(|| {
            WsError::bad_request(format!("`network`: `{network}` does not take deposits"))
        })?;
    shared.with_world(|world, _| {
        if let Some(url) = webhook {
            world
                .whalestack
                .deposit_webhooks
                .insert((network.to_string(), asset.to_string()), url);
        }
    });
    let mut out = json!({ "network": network });
    if let (Value::Object(out), Value::Object(fields)) = (&mut out, address) {
        out.extend(fields);
    }
    Ok(Json(json!({ "depositAddress": out })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deposit_assets_follow_the_network() {
        let empty = serde_json::Map::new();
        assert_eq!(
            deposit_asset(&empty, "BITCOIN").unwrap(),
            catalog::asset_id("BTC").unwrap()
        );
        assert!(deposit_asset(&empty, "STELLAR").is_err());
        assert!(deposit_asset(&empty, "ETHEREUM").is_err());
        let xlm = json!({"asset": "XLM:NATIVE"});
        assert!(deposit_asset(xlm.as_object().unwrap(), "SEPA").is_err());
        assert_eq!(
            deposit_asset(xlm.as_object().unwrap(), "STELLAR").unwrap(),
            "XLM:NATIVE"
        );
    }
}
