//! `GET /merchant/profile`, the seed's authentication example. Its body is not documented;
//! the sandbox describes its one merchant account with balances in minor units.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::input::CURRENCIES;
use crate::catalog::ProviderKind;
use crate::money::to_minor;
use crate::sandbox::state::Shared;

/// `GET /merchant/profile`.
pub async fn profile(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.with_world(|world, _| {
        let balances: Vec<Value> = CURRENCIES
            .iter()
            .map(|c| {
                let balance = world.books.balance(ProviderKind::Whitestones, c);
                json!({"currency": c, "available": to_minor(balance, c).unwrap_or_default()})
            })
            .collect();
        Json(json!({
            "id": "merchant_sandbox",
            "object": "merchant",
            "business_name": "Sandbox Merchant",
            "email": "merchant@sandbox.invalid",
            "country": "US",
            "default_currency": "USD",
            "status": "active",
            "balances": balances,
        }))
    })
}
