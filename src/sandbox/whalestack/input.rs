//! Reading Whalestack request bodies and queries: JSON objects, decimal amounts given as
//! JSON numbers or strings (read from their text, never through a float), asset ids and
//! pagination.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::catalog::{self, Asset};
use super::error::WsError;
use crate::money::{check_scale, parse_amount};

/// Decimals of every Stellar amount.
pub const STELLAR_DP: u32 = 7;

/// The body as a JSON object.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, WsError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(WsError::bad_request("request body must be a JSON object")),
        Err(e) => Err(WsError::bad_request(format!("invalid JSON: {e}"))),
    }
}

/// A string field, if present and not null.
pub fn opt_str<'a>(v: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, WsError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(WsError::bad_request(format!("`{field}` must be a string"))),
    }
}

/// A mandatory, non-empty string field.
pub fn req_str<'a>(v: &'a Map<String, Value>, field: &str) -> Result<&'a str, WsError> {
    opt_str(v, field)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| WsError::bad_request(format!("`{field}` is mandatory")))
}

/// A decimal given as a JSON number or string, if present and not null.
pub fn opt_amount(v: &Map<String, Value>, field: &str) -> Result<Option<Decimal>, WsError> {
    let text = match v.get(field) {
        None | Some(Value::Null) => return Ok(None),
        // With `arbitrary_precision` a number keeps its original text.
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err(WsError::bad_request(format!("`{field}` must be numeric"))),
    };
    parse_amount(&text)
        .map(Some)
        .map_err(|e| WsError::bad_request(format!("`{field}`: {e}")))
}

/// A positive Stellar amount (at most 7 decimals), if present.
pub fn opt_stellar_amount(v: &Map<String, Value>, field: &str) -> Result<Option<Decimal>, WsError> {
    let Some(amount) = opt_amount(v, field)? else {
        return Ok(None);
    };
    if amount <= Decimal::ZERO {
        return Err(WsError::bad_request(format!("`{field}` must be positive")));
    }
    check_scale(amount, field, STELLAR_DP)
        .map_err(|e| WsError::bad_request(format!("`{field}`: {e}")))?;
    Ok(Some(amount))
}

/// The asset named by a mandatory field, which must be a full asset id.
pub fn asset(v: &Map<String, Value>, field: &str) -> Result<&'static Asset, WsError> {
    let id = req_str(v, field)?;
    catalog::asset_exact(id).ok_or_else(|| {
        WsError::bad_request(format!(
            "`{field}`: unknown asset `{id}` (use an asset id as given by GET /assets)"
        ))
    })
}

/// The mandatory `id` query parameter.
pub fn query_id(query: &HashMap<String, String>) -> Result<&str, WsError> {
    query
        .get("id")
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WsError::bad_request("`id` is mandatory"))
}

/// `limit` (default 250) and `offset` (default 0) query parameters.
pub fn page(query: &HashMap<String, String>) -> Result<(usize, usize), WsError> {
    let read = |name: &str, default: usize| match query.get(name) {
        None => Ok(default),
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| WsError::bad_request(format!("`{name}` must be a non-negative integer"))),
    };
    Ok((read("limit", 250)?, read("offset", 0)?))
}
