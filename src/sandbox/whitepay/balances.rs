//! Whitepay balances: `GET /private-api/balances` and, per balance, its exchange rates
//! (`GET /private-api/balances/{id}`). Rates come from the price table, rounded down to the
//! target currency's precision.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::currencies::{CURRENCIES, Currency, VALUE_DP, by_balance_id};
use super::error::WpError;
use crate::catalog::ProviderKind;
use crate::sandbox::format::fixed;
use crate::sandbox::prices::Round;
use crate::sandbox::state::{Shared, World};

fn value(world: &World, c: &Currency) -> String {
    fixed(
        world.books.balance(ProviderKind::Whitepay, c.ticker),
        VALUE_DP,
    )
}

/// `GET /private-api/balances`.
pub async fn list(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.with_world(|world, _| {
        let balances: Vec<Value> = CURRENCIES
            .iter()
            .map(|c| json!({"id": c.balance_id(), "currency": c.to_json(false), "value": value(world, c)}))
            .collect();
        Json(json!({ "balances": balances }))
    })
}

/// `GET /private-api/balances/{balanceId}`.
pub async fn show(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WpError> {
    let currency = by_balance_id(&id).ok_or_else(WpError::not_found)?;
    Ok(shared.with_world(|world, cx| {
        let rates: Vec<Value> = CURRENCIES
            .iter()
            .filter(|c| c.ticker != currency.ticker)
            .filter_map(|c| {
                let rate = cx.prices.convert(
                    Decimal::ONE,
                    currency.ticker,
                    c.ticker,
                    c.precision,
                    Round::Down,
                )?;
                Some(c.rate_json(fixed(rate, c.precision)))
            })
            .collect();
        Json(json!({
            "balance": {
                "id": id,
                "currency": currency.to_json(true),
                "value": value(world, currency),
                "currencies": rates,
            }
        }))
    }))
}
