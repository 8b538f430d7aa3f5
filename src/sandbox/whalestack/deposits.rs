//! Whalestack deposits, which in the sandbox arrive when a test or a user says so
//! (`POST /__sandbox/whalestack/deposits`): PENDING_EXTERNAL with DEPOSIT_PENDING, then after
//! the deposit delay COMPLETED with DEPOSIT_COMPLETED and the amount credited. Read back
//! with `GET /deposit?id=` and `GET /deposits`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::catalog;
use super::error::WsError;
use super::input;
use crate::catalog::ProviderKind;
use crate::sandbox::format::{stellar, w3c};
use crate::sandbox::ids;
use crate::sandbox::ledger::Posting;
use crate::sandbox::state::{Ctx, Shared, World};
use crate::sandbox::timers::Due;

/// One deposit.
#[derive(Debug, Clone)]
pub struct Deposit {
    id: String,
    state: &'static str,
    created: DateTime<Utc>,
    network: &'static str,
    asset: &'static str,
    amount: Decimal,
    webhook: Option<String>,
    address: Value,
    txs: Vec<Value>,
}

impl Deposit {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "state": self.state,
            "timestamp": w3c(self.created),
            "network": self.network,
            "networkName": catalog::network(self.network).map(|n| n.name),
            "asset": self.asset,
            "currencyCode": catalog::asset_exact(self.asset).map(|a| a.group),
            "amountGross": stellar(self.amount),
            "amountNet": stellar(self.amount),
            "amountFees": stellar(Decimal::ZERO),
            "webhook": self.webhook,
            "customerId": null,
            "blockchainTransactions": self.txs,
            "depositAddress": self.address,
            "bankTransactions": null,
        })
    }

    fn tx(&self, cx: &Ctx<'_>, kind: &str, description: &str, network: &str) -> Value {
        json!({
            "type": kind,
            "typeDescription": description,
            "network": network,
            "networkName": catalog::network(network).map_or(network, |n| n.name),
            "timestamp": w3c(cx.now),
            "tx": ids::hex(64),
            "amount": stellar(self.amount),
            "amountAssetCode": self.asset.split(':').next().unwrap_or_default(),
        })
    }
}

fn emit(world: &mut World, event: &str, id: &str) {
    let Some(d) = world.whalestack.deposits.get(id) else {
        return;
    };
    // The webhook examples show the deposit address as the address string itself, where
    // `GET /deposit` shows the fields object.
    let mut deposit = d.to_json();
    let address = d.address["fields"]
        .as_object()
        .and_then(|f| f.values().next())
        .cloned();
    deposit["depositAddress"] = address.unwrap_or(Value::Null);
    let body = json!({"eventType": event, "data": {"deposit": deposit}});
    let url = d.webhook.clone();
    world.emit(ProviderKind::Whalestack, event, id, url, &body);
}

/// A deposit of `amount` of `asset` arrives on `network`.
pub fn simulate(
    world: &mut World,
    cx: &Ctx<'_>,
    network: &str,
    asset: &str,
    amount: Decimal,
) -> Result<Value, WsError> {
    let network = catalog::network(network)
        .filter(|n| n.deposits || matches!(n.id, "SWIFT" | "SEPA"))
        .ok_or_else(|| {
            WsError::bad_request(format!("`network`: `{network}` does not take deposits"))
        })?;
    let asset = catalog::asset(asset)
        .filter(|a| a.networks.contains(&network.id))
        .ok_or_else(|| {
            WsError::bad_request(format!("`{asset}` cannot be deposited on {}", network.id))
        })?;
    if amount <= Decimal::ZERO || amount.normalize().scale() > input::STELLAR_DP {
        return Err(WsError::bad_request(
            "`amount` must be positive with at most 7 decimals",
        ));
    }
    let address = catalog::deposit_address(network.id, asset.id, "wallet", None)
        .map(|mut a| {
            if let Value::Object(m) = &mut a {
                m.remove("minAmount");
                m.remove("maxAmount");
            }
            a
        })
        .unwrap_or(Value::Null);
    let mut deposit = Deposit {
        id: ids::hex(12),
        state: "PENDING_EXTERNAL",
        created: cx.now,
        network: network.id,
        asset: asset.id,
        amount,
        webhook: world
            .whalestack
            .deposit_webhooks
            .get(&(network.id.to_string(), asset.id.to_string()))
            .cloned(),
        address,
        txs: Vec::new(),
    };
    deposit.txs.push(deposit.tx(
        cx,
        "DEPOSIT_ORIGIN",
        "Blockchain transaction on the source network.",
        network.id,
    ));
    let (id, out) = (deposit.id.clone(), deposit.to_json());
    world.whalestack.deposits.insert(id.clone(), deposit);
    world
        .timers
        .schedule(cx.after(cx.config.delays.deposit), Due::Deposit(id.clone()));
    emit(world, "DEPOSIT_PENDING", &id);
    Ok(out)
}

/// Timer: a pending deposit completes and is credited.
pub fn finish(world: &mut World, cx: &Ctx<'_>, id: &str) {
    let Some(d) = world.whalestack.deposits.get(id) else {
        return;
    };
    if d.state != "PENDING_EXTERNAL" {
        return;
    }
    let (asset, amount) = (d.asset, d.amount);
    let posted = world.post(
        cx,
        Posting {
            provider: ProviderKind::Whalestack,
            kind: "deposit.credit",
            object_id: id,
            asset,
            amount,
            idempotency_key: None,
            reference: None,
        },
    );
    debug_assert!(posted.is_ok(), "a credit cannot be refused");
    let d = world
        .whalestack
        .deposits
        .get_mut(id)
        .expect("checked above");
    let settlement = d.tx(
        cx,
        "DEPOSIT_SETTLEMENT",
        "Stellar transaction crediting your Whalestack merchant account.",
        "STELLAR",
    );
    d.txs.push(settlement);
    d.state = "COMPLETED";
    emit(world, "DEPOSIT_COMPLETED", id);
}

/// `GET /deposit?id=`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let id = input::query_id(&query)?;
    shared.with_world(|world, _| {
        let d = world
            .whalestack
            .deposits
            .get(id)
            .ok_or_else(|| WsError::not_found("deposit", id))?;
        Ok(Json(json!({ "deposit": d.to_json() })))
    })
}

/// `GET /deposits`.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let (limit, offset) = input::page(&query)?;
    Ok(shared.with_world(|world, _| {
        let all = &world.whalestack.deposits;
        let items: Vec<Value> = all.page(offset, limit).map(Deposit::to_json).collect();
        Json(json!({"count": all.len(), "limit": limit, "offset": offset, "deposits": items}))
    }))
}
