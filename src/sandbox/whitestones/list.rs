//! `GET /payment_intents` and `GET /payouts`: list answers, which the seed does not document.
//!
//! The adapter finds a write whose answer was lost with `GET /payouts?idempotency_key=KEY`
//! (README, provider section), so the sandbox answers that: `{"object": "list", "data":
//! [...], "has_more": bool}`, newest first, with `idempotency_key` keeping only objects
//! created with that `Idempotency-Key` or carrying it as `metadata.idempotency_key`,
//! `limit` (1 to 100, default 100) items at most, and `starting_after=ID` the page after the
//! object `ID` (how reconciliation reads a whole list; an id not in the list is a 400, so a
//! reader never takes an empty page for the end).

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
    /// Only the items after the one with this id.
    pub starting_after: Option<String>,
}

impl ListQuery {
    /// Reads `idempotency_key`, `limit` and `starting_after`.
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
            starting_after: query.get("starting_after").cloned(),
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
    ///
    /// # Errors
    /// 400 when `starting_after` names no kept object.
    pub fn answer(&self, kept: impl Iterator<Item = Value>) -> Result<Value, WstError> {
        let mut kept = kept.peekable();
        if let Some(after) = &self.starting_after {
            let found = kept
                .by_ref()
                .any(|o| o.get("id").and_then(Value::as_str) == Some(after.as_str()));
            if !found {
                return Err(WstError::invalid(format!(
                    "`starting_after`: no object `{after}` in this list"
                )));
            }
        }
        let mut data: Vec<Value> = kept.take(self.limit + 1).collect();
        let has_more = data.len() > self.limit;
        data.truncate(self.limit);
        Ok(json!({"object": "list", "data": data, "has_more": has_more}))
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
            two.answer([1, 2, 3].into_iter().map(Value::from)).unwrap(),
            json!({"object": "list", "data": [1, 2], "has_more": true})
        );
        assert_eq!(two.answer(std::iter::empty()).unwrap()["has_more"], false);
        let objects = || (1..=3).map(|i| json!({"id": format!("po_{i}")}));
        let after = q(&[("limit", "1"), ("starting_after", "po_1")]).unwrap();
        assert_eq!(
            after.answer(objects()).unwrap(),
            json!({"object": "list", "data": [{"id": "po_2"}], "has_more": true})
        );
        let last = q(&[("starting_after", "po_3")]).unwrap();
        assert_eq!(last.answer(objects()).unwrap()["data"], json!([]));
        let unknown = q(&[("starting_after", "po_9")]).unwrap();
        assert!(unknown.answer(objects()).is_err());
        assert!(q(&[("limit", "0")]).is_err());
        assert!(q(&[("limit", "101")]).is_err());
    }
}
