//! Reconciliation's listings: every payout (or payment intent) whose
//! `metadata.idempotency_key` names a sluice key, read page by page from `GET /payouts`
//! (`GET /payment_intents`), the list the adapter's lookup already searches.
//!
//! The seed documents no list at all (nor any path); sluice reads the Stripe-like answer
//! its sandbox serves, `{"object": "list", "data": [...], "has_more": bool}`, newest first,
//! `limit=100` a page and `starting_after=<last id>` for the next. Paths `payouts_search`
//! and `payment_intents_search` override where it is read.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::client::Client;
use crate::providers::error::ProviderError;
use crate::providers::preview::WireRequest;
use crate::providers::{IdempotencyKey, Marked, Output};

/// Items a page asks for: the largest page the list serves.
const PAGE: usize = 100;

/// Pages read at most: the newest 100,000 objects.
const MAX_PAGES: usize = 1000;

/// Every object `GET <op>` lists whose `metadata.idempotency_key` is a sluice key, newest
/// first, each converted by `output`.
///
/// # Errors
/// A classified [`ProviderError`] from any page, or an answer that is not a list.
pub(super) async fn marked(
    client: &Client,
    op: &str,
    output: fn(&Client, &Value, bool) -> Result<Output, ProviderError>,
) -> Result<Vec<Marked>, ProviderError> {
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut wire =
            WireRequest::new("GET", client.paths().get(op)).query("limit", PAGE.to_string());
        if let Some(id) = &after {
            wire = wire.query("starting_after", id.clone());
        }
        let answer = client.send(&wire).await?;
        let (items, more) = page(&answer).ok_or_else(|| {
            client
                .transport()
                .unexpected(format!("`{op}` answered no list"), false)
        })?;
        for item in items {
            if let Some(key) = key_of(item) {
                found.push(Marked {
                    key,
                    created_at: created(item),
                    output: output(client, item, false)?,
                });
            }
        }
        let last = items
            .last()
            .and_then(|i| i.get("id")?.as_str())
            .map(String::from);
        if more && last.is_some() && last == after {
            // A list that ignores `starting_after` would answer its first page forever.
            return Err(client
                .transport()
                .unexpected(format!("`{op}` answered the same page again"), false));
        }
        after = last;
        if !more || after.is_none() {
            break;
        }
    }
    Ok(found)
}

/// The items of a list answer and whether more follow.
fn page(answer: &Value) -> Option<(&Vec<Value>, bool)> {
    let items = answer.get("data")?.as_array()?;
    let more = answer
        .get("has_more")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Some((items, more))
}

/// The sluice key an object carries in `metadata.idempotency_key`.
fn key_of(item: &Value) -> Option<IdempotencyKey> {
    let key = item.pointer("/metadata/idempotency_key")?.as_str()?;
    IdempotencyKey::new(key).ok()
}

/// `created`, in unix seconds as the seed's answers show it.
fn created(item: &Value) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(item.get("created")?.as_i64()?, 0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_page_keeps_its_items_and_says_whether_more_follow() {
        let answer = json!({"object": "list", "data": [
            {"id": "po_2", "created": 1_640_995_200, "metadata": {"idempotency_key": "sl_a"}},
            {"id": "po_1", "metadata": {"project_id": "p"}},
        ], "has_more": true});
        let (items, more) = page(&answer).unwrap();
        assert!(more);
        assert_eq!(key_of(&items[0]).unwrap().as_str(), "sl_a");
        assert_eq!(key_of(&items[1]), None);
        assert_eq!(
            created(&items[0]).unwrap().to_rfc3339(),
            "2022-01-01T00:00:00+00:00"
        );
        assert_eq!(page(&json!([])), None);
    }
}
