//! `Idempotency-Key` for WHITESTONES writes: the same key with the same body returns the
//! object the first request created, and moves no money again; the same key with another
//! body is refused with 409. Keys are scoped to the endpoint. Requests that failed are not
//! remembered, so they can be retried with the same key.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::Value;

use super::error::WstError;
use crate::sandbox::state::World;

/// What a key says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// The key is new: handle the request.
    New,
    /// The same request was made before: answer with this object.
    Same(String),
    /// The key was used with a different body.
    Conflict,
}

/// Remembered keys.
#[derive(Debug, Default)]
pub struct Keys {
    seen: HashMap<(&'static str, String), (Value, String)>,
}

impl Keys {
    /// What `key` means for a request to `endpoint` with `body`.
    pub fn check(&self, endpoint: &'static str, key: &str, body: &Value) -> Replay {
        match self.seen.get(&(endpoint, key.to_string())) {
            None => Replay::New,
            Some((first, id)) if first == body => Replay::Same(id.clone()),
            Some(_) => Replay::Conflict,
        }
    }

    /// Remembers that `key` created `object_id`.
    pub fn remember(&mut self, endpoint: &'static str, key: &str, body: Value, object_id: String) {
        self.seen
            .insert((endpoint, key.to_string()), (body, object_id));
    }
}

/// Runs `create` unless `key` was seen: returns the object id and whether it is a replay.
///
/// # Errors
/// 409 `idempotency_key_reused` for a known key with another body; `create`'s own errors.
pub fn create_once(
    world: &mut World,
    endpoint: &'static str,
    key: Option<&str>,
    body: &Value,
    create: impl FnOnce(&mut World) -> Result<String, WstError>,
) -> Result<(String, bool), WstError> {
    let Some(key) = key else {
        return create(world).map(|id| (id, false));
    };
    match world.whitestones.keys.check(endpoint, key, body) {
        Replay::Same(id) => Ok((id, true)),
        Replay::Conflict => Err(WstError::new(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            format!("Idempotency-Key `{key}` was already used with a different request body"),
        )),
        Replay::New => {
            let id = create(world)?;
            world
                .whitestones
                .keys
                .remember(endpoint, key, body.clone(), id.clone());
            Ok((id, false))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn same_body_replays_other_body_conflicts() {
        let mut keys = Keys::default();
        let body = json!({"amount": 5000, "currency": "USD"});
        assert_eq!(keys.check("payouts", "k1", &body), Replay::New);
        keys.remember("payouts", "k1", body.clone(), "po_1".into());
        // Key order does not matter, values do.
        let reordered = json!({"currency": "USD", "amount": 5000});
        assert_eq!(
            keys.check("payouts", "k1", &reordered),
            Replay::Same("po_1".into())
        );
        assert_eq!(
            keys.check("payouts", "k1", &json!({"amount": 5001, "currency": "USD"})),
            Replay::Conflict
        );
        assert_eq!(keys.check("payment_intents", "k1", &body), Replay::New);
    }
}
