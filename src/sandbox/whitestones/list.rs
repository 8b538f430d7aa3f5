//! `GET /payment_intents` and `GET /payouts`: list answers, which the seed does not document.
//!
//! The adapter finds a write whose answer was lost with `GET /payouts?idempotency_key=KEY`
//! (README, provider section), so the sandbox answers that: `{"object": "list", "data":
//! [...], "has_more": bool}`, newest first, with `idempotency_key` keeping only objects
//! created with that `Idempotency-Key` or carrying it as `metadata.idempotency_key`, and
//! `limit` (1 to 100, default 100) items at most.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::error::WstError;

/// The largest (and default) page.
const MAX_LIMIT: usize = 100;

/// What a list request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only objects carrying this key.
    pub key: Option<String>,
    /// At most this many items.
    pub limit: usize,
}

impl ListQuery {
    /// Reads `idempotency_key` and `limit`.
    ///
    /// # Errors
    /// 400 for a `limit` outside 1..=100.
    pub fn parse(query: &HashMap<String, String>) -> Result<Self, WstError> {
        let limit = match query.get("limit") {
            None => MAX_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| WstError::invalid("`limit` must be an integer from 1 to 100"))?,
        };
        Ok(ListQuery {
            key: query
                .get("idempotency_key")
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty()),
            limit,
        })
    }

    /// Whether an object created with `header_key` and `metadata` is listed.
    pub fn keeps(&self, header_key: Option<&str>, metadata: Option<&Map<String, Value>>) -> bool {
        let Some(key) = self.key.as_deref() else {
            return true;
        };
        header_key == Some(key)
            || metadata
                .and_then(|m| m.get("idempotency_key"))
                .and_then(Value::as_str)
                == Some(key)
    }

    /// The list answer for the kept objects, newest first.
    pub fn answer(&self, kept: impl Iterator<Item = Value>) -> Value {
        let mut data: Vec<Value> = kept.take(self.limit + 1).collect();
        let has_more = data.len() > self.limit;
        data.truncate(self.limit);
        json!({"object": "list", "data": data, "has_more": has_more})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_key_and_pages() {
        let q = |pairs: &[(&str, &str)]| {
            ListQuery::parse(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let by_key = q(&[("idempotency_key", "k1")]).unwrap();
        let meta = json!({"idempotency_key": "k1"});
        assert!(by_key.keeps(Some("k1"), None));
        assert!(by_key.keeps(None, meta.as_object()));
        assert!(!by_key.keeps(Some("k2"), None));
        assert!(q(&[]).unwrap().keeps(None, None));
        let two = q(&[("limit", "2")]).unwrap();
        assert_eq!(
            two.answer([1, 2, 3].into_iter().map(Value::from)),
            json!({"object": "list", "data": [1, 2], "has_more": true})
        );
        assert_eq!(two.answer(std::iter::empty())["has_more"], false);
        assert!(q(&[("limit", "0")]).is_err());
        assert!(q(&[("limit", "101")]).is_err());
    }
}
