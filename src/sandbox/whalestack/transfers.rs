//! Whalestack transfers to a registered target account: a quote (`POST /transfer`,
//! PENDING_API_COMMIT), its commit (`POST /transfer/commit`, PROCESSING) and the result after
//! the transfer delay (COMPLETED with TRANSFER_COMPLETED, or FAILED with TRANSFER_FAILED and
//! the debit returned).
//!
//! The gross amount (the amount plus the network fee for `amountType: target`) is checked
//! against the wallet on create and debited on commit; committing twice is refused and moves
//! nothing. The `note` is kept and shown, and recorded in the ledger: it is how a client
//! finds a transfer again, since the API has no idempotency keys. A transfer fails when told
//! to (`POST /__sandbox/outcomes`) or when its target account's label starts with `fail`.
//! LIGHTNING transfers need an `invoice` and, in the sandbox, an explicit `amount` (invoices
//! are not decoded).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::accounts;
use super::catalog;
use super::error::WsError;
use super::input;
use crate::catalog::ProviderKind;
use crate::sandbox::format::{stellar, w3c};
use crate::sandbox::ids;
use crate::sandbox::ledger::Posting;
use crate::sandbox::state::{Ctx, Shared, World};
use crate::sandbox::timers::Due;

/// One transfer.
#[derive(Debug, Clone)]
pub struct Transfer {
    id: String,
    state: &'static str,
    network: &'static str,
    created: DateTime<Utc>,
    note: Option<String>,
    asset: &'static str,
    gross: Decimal,
    fee: Decimal,
    account: Option<Value>,
    label: Option<String>,
    txs: Vec<Value>,
    webhook: Option<String>,
}

impl Transfer {
    fn net(&self) -> Decimal {
        self.gross - self.fee
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": "TRANSFER",
            "state": self.state,
            "origin": "API",
            "network": self.network,
            "timestamp": w3c(self.created),
            "note": self.note,
            "sourceAmountGross": stellar(self.gross),
            "sourceAsset": self.asset,
            "networkFeeAmount": stellar(self.fee),
            "networkFeeAsset": self.asset,
            "targetAmountNet": stellar(self.net()),
            "targetAsset": self.asset,
            "blockchainTransactions": self.txs,
            "targetAccount": self.account,
            "webhook": self.webhook,
        })
    }
}

fn insufficient(asset: &str, available: Decimal, needed: Decimal) -> WsError {
    WsError::bad_request(format!(
        "insufficient funds: wallet `{asset}` holds {} but the transfer needs {}",
        stellar(available),
        stellar(needed)
    ))
}

/// `POST /transfer`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    let network_id = input::req_str(&body, "network")?;
    let network = catalog::network(network_id)
        .filter(|n| n.transfers)
        .ok_or_else(|| {
            WsError::bad_request(format!("`network`: `{network_id}` does not take transfers"))
        })?;
    let asset = input::asset(&body, "asset")?;
    if !network.assets.contains(&asset.id) {
        return Err(WsError::bad_request(format!(
            "`{}` cannot be transferred on {}",
            asset.id, network.id
        )));
    }
    let amount = input::opt_stellar_amount(&body, "amount")?
        .ok_or_else(|| WsError::bad_request("`amount` is mandatory"))?;
    let target_specified = match input::opt_str(&body, "amountType")? {
        None | Some("source") => false,
        Some("target") => true,
        Some(other) => {
            return Err(WsError::bad_request(format!(
                "`amountType` must be `source` or `target`, got `{other}`"
            )));
        }
    };
    let label = if network.id == "LIGHTNING" {
        input::req_str(&body, "invoice")?;
        None
    } else {
        Some(input::req_str(&body, "targetAccount")?.to_string())
    };
    let note = input::opt_str(&body, "note")?.map(str::to_string);
    let webhook = input::opt_str(&body, "webhook")?.map(str::to_string);
    shared.with_world(|world, cx| {
        let account = match &label {
            None => None,
            Some(label) => {
                if world.whalestack.target_accounts.get(label).is_none()
                    && cx.config.auto_target_accounts
                {
                    accounts::register_placeholder(world, cx, network.id, label)?;
                }
                let account = world.whalestack.target_accounts.get(label).ok_or_else(|| {
                    WsError::bad_request(format!(
                        "target account `{label}` not found (register it with POST /target-account)"
                    ))
                })?;
                if account.network != network.id {
                    return Err(WsError::bad_request(format!(
                        "target account `{label}` is on {}, not {}",
                        account.network, network.id
                    )));
                }
                Some(account.to_json())
            }
        };
        let fee = cx
            .config
            .fees
            .network
            .get(network.id)
            .copied()
            .unwrap_or_default();
        let gross = if target_specified {
            amount + fee
        } else {
            amount
        };
        if gross <= fee {
            return Err(WsError::bad_request(format!(
                "`amount` does not cover the {} network fee of {}",
                network.id,
                stellar(fee)
            )));
        }
        let available = world.books.balance(ProviderKind::Whalestack, asset.id);
        if available < gross {
            return Err(insufficient(asset.id, available, gross));
        }
        let transfer = Transfer {
            id: ids::hex(12),
            state: "PENDING_API_COMMIT",
            network: network.id,
            created: cx.now,
            note,
            asset: asset.id,
            gross,
            fee,
            account,
            label,
            txs: Vec::new(),
            webhook,
        };
        let out = transfer.to_json();
        world
            .whalestack
            .transfers
            .insert(transfer.id.clone(), transfer);
        Ok(Json(json!({ "transfer": out })))
    })
}

