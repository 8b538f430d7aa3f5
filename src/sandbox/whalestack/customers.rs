//! Whalestack customers and beneficiaries: the same record under two names.
//!
//! `POST` upserts by email (an existing email is updated and keeps its id), `PUT` updates the
//! fields given (null clears one), `DELETE` takes `{"id": …}` in the body. Lists follow the
//! seed exactly, including `limit` and `offset` echoed as strings.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::error::WsError;
use super::input;
use crate::sandbox::format::w3c;
use crate::sandbox::ids;
use crate::sandbox::state::Shared;
use crate::sandbox::table::Table;

/// Customer or beneficiary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyKind {
    /// `/customer`.
    Customer,
    /// `/beneficiary`.
    Beneficiary,
}

impl PartyKind {
    fn name(self) -> &'static str {
        match self {
            PartyKind::Customer => "customer",
            PartyKind::Beneficiary => "beneficiary",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            PartyKind::Customer => "customers",
            PartyKind::Beneficiary => "beneficiaries",
        }
    }

    fn id_key(self) -> &'static str {
        match self {
            PartyKind::Customer => "customerId",
            PartyKind::Beneficiary => "beneficiaryId",
        }
    }
}

/// The optional fields of a record, in the seed's order.
const FIELDS: &[&str] = &[
    "firstname",
    "lastname",
    "company",
    "adr1",
    "adr2",
    "zip",
    "city",
    "countrycode",
    "phonenumber",
    "taxid",
    "note",
    "meta",
];

/// Fields that must be given together for an address.
const ADDRESS: &[&str] = &["adr1", "zip", "city", "countrycode"];

const COUNTRIES: &[(&str, &str)] = &[
    ("AE", "United Arab Emirates"),
    ("AR", "Argentina"),
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("BR", "Brazil"),
    ("CA", "Canada"),
    ("CH", "Switzerland"),
    ("DE", "Germany"),
    ("ES", "Spain"),
    ("FR", "France"),
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("IT", "Italy"),
    ("NL", "Netherlands"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("SA", "Saudi Arabia"),
    ("US", "United States"),
];

/// One customer or beneficiary.
#[derive(Debug, Clone)]
pub struct Party {
    id: String,
    email: String,
    fields: Map<String, Value>,
    inserted: DateTime<Utc>,
    updated: DateTime<Utc>,
}

/// Customers or beneficiaries, with the email index used for upserts.
#[derive(Debug, Default)]
pub struct Parties {
    table: Table<Party>,
    by_email: HashMap<String, String>,
}

impl Parties {
    /// Whether a record with `id` exists.
    pub fn contains(&self, id: &str) -> bool {
        self.table.get(id).is_some()
    }
}

impl Party {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }

    fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert("email".into(), json!(self.email));
        let name = [self.get("firstname"), self.get("lastname")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        for field in FIELDS {
            let value = self.fields.get(*field).cloned().unwrap_or(Value::Null);
            out.insert((*field).into(), value);
            if *field == "lastname" {
                out.insert(
                    "name".into(),
                    if name.is_empty() {
                        Value::Null
                    } else {
                        json!(name)
                    },
                );
            }
            if *field == "countrycode" {
                let country = self
                    .get("countrycode")
                    .and_then(|c| {
                        COUNTRIES
                            .iter()
                            .find(|(code, _)| code.eq_ignore_ascii_case(c))
                    })
                    .map(|(_, name)| *name);
                out.insert("country".into(), json!(country));
            }
        }
        out.insert("inserttime".into(), json!(w3c(self.inserted)));
        out.insert("updatetime".into(), json!(w3c(self.updated)));
        let named = (self.get("firstname").is_some() && self.get("lastname").is_some())
            || self.get("company").is_some();
        let addressed = ADDRESS.iter().all(|f| self.get(f).is_some());
        out.insert("invoiceable".into(), json!(named && addressed));
        Value::Object(out)
    }
}

/// Applies the recognised fields of `input` to `fields` (null clears).
fn apply(fields: &mut Map<String, Value>, input: &Map<String, Value>) -> Result<(), WsError> {
    for field in FIELDS {
        match input.get(*field) {
            None => {}
            Some(Value::Null) => {
                fields.remove(*field);
            }
            Some(Value::Object(_)) if *field == "meta" => {
                fields.insert((*field).into(), input[*field].clone());
            }
            Some(Value::String(s)) if *field != "meta" => {
                fields.insert((*field).into(), json!(s));
            }
            Some(_) => {
                let expected = if *field == "meta" {
                    "an object"
                } else {
                    "a string"
                };
                return Err(WsError::bad_request(format!(
                    "`{field}` must be {expected}"
                )));
            }
        }
    }
    if let Some(code) = fields.get("countrycode").and_then(Value::as_str)
        && (code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        return Err(WsError::bad_request(format!(
            "`countrycode` must be a two letter ISO code, got `{code}`"
        )));
    }
    let given = ADDRESS.iter().filter(|f| fields.contains_key(**f)).count();
    if given != 0 && given != ADDRESS.len() {
        return Err(WsError::bad_request(
            "`adr1`, `zip`, `city` and `countrycode` must be provided together",
        ));
    }
    Ok(())
}

