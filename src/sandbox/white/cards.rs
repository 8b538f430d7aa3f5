//! Cards and tokens, and the sandbox's test card numbers.
//!
//! Any Luhn-valid number is accepted and approves, except:
//! - `4000000000000002`: declined (`banking` / `card_declined`, HTTP 402);
//! - `4000000000000119`: White fails to process it (`processing` / `processing_error`, 500).
//!
//! Expiry dates are not checked against the clock (the seed's own examples use expired
//! cards). A token can be used once; reusing it is a `request` error.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::error::WhiteError;
use super::form::Form;
use crate::sandbox::format::iso_millis;
use crate::sandbox::ids;
use crate::sandbox::state::{Shared, World};
use crate::sensitive::luhn;

/// What charging a card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// The charge goes through.
    Approve,
    /// The bank declines it.
    Decline,
    /// White fails to process it.
    ProcessingError,
}

/// A card, as much of it as is kept (never the full number or the CVC).
#[derive(Debug, Clone)]
pub struct Card {
    /// `card_…`.
    pub id: String,
    last4: String,
    brand: &'static str,
    exp_month: u32,
    exp_year: u32,
    name: Option<String>,
    /// What charging it does.
    pub behaviour: Behaviour,
}

impl Card {
    /// The card object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "card",
            "last4": self.last4,
            "brand": self.brand,
            "exp_year": self.exp_year,
            "exp_month": self.exp_month,
            "name": self.name,
        })
    }

    /// Reads card details: `number`, `exp_month`, `exp_year`, `cvc`, `name`. `prefix` names
    /// the params in errors (`card[` for a nested card, empty for a token request).
    pub fn from_details(
        fields: &BTreeMap<String, String>,
        prefix: &str,
    ) -> Result<Card, WhiteError> {
        let param = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}[{name}]")
            }
        };
        let get = |name: &str| fields.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
        let require = |name: &str| {
            get(name).ok_or_else(|| {
                WhiteError::param(
                    "missing_param",
                    &param(name),
                    format!("`{}` is required.", param(name)),
                )
            })
        };
        let number: String = require("number")?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !(12..=19).contains(&number.len())
            || !number.bytes().all(|b| b.is_ascii_digit())
            || !luhn(number.as_bytes())
        {
            return Err(WhiteError::param(
                "invalid_number",
                &param("number"),
                "The card number is not a valid credit card number.",
            ));
        }
        let exp_month: u32 = require("exp_month")?
            .parse()
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(|| {
                WhiteError::param(
                    "invalid_expiry_month",
                    &param("exp_month"),
                    "The card's expiration month is invalid.",
                )
            })?;
        let exp_year: u32 = require("exp_year")?
            .parse()
            .ok()
            .filter(|y| (2000..=2100).contains(y))
            .ok_or_else(|| {
                WhiteError::param(
                    "invalid_expiry_year",
                    &param("exp_year"),
                    "The card's expiration year is invalid.",
                )
            })?;
        let cvc = require("cvc")?;
        if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(WhiteError::param(
                "invalid_cvc",
                &param("cvc"),
                "The card's security code is invalid.",
            ));
        }
        let behaviour = match number.as_str() {
            "4000000000000002" => Behaviour::Decline,
            "4000000000000119" => Behaviour::ProcessingError,
            _ => Behaviour::Approve,
        };
        Ok(Card {
            id: ids::prefixed("card_", 27),
            last4: number[number.len() - 4..].to_string(),
            brand: brand(&number),
            exp_month,
            exp_year,
            name: get("name").map(str::to_string),
            behaviour,
        })
    }
}

fn brand(number: &str) -> &'static str {
    let two: u32 = number[..2].parse().unwrap_or_default();
    let four: u32 = number[..4].parse().unwrap_or_default();
    match () {
        _ if number.starts_with('4') => "visa",
        _ if (51..=55).contains(&two) || (2221..=2720).contains(&four) => "mastercard",
        _ if two == 34 || two == 37 => "amex",
        _ => "unknown",
    }
}

/// A single-use token for a card.
#[derive(Debug, Clone)]
pub struct Token {
    id: String,
    created: DateTime<Utc>,
    used: bool,
    card: Card,
}

impl Token {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "token",
            "created_at": iso_millis(self.created),
            "used": self.used,
            "card": self.card.to_json(),
        })
    }
}

/// A token the sandbox always accepts and never uses up (a Visa test card), so that the
/// example workflows charge a card without a tokens call first.
pub const TEST_TOKEN: &str = "tok_sandbox_visa";

/// The card a request names with `card[…]` details or `card=tok_…`, if any. A token is
/// marked used.
pub fn card_param(world: &mut World, form: &Form) -> Result<Option<Card>, WhiteError> {
    if let Some(details) = form.group("card") {
        return Card::from_details(details, "card").map(Some);
    }
    let Some(token_id) = form.get("card") else {
        return Ok(None);
    };
    if token_id == TEST_TOKEN {
        let details = [
            ("number", "4242424242424242"),
            ("exp_month", "12"),
            ("exp_year", "2030"),
            ("cvc", "123"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let mut card = Card::from_details(&BTreeMap::from(details), "")?;
        card.id = ids::prefixed("card_", 27);
        return Ok(Some(card));
    }
    let token = world.white.tokens.get_mut(token_id).ok_or_else(|| {
        WhiteError::param(
            "invalid_token",
            "card",
            format!("No token with id `{token_id}`."),
        )
    })?;
    if token.used {
        return Err(WhiteError::param(
            "token_already_used",
            "card",
            format!("Token `{token_id}` was already used."),
        ));
    }
    token.used = true;
    let mut card = token.card.clone();
    card.id = ids::prefixed("card_", 27);
    Ok(Some(card))
}

/// `POST /tokens`.
pub async fn create_token(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), WhiteError> {
    let form = Form::parse(&body)?;
    let details: BTreeMap<String, String> = ["number", "exp_month", "exp_year", "cvc", "name"]
        .into_iter()
        .filter_map(|k| form.get(k).map(|v| (k.to_string(), v.to_string())))
        .collect();
    let card = Card::from_details(&details, "")?;
    Ok(shared.with_world(|world, cx| {
        let token = Token {
            id: ids::prefixed("tok_", 24),
            created: cx.now,
            used: false,
            card,
        };
        let out = token.to_json();
        world.white.tokens.insert(token.id.clone(), token);
        (StatusCode::CREATED, Json(out))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards() {
        let details = |n: &str| {
            BTreeMap::from([
                ("number".to_string(), n.to_string()),
                ("exp_month".to_string(), "11".to_string()),
                ("exp_year".to_string(), "2016".to_string()),
                ("cvc".to_string(), "123".to_string()),
            ])
        };
        let card = Card::from_details(&details("4242424242424242"), "card").unwrap();
        assert_eq!(
            (card.brand, card.last4.as_str(), card.behaviour),
            ("visa", "4242", Behaviour::Approve)
        );
        assert_eq!(
            Card::from_details(&details("4000000000000002"), "card")
                .unwrap()
                .behaviour,
            Behaviour::Decline
        );
        assert_eq!(
            Card::from_details(&details("4000000000000119"), "card")
                .unwrap()
                .behaviour,
            Behaviour::ProcessingError
        );
        assert_eq!(
            Card::from_details(&details("5555555555554444"), "card")
                .unwrap()
                .brand,
            "mastercard"
        );
        let err = Card::from_details(&details("4242424242424241"), "card").unwrap_err();
        assert_eq!(
            (err.code, err.extras["params"][0].as_str()),
            ("invalid_number", Some("card[number]"))
        );
    }
}
