//! White Payments customers: create, retrieve, update (only the params given; a `card`
//! replaces the default card), list (newest first). A customer's default card is what a
//! charge with `customer_id` uses.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::cards::{Card, card_param};
use super::error::WhiteError;
use super::form::Form;
use crate::sandbox::format::iso_millis;
use crate::sandbox::ids;
use crate::sandbox::state::Shared;

/// One customer.
#[derive(Debug, Clone)]
pub struct Customer {
    id: String,
    name: Option<String>,
    /// The customer's email address.
    pub email: String,
    description: Option<String>,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    cards: Vec<Card>,
    default_card: Option<String>,
}

impl Customer {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "customer",
            "name": self.name,
            "email": self.email,
            "description": self.description,
            "created_at": iso_millis(self.created),
            "updated_at": iso_millis(self.updated),
            "cards": self.cards.iter().map(Card::to_json).collect::<Vec<_>>(),
            "default_card_id": self.default_card,
        })
    }

    /// The card charges use.
    pub fn default_card(&self) -> Option<&Card> {
        let id = self.default_card.as_deref()?;
        self.cards.iter().find(|c| c.id == id)
    }

    fn set_card(&mut self, card: Card) {
        if let Some(old) = self.default_card.take() {
            self.cards.retain(|c| c.id != old);
        }
        self.default_card = Some(card.id.clone());
        self.cards.insert(0, card);
    }
}

fn email(text: &str) -> Result<String, WhiteError> {
    let ok = text
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    if ok {
        Ok(text.to_string())
    } else {
        Err(WhiteError::param(
            "invalid_email",
            "email",
            format!("`{text}` is not an email address."),
        ))
    }
}

/// `POST /customers`.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), WhiteError> {
    let form = Form::parse(&body)?;
    let email = email(
        form.get("email")
            .ok_or_else(|| WhiteError::param("missing_param", "email", "`email` is required."))?,
    )?;
    shared.with_world(|world, cx| {
        let card = card_param(world, &form)?;
        let mut customer = Customer {
            id: ids::prefixed("cus_", 25),
            name: form.get("name").map(str::to_string),
            email,
            description: form.get("description").map(str::to_string),
            created: cx.now,
            updated: cx.now,
            cards: Vec::new(),
            default_card: None,
        };
        if let Some(card) = card {
            customer.set_card(card);
        }
        let out = customer.to_json();
        world.white.customers.insert(customer.id.clone(), customer);
        Ok((StatusCode::CREATED, Json(out)))
    })
}

/// `GET /customers/{id}`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WhiteError> {
    shared.with_world(|world, _| {
        let c = world
            .white
            .customers
            .get(&id)
            .ok_or_else(|| WhiteError::not_found("customer", &id))?;
        Ok(Json(c.to_json()))
    })
}

/// `PUT /customers/{id}`.
pub async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, WhiteError> {
    let form = Form::parse(&body)?;
    let new_email = form.get("email").map(email).transpose()?;
    shared.with_world(|world, cx| {
        if world.white.customers.get(&id).is_none() {
            return Err(WhiteError::not_found("customer", &id));
        }
        let card = card_param(world, &form)?;
        let c = world.white.customers.get_mut(&id).expect("checked above");
        if let Some(e) = new_email {
            c.email = e;
        }
        if let Some(name) = form.get("name") {
            c.name = Some(name.to_string());
        }
        if let Some(d) = form.get("description") {
            c.description = Some(d.to_string());
        }
        if let Some(card) = card {
            c.set_card(card);
        }
        c.updated = cx.now;
        Ok(Json(c.to_json()))
    })
}

/// `GET /customers`.
pub async fn list(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.with_world(|world, _| {
        let items: Vec<Value> = world
            .white
            .customers
            .newest_first()
            .map(Customer::to_json)
            .collect();
        Json(json!({ "customers": items }))
    })
}
