//! Whalestack swaps: a quote (`POST /swap`, PENDING_API_COMMIT, valid one hour), its commit
//! (`POST /swap/commit`, PROCESSING) and the result after the swap delay (COMPLETED with
//! SWAP_COMPLETED, or FAILED with SWAP_FAILED).
//!
//! The source amount is debited on commit, so two commits can never spend the same balance;
//! the target is credited on completion; a failure returns the source. A quote larger than
//! the wallet is refused, and so is a commit when the balance has fallen since. Committing a
//! swap that is not PENDING_API_COMMIT, or whose quote expired, is refused and moves nothing.
//! Responses use the documented field names (`sourceAssetId`, `targetAssetId`) everywhere.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::error::WsError;
use super::input::{self, STELLAR_DP};
use crate::catalog::ProviderKind;
use crate::sandbox::format::{stellar, w3c};
use crate::sandbox::ids;
use crate::sandbox::ledger::Posting;
use crate::sandbox::prices::Round;
use crate::sandbox::state::{Ctx, Shared, World};
use crate::sandbox::timers::Due;

/// How long a swap quote stays valid.
const QUOTE_VALIDITY: chrono::Duration = chrono::Duration::hours(1);

/// One swap.
#[derive(Debug, Clone)]
pub struct Swap {
    id: String,
    state: &'static str,
    source_specified: bool,
    created: DateTime<Utc>,
    completed: Option<DateTime<Utc>>,
    expires: DateTime<Utc>,
    source_asset: &'static str,
    source_amount: Decimal,
    target_asset: &'static str,
    target_amount: Decimal,
    txs: Vec<Value>,
    webhook: Option<String>,
}

impl Swap {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "state": self.state,
            "type": if self.source_specified { "SOURCE_SPECIFIED" } else { "TARGET_SPECIFIED" },
            "origin": "API",
            "createTime": w3c(self.created),
            "completeTime": self.completed.map(w3c),
            "expireTime": w3c(self.expires),
            "sourceAssetId": self.source_asset,
            "sourceAmount": stellar(self.source_amount),
            "targetAssetId": self.target_asset,
            "targetAmount": stellar(self.target_amount),
            "blockchainTransactions": self.txs,
            "webhook": self.webhook,
        })
    }
}

fn insufficient(asset: &str, available: Decimal, needed: Decimal) -> WsError {
    WsError::bad_request(format!(
        "insufficient funds: wallet `{asset}` holds {} but the swap needs {}",
        stellar(available),
        stellar(needed)
    ))
}

/// `POST /swap`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    let source = input::asset(&body, "sourceAsset")?;
    let target = input::asset(&body, "targetAsset")?;
    if source.id == target.id {
        return Err(WsError::bad_request(
            "`sourceAsset` and `targetAsset` must differ",
        ));
    }
    let source_amount = input::opt_stellar_amount(&body, "sourceAmount")?;
    let target_amount = input::opt_stellar_amount(&body, "targetAmount")?;
    let webhook = input::opt_str(&body, "webhook")?.map(str::to_string);
    shared.with_world(|world, cx| {
        let no_rate = || {
            WsError::bad_request(format!(
                "no rate between `{}` and `{}`",
                source.id, target.id
            ))
        };
        let (source_amount, target_amount, source_specified) = match (source_amount, target_amount)
        {
            (Some(s), None) => {
                let t = cx
                    .prices
                    .convert(s, source.id, target.id, STELLAR_DP, Round::Down)
                    .ok_or_else(no_rate)?;
                (s, t, true)
            }
            (None, Some(t)) => {
                let s = cx
                    .prices
                    .convert(t, target.id, source.id, STELLAR_DP, Round::Up)
                    .ok_or_else(no_rate)?;
                (s, t, false)
            }
            _ => {
                return Err(WsError::bad_request(
                    "give exactly one of `sourceAmount` and `targetAmount`",
                ));
            }
        };
        if target_amount <= Decimal::ZERO {
            return Err(WsError::bad_request("the swap amount is too small"));
        }
        let available = world.books.balance(ProviderKind::Whalestack, source.id);
        if available < source_amount {
            return Err(insufficient(source.id, available, source_amount));
        }
        let swap = Swap {
            id: ids::hex(12),
            state: "PENDING_API_COMMIT",
            source_specified,
            created: cx.now,
            completed: None,
            expires: cx.now + QUOTE_VALIDITY,
            source_asset: source.id,
            source_amount,
            target_asset: target.id,
            target_amount,
            txs: Vec::new(),
            webhook,
        };
        let out = swap.to_json();
        world.whalestack.swaps.insert(swap.id.clone(), swap);
        Ok(Json(json!({ "swap": out })))
    })
}