/// `POST /transfer/commit`.
pub async fn commit(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    let id = input::req_str(&body, "transferId")?;
    shared.with_world(|world, cx| {
        let t = world
            .whalestack
            .transfers
            .get(id)
            .ok_or_else(|| WsError::not_found("transfer", id))?;
        if t.state != "PENDING_API_COMMIT" {
            return Err(WsError::bad_request(format!(
                "transfer `{id}` is {}, not PENDING_API_COMMIT",
                t.state
            )));
        }
        let (asset, gross, note) = (t.asset, t.gross, t.note.clone());
        world
            .post(
                cx,
                Posting {
                    provider: ProviderKind::Whalestack,
                    kind: "transfer.debit",
                    object_id: id,
                    asset,
                    amount: -gross,
                    idempotency_key: None,
                    reference: note.as_deref(),
                },
            )
            .map_err(|e| insufficient(asset, e.available, e.needed))?;
        let t = world.whalestack.transfers.get_mut(id).expect("read above");
        t.state = "PROCESSING";
        let out = t.to_json();
        world.timers.schedule(
            cx.after(cx.config.delays.transfer),
            Due::Transfer(id.to_string()),
        );
        Ok(Json(json!({ "transfer": out })))
    })
}

/// Timer: a PROCESSING transfer completes, or fails and is refunded.
pub fn finish(world: &mut World, cx: &Ctx<'_>, id: &str) {
    let Some(t) = world.whalestack.transfers.get(id) else {
        return;
    };
    if t.state != "PROCESSING" {
        return;
    }
    let fails_by_label = t
        .label
        .as_deref()
        .is_some_and(|l| l.to_ascii_lowercase().starts_with("fail"));
    let failed = world.take_forced_failure(id) || fails_by_label;
    let t = world
        .whalestack
        .transfers
        .get(id)
        .expect("checked above")
        .clone();
    if failed {
        let posted = world.post(
            cx,
            Posting {
                provider: ProviderKind::Whalestack,
                kind: "transfer.reversal",
                object_id: id,
                asset: t.asset,
                amount: t.gross,
                idempotency_key: None,
                reference: t.note.as_deref(),
            },
        );
        debug_assert!(posted.is_ok(), "a credit cannot be refused");
    }
    let t = world
        .whalestack
        .transfers
        .get_mut(id)
        .expect("checked above");
    let event = if failed {
        t.state = "FAILED";
        "TRANSFER_FAILED"
    } else {
        t.state = "COMPLETED";
        let code = t.asset.split(':').next().unwrap_or_default();
        let payout = |network: &str, amount: Decimal| {
            json!({
                "type": "TRANSFER_PAYOUT",
                "typeDescription": "Transaction transferring funds from Whalestack to target account.",
                "network": network,
                "networkName": catalog::network(network).map_or(network, |n| n.name),
                "timestamp": w3c(cx.now),
                "tx": ids::hex(64),
                "amount": stellar(amount),
                "amountAssetCode": code,
            })
        };
        t.txs.push(payout("STELLAR", t.gross));
        if t.network != "STELLAR" {
            t.txs.push(payout(t.network, t.net()));
        }
        "TRANSFER_COMPLETED"
    };
    let body = json!({"eventType": event, "data": {"transfer": t.to_json()}});
    let url = t.webhook.clone();
    world.emit(ProviderKind::Whalestack, event, id, url, &body);
}

/// Test hook: the transfer's gross amount becomes `amount`, as if the provider had corrected
/// it on its side; the ledger is not touched.
///
/// # Errors
/// An unknown transfer.
pub fn set_amount(world: &mut World, id: &str, amount: Decimal) -> Result<Value, WsError> {
    let t = world
        .whalestack
        .transfers
        .get_mut(id)
        .ok_or_else(|| WsError::not_found("transfer", id))?;
    t.gross = amount;
    Ok(json!({ "transfer": t.to_json() }))
}

/// Test hook: the transfer disappears from the API, as if the provider had lost it; the
/// ledger keeps its movements.
///
/// # Errors
/// An unknown transfer.
pub fn forget(world: &mut World, id: &str) -> Result<(), WsError> {
    world
        .whalestack
        .transfers
        .remove(id)
        .map(|_| ())
        .ok_or_else(|| WsError::not_found("transfer", id))
}

/// `GET /transfer?id=`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let id = input::query_id(&query)?;
    shared.with_world(|world, _| {
        let t = world
            .whalestack
            .transfers
            .get(id)
            .ok_or_else(|| WsError::not_found("transfer", id))?;
        Ok(Json(json!({ "transfer": t.to_json() })))
    })
}

/// `GET /transfers`: each item wrapped in `{"transfer": …}`, as the seed shows.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let (limit, offset) = input::page(&query)?;
    Ok(shared.with_world(|world, _| {
        let all = &world.whalestack.transfers;
        let items: Vec<Value> = all
            .page(offset, limit)
            .map(|t| json!({"transfer": t.to_json()}))
            .collect();
        Json(json!({"count": all.len(), "limit": limit, "offset": offset, "transfers": items}))
    }))
}
