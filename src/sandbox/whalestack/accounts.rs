//! Whalestack target accounts: the labelled external accounts transfers are sent to.
//!
//! `GET /target-accounts` follows the seed. `POST /target-account` is referenced by the seed
//! but not documented; the sandbox takes `{"network", "label", "fields", "beneficiaryId"}`,
//! checks `fields` against the network's field list (the keys `GET /target-accounts` shows),
//! and answers `{"targetAccount": {…}}` in the list's item shape. Registering the same label
//! again with the same network and fields returns the existing account; a different one is
//! refused, since the label is the account's identifier.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::catalog;
use super::error::WsError;
use super::input;
use crate::sandbox::format::w3c;
use crate::sandbox::state::{Ctx, Shared, World};
use crate::signing::sha256_hex;

/// A registered target account.
#[derive(Debug, Clone)]
pub struct TargetAccount {
    /// Network id.
    pub network: &'static str,
    /// The unique label transfers reference it by.
    pub label: String,
    fields: Map<String, Value>,
    created: DateTime<Utc>,
    beneficiary_id: Option<String>,
}

impl TargetAccount {
    /// The account as `GET /target-accounts` and transfers show it.
    pub fn to_json(&self) -> Value {
        json!({
            "network": self.network,
            "label": self.label,
            "fields": self.fields,
            "fieldConfig": catalog::account_field_config(self.network),
            "state": "ACTIVE",
            "timestamp": w3c(self.created),
            "beneficiaryId": self.beneficiary_id,
        })
    }
}

/// Registers the account described by `body`, or returns the existing one with that label.
pub fn register(
    world: &mut World,
    cx: &Ctx<'_>,
    body: &Map<String, Value>,
) -> Result<Value, WsError> {
    let network_id = input::req_str(body, "network")?;
    let network = catalog::network(network_id)
        .filter(|n| n.transfers)
        .ok_or_else(|| {
            WsError::bad_request(format!(
                "`network`: `{network_id}` cannot receive transfers"
            ))
        })?;
    let label = input::req_str(body, "label")?.trim().to_string();
    let given = body
        .get("fields")
        .and_then(Value::as_object)
        .ok_or_else(|| WsError::bad_request("`fields` object is mandatory"))?;
    let spec = catalog::account_fields(network.id);
    let mut fields = Map::new();
    for (key, _, _, required) in spec {
        match given.get(*key) {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                fields.insert((*key).into(), json!(s));
            }
            None | Some(Value::Null) if !required => {}
            _ => {
                return Err(WsError::bad_request(format!(
                    "`fields.{key}` is mandatory for {} accounts and must be a string",
                    network.id
                )));
            }
        }
    }
    if let Some(unknown) = given
        .keys()
        .find(|k| !spec.iter().any(|(key, ..)| key == k))
    {
        return Err(WsError::bad_request(format!(
            "`fields.{unknown}` is not a field of {} accounts",
            network.id
        )));
    }
    let beneficiary_id = input::opt_str(body, "beneficiaryId")?.map(str::to_string);
    if let Some(b) = &beneficiary_id
        && !world.whalestack.beneficiaries.contains(b)
    {
        return Err(WsError::not_found("beneficiary", b));
    }
    let accounts = &mut world.whalestack.target_accounts;
    if let Some(existing) = accounts.get(&label) {
        if existing.network == network.id && existing.fields == fields {
            return Ok(existing.to_json());
        }
        return Err(WsError::bad_request(format!(
            "a target account labelled `{label}` already exists"
        )));
    }
    let account = TargetAccount {
        network: network.id,
        label: label.clone(),
        fields,
        created: cx.now,
        beneficiary_id,
    };
    let out = account.to_json();
    accounts.insert(label, account);
    Ok(out)
}

/// Registers an account with made-up fields for an unknown label (`auto_target_accounts`).
pub fn register_placeholder(
    world: &mut World,
    cx: &Ctx<'_>,
    network: &str,
    label: &str,
) -> Result<(), WsError> {
    let h = sha256_hex(&[label.as_bytes()]);
    let fields: Map<String, Value> = catalog::account_fields(network)
        .iter()
        .filter(|(.., required)| *required)
        .map(|(key, ..)| {
            (
                (*key).to_string(),
                json!(format!("SANDBOX{}", &h[..16].to_ascii_uppercase())),
            )
        })
        .collect();
    let body = json!({"network": network, "label": label, "fields": fields});
    register(world, cx, body.as_object().expect("built as an object")).map(|_| ())
}

/// `POST /target-account`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    let account = shared.with_world(|world, cx| register(world, cx, &body))?;
    Ok(Json(json!({ "targetAccount": account })))
}

/// `GET /target-accounts`.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let (limit, offset) = input::page(&query)?;
    Ok(shared.with_world(|world, _| {
        let accounts = &world.whalestack.target_accounts;
        let items: Vec<Value> = accounts
            .page(offset, limit)
            .map(TargetAccount::to_json)
            .collect();
        Json(json!({
            "count": accounts.len(),
            "limit": limit,
            "offset": offset,
            "targetAccounts": items,
        }))
    }))
}