fn email(value: &str) -> Result<String, WsError> {
    let email = value.trim();
    let valid = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if valid {
        Ok(email.to_string())
    } else {
        Err(WsError::bad_request(format!(
            "`email` is not an email address: `{email}`"
        )))
    }
}

fn parties(state: &mut super::State, kind: PartyKind) -> &mut Parties {
    match kind {
        PartyKind::Customer => &mut state.customers,
        PartyKind::Beneficiary => &mut state.beneficiaries,
    }
}

fn record(body: &Map<String, Value>, kind: PartyKind) -> Result<&Map<String, Value>, WsError> {
    body.get(kind.name())
        .and_then(Value::as_object)
        .ok_or_else(|| WsError::bad_request(format!("`{}` object is mandatory", kind.name())))
}

/// `POST /customer`, `POST /beneficiary`: create, or update the record with this email.
pub async fn upsert(
    State(shared): State<Arc<Shared>>,
    kind: PartyKind,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    let fields = record(&body, kind)?;
    let email = email(input::req_str(fields, "email")?)?;
    let id = shared.with_world(|world, cx| {
        let parties = parties(&mut world.whalestack, kind);
        let existing = parties.by_email.get(&email.to_ascii_lowercase()).cloned();
        match existing.and_then(|id| parties.table.get_mut(&id)) {
            Some(party) => {
                let mut updated = party.fields.clone();
                apply(&mut updated, fields)?;
                party.fields = updated;
                party.updated = cx.now;
                Ok(party.id.clone())
            }
            None => {
                let mut new_fields = Map::new();
                apply(&mut new_fields, fields)?;
                let id = ids::hex(12);
                parties
                    .by_email
                    .insert(email.to_ascii_lowercase(), id.clone());
                parties.table.insert(
                    id.clone(),
                    Party {
                        id: id.clone(),
                        email: email.clone(),
                        fields: new_fields,
                        inserted: cx.now,
                        updated: cx.now,
                    },
                );
                Ok(id)
            }
        }
    })?;
    Ok(Json(json!({ kind.id_key(): id })))
}

/// `GET /customer?id=`, `GET /beneficiary?id=`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    kind: PartyKind,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let id = input::query_id(&query)?;
    shared.with_world(|world, _| {
        let party = parties(&mut world.whalestack, kind)
            .table
            .get(id)
            .ok_or_else(|| WsError::not_found(kind.name(), id))?;
        Ok(Json(json!({ kind.name(): party.to_json() })))
    })
}

/// `PUT /customer`, `PUT /beneficiary`: update the fields given.
pub async fn update(
    State(shared): State<Arc<Shared>>,
    kind: PartyKind,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    let fields = record(&body, kind)?;
    let id = input::req_str(fields, "id")?;
    let new_email = input::opt_str(fields, "email")?.map(email).transpose()?;
    shared.with_world(|world, cx| {
        let parties = parties(&mut world.whalestack, kind);
        if let Some(e) = &new_email
            && parties
                .by_email
                .get(&e.to_ascii_lowercase())
                .is_some_and(|owner| owner != id)
        {
            return Err(WsError::bad_request(format!(
                "another {} already uses `{e}`",
                kind.name()
            )));
        }
        let party = parties
            .table
            .get_mut(id)
            .ok_or_else(|| WsError::not_found(kind.name(), id))?;
        let mut updated = party.fields.clone();
        apply(&mut updated, fields)?;
        party.fields = updated;
        party.updated = cx.now;
        if let Some(e) = new_email {
            let old = std::mem::replace(&mut party.email, e.clone());
            parties.by_email.remove(&old.to_ascii_lowercase());
            parties
                .by_email
                .insert(e.to_ascii_lowercase(), id.to_string());
        }
        Ok(Json(json!({ "success": true })))
    })
}

/// `DELETE /customer`, `DELETE /beneficiary` with `{"id": …}`.
pub async fn delete(
    State(shared): State<Arc<Shared>>,
    kind: PartyKind,
    body: Bytes,
) -> Result<Json<Value>, WsError> {
    let body = input::object(&body)?;
    let id = input::req_str(&body, "id")?;
    shared.with_world(|world, _| {
        let parties = parties(&mut world.whalestack, kind);
        let party = parties
            .table
            .remove(id)
            .ok_or_else(|| WsError::not_found(kind.name(), id))?;
        parties.by_email.remove(&party.email.to_ascii_lowercase());
        Ok(Json(json!({ "success": true })))
    })
}

/// `GET /customers`, `GET /beneficiaries`.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    kind: PartyKind,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, WsError> {
    let (limit, offset) = input::page(&query)?;
    Ok(shared.with_world(|world, _| {
        let parties = parties(&mut world.whalestack, kind);
        let items: Vec<Value> = parties
            .table
            .page(offset, limit)
            .map(Party::to_json)
            .collect();
        Json(json!({
            "count": parties.table.len(),
            "limit": limit.to_string(),
            "offset": offset.to_string(),
            kind.plural(): items,
        }))
    }))
}
