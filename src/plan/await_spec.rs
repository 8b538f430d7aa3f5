//! What a `webhook.await` waits for, read from its rendered `with`: the event types, the
//! object read back and its id, the `match` paths, and the timeout and polling interval.
//!
//! Parsing lives with the plan because a plan review shows these settings before anything
//! runs; the engine adds the questions asked of providers' events and read-backs
//! (`engine::await_step`), so both read a `with` by the same rules.

use std::time::Duration;

use serde_json::{Map, Value};

/// The key under which a waiting await's stored request names its provider block.
pub const PROVIDER_KEY: &str = "provider";

/// The wait when `timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);
/// The polling interval when `poll_every` is not given.
pub const DEFAULT_POLL: Duration = Duration::from_secs(30);

/// A `webhook.await`'s `with` cannot be used: the message says which field and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidAwait {
    /// `event` names no event type.
    #[error("`event` must name an event type")]
    NoEvent,
    /// `match` is not a map.
    #[error("`match` must map field paths to values")]
    MatchNotMap,
    /// A `match` value is an array, an object or null.
    #[error("`match.{0}` must be a string, number or boolean")]
    MatchValue(String),
    /// A `match` value rendered empty.
    #[error("a `match` value rendered empty: the step it refers to has no such field")]
    EmptyMatch,
    /// `timeout` or `poll_every` is not a duration.
    #[error("invalid `{field}` `{text}`: {source}")]
    Duration {
        /// The field.
        field: &'static str,
        /// Its text.
        text: String,
        /// Why it does not parse.
        #[source]
        source: humantime::DurationError,
    },
}

/// The await's settings, from its rendered `with`.
#[derive(Debug, Clone, PartialEq)]
pub struct AwaitSpec {
    /// The event types that satisfy it.
    pub events: Vec<String>,
    /// The provider object read back (`checkout`, `swap`, `payout`, …): `object`, or the
    /// one the first event type names. `None`: only the event can tell.
    pub object: Option<String>,
    /// The object's id (`id`, or `match.id`). Without one the await cannot poll and
    /// confirms with the id the event carries.
    pub id: Option<String>,
    /// Field paths into the event (`id`, `checkout.id`, `payload.reference`) and the
    /// rendered values they must have. An explicit `id` adds `id`.
    pub matches: Vec<(String, String)>,
    /// How long to wait in all.
    pub timeout: Duration,
    /// How often to read the object's state when no event comes.
    pub poll_every: Duration,
    /// Whether a timeout lets the run continue (the output says `timed_out`).
    pub continue_on_timeout: bool,
}

impl AwaitSpec {
    /// Reads the rendered `with`.
    ///
    /// # Errors
    /// [`InvalidAwait`] for a missing event, an unusable `match` or a bad duration.
    pub fn parse(with: &Map<String, Value>) -> Result<AwaitSpec, InvalidAwait> {
        let events: Vec<String> = match with.get("event") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        let first = events.first().ok_or(InvalidAwait::NoEvent)?;
        let object = match with.get("object").and_then(Value::as_str) {
            Some(o) => Some(o.to_string()),
            None => object_of(first),
        };
        let mut matches = Vec::new();
        match with.get("match") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (path, value) in map {
                    let text =
                        scalar_text(value).ok_or_else(|| InvalidAwait::MatchValue(path.clone()))?;
                    matches.push((path.clone(), text));
                }
            }
            Some(_) => return Err(InvalidAwait::MatchNotMap),
        }
        let explicit = with
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        if let Some(id) = explicit
            && !matches.iter().any(|(p, _)| p == "id")
        {
            matches.push(("id".into(), id.to_string()));
        }
        if matches.iter().any(|(_, v)| v.is_empty()) {
            return Err(InvalidAwait::EmptyMatch);
        }
        let id = matches
            .iter()
            .find(|(p, _)| p == "id")
            .map(|(_, v)| v.clone());
        let duration = |field: &'static str, default: Duration| -> Result<Duration, InvalidAwait> {
            match with.get(field).and_then(Value::as_str) {
                Some(t) => {
                    humantime::parse_duration(t.trim()).map_err(|source| InvalidAwait::Duration {
                        field,
                        text: t.to_owned(),
                        source,
                    })
                }
                None => Ok(default),
            }
        };
        Ok(AwaitSpec {
            events,
            object,
            id,
            matches,
            timeout: duration("timeout", DEFAULT_TIMEOUT)?,
            poll_every: duration("poll_every", DEFAULT_POLL)?,
            continue_on_timeout: with.get("on_timeout").and_then(Value::as_str) == Some("continue"),
        })
    }

    /// Whether the object can be read back without an event: its kind and id are known.
    pub fn can_poll(&self) -> bool {
        self.object.is_some() && self.id.is_some()
    }

    /// Whether `kind` is one of the awaited event types.
    pub fn accepts_type(&self, kind: &str) -> bool {
        self.events.iter().any(|e| e.eq_ignore_ascii_case(kind))
    }

    /// Whether a stored event may fit, judged on what the store keeps about it (type and
    /// object id) without parsing the body: for redeliveries, where the await then checks
    /// [`fits`](Self::fits) itself.
    pub fn may_fit(&self, event_type: &str, object_id: Option<&str>) -> bool {
        self.accepts_type(event_type)
            && self
                .id
                .as_deref()
                .is_none_or(|id| object_id.is_none_or(|o| o == id))
    }
}

/// The object an event type is about, in the adapters' `poll` vocabulary.
pub fn object_of(event: &str) -> Option<String> {
    let head = event.split(['_', '.', ':']).next()?.to_ascii_lowercase();
    Some(match head.as_str() {
        "checkout" | "underpaid" => "checkout".into(),
        "payment" => "payment_intent".into(),
        "deposit" | "swap" | "transfer" | "payout" | "charge" | "refund" | "transaction" => head,
        _ => return None,
    })
}

/// A scalar as the text it is compared by; numbers keep their exact digits.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
