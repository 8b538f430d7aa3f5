//! Reading WHITESTONES request bodies: JSON objects, minor-unit integer amounts (read from
//! the number's text, never through a float) and the supported currencies.

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use super::error::WstError;
use crate::money::precision;

/// Currencies the sandbox's WHITESTONES account holds.
pub const CURRENCIES: &[&str] = &["USD", "EUR", "GBP"];

/// The body as a JSON object.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, WstError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(WstError::invalid("the request body must be a JSON object")),
        Err(e) => Err(WstError::invalid(format!("invalid JSON: {e}"))),
    }
}

/// A mandatory positive integer amount in minor units.
pub fn amount(body: &Map<String, Value>) -> Result<i64, WstError> {
    let bad =
        || WstError::invalid("`amount` must be a positive integer in the currency's smallest unit");
    match body.get("amount") {
        Some(Value::Number(n)) => n
            .to_string()
            .parse::<i64>()
            .ok()
            .filter(|a| *a > 0)
            .ok_or_else(bad),
        None | Some(Value::Null) => Err(WstError::invalid("`amount` is required")),
        Some(_) => Err(bad()),
    }
}

/// The mandatory currency, upper case, one the account holds.
pub fn currency(body: &Map<String, Value>) -> Result<String, WstError> {
    let code = body
        .get("currency")
        .and_then(Value::as_str)
        .ok_or_else(|| WstError::invalid("`currency` is required"))?
        .to_ascii_uppercase();
    if !CURRENCIES.contains(&code.as_str()) || precision(&code).is_none() {
        return Err(WstError::invalid(format!(
            "`currency`: `{code}` is not supported (use one of {})",
            CURRENCIES.join(", ")
        )));
    }
    Ok(code)
}

/// An optional string field.
pub fn opt_str(body: &Map<String, Value>, field: &str) -> Result<Option<String>, WstError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(WstError::invalid(format!("`{field}` must be a string"))),
    }
}

/// An optional object field (`metadata`, `customer`).
pub fn opt_object(
    body: &Map<String, Value>,
    field: &str,
) -> Result<Option<Map<String, Value>>, WstError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(_) => Err(WstError::invalid(format!("`{field}` must be an object"))),
    }
}

/// The `Idempotency-Key` header.
pub fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