/// `POST /swap/commit`.
pub async fn commit(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    let id = input::req_str(&body, "swapId")?;
    shared.with_world(|world, cx| {
        let swap = world
            .whalestack
            .swaps
            .get(id)
            .ok_or_else(|| WsError::not_found("swap", id))?;
        if swap.state != "PENDING_API_COMMIT" {
            return Err(WsError::bad_request(format!(
                "swap `{id}` is {}, not PENDING_API_COMMIT",
                swap.state
            )));
        }
        if cx.now > swap.expires {
            return Err(WsError::bad_request(format!(
                "the quote of swap `{id}` expired at {}",
                w3c(swap.expires)
            )));
        }
        let (asset, amount) = (swap.source_asset, swap.source_amount);
        world
            .post(
                cx,
                Posting {
                    provider: ProviderKind::Whalestack,
                    kind: "swap.debit",
                    object_id: id,
                    asset,
                    amount: -amount,
                    idempotency_key: None,
                    reference: None,
                },
            )
            .map_err(|e| insufficient(asset, e.available, e.needed))?;
        let swap = world.whalestack.swaps.get_mut(id).expect("read above");
        swap.state = "PROCESSING";
        let out = swap.to_json();
        world
            .timers
            .schedule(cx.after(cx.config.delays.swap), Due::Swap(id.to_string()));
        Ok(Json(json!({ "swap": out })))
    })
}

/// Timer: a PROCESSING swap completes, or fails when told to.
pub fn finish(world: &mut World, cx: &Ctx<'_>, id: &str) {
    match world.whalestack.swaps.get(id) {
        Some(s) if s.state == "PROCESSING" => {}
        _ => return,
    }
    let failed = world.take_forced_failure(id);
    let swap = world
        .whalestack
        .swaps
        .get(id)
        .expect("checked above")
        .clone();
    let (kind, asset, amount) = if failed {
        ("swap.reversal", swap.source_asset, swap.source_amount)
    } else {
        ("swap.credit", swap.target_asset, swap.target_amount)
    };
    let posted = world.post(
        cx,
        Posting {
            provider: ProviderKind::Whalestack,
            kind,
            object_id: id,
            asset,
            amount,
            idempotency_key: None,
            reference: None,
        },
    );
    debug_assert!(posted.is_ok(), "a credit cannot be refused");
    let swap = world.whalestack.swaps.get_mut(id).expect("checked above");
    let event = if failed {
        swap.state = "FAILED";
        "SWAP_FAILED"
    } else {
        swap.state = "COMPLETED";
        swap.completed = Some(cx.now);
        let code = swap.target_asset.split(':').next().unwrap_or_default();
        swap.txs.push(json!({
            "type": "SWAP",
            "typeDescription": "Blockchain transaction executed during the swap on the Stellar Network.",
            "network": "STELLAR",
            "networkName": "Stellar",
            "timestamp": w3c(cx.now),
            "tx": ids::hex(64),
            "amount": stellar(swap.target_amount),
            "amountAssetCode": code,
        }));
        "SWAP_COMPLETED"
    };
    let body = json!({"eventType": event, "data": {"swap": swap.to_json()}});
    let url = swap.webhook.clone();
    world.emit(ProviderKind::Whalestack, event, id, url, &body);
}

/// `GET /swap?id=`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let id = input::query_id(&query)?;
    shared.with_world(|world, _| {
        let swap = world
            .whalestack
            .swaps
            .get(id)
            .ok_or_else(|| WsError::not_found("swap", id))?;
        Ok(Json(json!({ "swap": swap.to_json() })))
    })
}

/// `GET /swaps`.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let (limit, offset) = input::page(&query)?;
    Ok(shared.with_world(|world, _| {
        let all = &world.whalestack.swaps;
        let items: Vec<Value> = all.page(offset, limit).map(Swap::to_json).collect();
        Json(json!({"count": all.len(), "limit": limit, "offset": offset, "swaps": items}))
    }))
}
