//! The questions an await asks about the [`AwaitSpec`] it waits for: does this event fit
//! (`event` and `match`), and has the object reached the state the event announces (the
//! provider's read-back, which is the truth).
//!
//! The same spec is stored with the waiting step (plus the provider block's name under
//! [`PROVIDER_KEY`]), so the webhook receiver, in this process or another, decides which
//! waiting steps an event wakes with exactly the rules the await itself applies.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use crate::plan::await_spec::{AwaitSpec, PROVIDER_KEY, scalar_text};
use crate::providers::{Event, NormalizedState, Output};
use crate::store::StepRecord;

/// Matching events and read-backs; parsing is [`AwaitSpec::parse`].
impl AwaitSpec {
    /// The provider block and spec of a waiting await, from its stored request; `None` for
    /// anything else that waits (an approval) or a request that does not parse.
    pub fn of_waiting(record: &StepRecord) -> Option<(String, AwaitSpec)> {
        let request = record.request.as_ref()?.as_object()?;
        let provider = request.get(PROVIDER_KEY)?.as_str()?.to_string();
        Some((provider, AwaitSpec::parse(request).ok()?))
    }

    /// Whether a parsed event fits: its type is awaited and every `match` path has the
    /// expected value. A path is looked up in the event's object first, then in the body's
    /// `data`, then in the whole body, so both `id` and `checkout.id` work for Whalestack.
    pub fn fits(&self, event: &Event, body: &Value) -> bool {
        let roots = [Some(&event.data), body.get("data"), Some(body)];
        self.accepts_type(&event.kind)
            && self.matches.iter().all(|(path, want)| {
                roots
                    .iter()
                    .flatten()
                    .find_map(|root| lookup(root, path))
                    .is_some_and(|found| same_value(found, want))
            })
    }

    /// Whether `out` is the state one of the events announces. `COMPLETED`/`succeeded`
    /// events need a succeeded object, `FAILED` a failed one; other events (`CHECKOUT_UNDERPAID`)
    /// compare with the provider's own state, so an underpaid checkout never satisfies
    /// `CHECKOUT_COMPLETED`.
    pub fn reached(&self, out: &Output) -> bool {
        self.events.iter().any(|event| {
            let suffix = event
                .rsplit(['_', '.', ':'])
                .next()
                .unwrap_or(event)
                .to_ascii_uppercase();
            match suffix.as_str() {
                "COMPLETED" | "SUCCEEDED" | "PAID" => {
                    out.state.normalized == NormalizedState::Succeeded
                }
                "FAILED" => out.state.normalized == NormalizedState::Failed,
                other => out
                    .state
                    .raw
                    .as_deref()
                    .is_some_and(|raw| raw.to_ascii_uppercase().contains(other)),
            }
        })
    }
}

/// The value at a dot path (`checkout.id`, `lineItems.0.amount`).
fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(root, |v, segment| match v {
        Value::Object(map) => map.get(segment),
        Value::Array(list) => list.get(segment.parse::<usize>().ok()?),
        _ => None,
    })
}

/// Equal as text, or, for amounts (both decimals, one with a decimal point), as exact
/// decimals: `"250.00"` fits `250.0`, while ids like `007` and `7` stay different.
fn same_value(found: &Value, want: &str) -> bool {
    let Some(text) = scalar_text(found) else {
        return false;
    };
    if text == want {
        return true;
    }
    if !text.contains('.') && !want.contains('.') {
        return false;
    }
    match (Decimal::from_str(&text), Decimal::from_str(want)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Map, json};

    use super::*;
    use crate::plan::await_spec::object_of;
    use crate::providers::State;

    fn with(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn out(raw: &str, n: NormalizedState) -> Output {
        Output::new(State::reported(raw, n), Value::Null)
    }

    fn checkout_event(kind: &str, id: &str, received: Value) -> (Event, Value) {
        let object = json!({"id": id, "state": "COMPLETED", "settlementAmountReceived": received});
        let body = json!({"eventType": kind, "data": {"checkout": object}});
        let event = Event {
            dedupe_key: "d".into(),
            kind: kind.into(),
            object_type: "checkout".into(),
            object_id: Some(id.into()),
            data: object,
        };
        (event, body)
    }

    #[test]
    fn events_map_to_objects_and_states() {
        assert_eq!(object_of("CHECKOUT_COMPLETED").as_deref(), Some("checkout"));
        assert_eq!(object_of("payout.completed").as_deref(), Some("payout"));
        assert_eq!(
            object_of("payment.succeeded").as_deref(),
            Some("payment_intent")
        );
        assert_eq!(
            object_of("transaction::completed").as_deref(),
            Some("transaction")
        );
        assert_eq!(object_of("SOMETHING"), None);
        let spec = AwaitSpec::parse(&with(json!({
            "event": "CHECKOUT_COMPLETED", "match": {"id": "abc"}, "timeout": "2h", "poll_every": "1m"
        })))
        .unwrap();
        assert_eq!(
            (spec.object.as_deref(), spec.id.as_deref()),
            (Some("checkout"), Some("abc"))
        );
        assert!(spec.can_poll());
        assert_eq!(spec.poll_every, Duration::from_secs(60));
        assert!(spec.reached(&out("COMPLETED", NormalizedState::Succeeded)));
        assert!(!spec.reached(&out(
            "UNRESOLVED_UNDERPAID",
            NormalizedState::RequiresAction
        )));
        let underpaid = AwaitSpec {
            events: vec!["CHECKOUT_UNDERPAID".into()],
            ..spec
        };
        assert!(underpaid.reached(&out(
            "UNRESOLVED_UNDERPAID",
            NormalizedState::RequiresAction
        )));
    }

    #[test]
    fn events_fit_by_type_and_every_match_path() {
        let spec = AwaitSpec::parse(&with(json!({
            "event": ["CHECKOUT_COMPLETED", "UNDERPAID_ACCEPTED"],
            "match": {"id": "c1", "checkout.settlementAmountReceived": "250.00"}
        })))
        .unwrap();
        let (event, body) = checkout_event("CHECKOUT_COMPLETED", "c1", json!("250.0000000"));
        assert!(spec.fits(&event, &body));
        let (event, body) = checkout_event("UNDERPAID_ACCEPTED", "c1", json!(250.0));
        assert!(spec.fits(&event, &body), "a JSON number compares exactly");
        let (event, body) = checkout_event("CHECKOUT_UNDERPAID", "c1", json!("250.00"));
        assert!(
            !spec.fits(&event, &body),
            "CHECKOUT_UNDERPAID is not awaited"
        );
        let (event, body) = checkout_event("CHECKOUT_COMPLETED", "c2", json!("250.00"));
        assert!(!spec.fits(&event, &body), "another checkout");
        let (event, body) = checkout_event("CHECKOUT_COMPLETED", "c1", json!("249.99"));
        assert!(!spec.fits(&event, &body), "another amount");

        assert!(spec.may_fit("CHECKOUT_COMPLETED", Some("c1")));
        assert!(!spec.may_fit("CHECKOUT_COMPLETED", Some("c2")));
        assert!(!spec.may_fit("SWAP_COMPLETED", Some("c1")));
    }

    #[test]
    fn ids_compare_as_text_and_bad_matches_are_refused() {
        assert!(same_value(&json!("007"), "007"));
        assert!(!same_value(&json!("007"), "7"));
        assert!(same_value(&json!(12), "12"));
        assert!(same_value(&json!(true), "true"));
        assert!(!same_value(&json!({"a": 1}), "1"));
        assert!(!same_value(&json!("1.5x"), "1.5"));

        let explicit =
            AwaitSpec::parse(&with(json!({"event": "SWAP_COMPLETED", "id": "s1"}))).unwrap();
        assert_eq!(explicit.matches, vec![("id".to_string(), "s1".to_string())]);
        let no_id = AwaitSpec::parse(&with(json!({
            "event": "payout.completed", "match": {"metadata.order": "o-7"}
        })))
        .unwrap();
        assert!(!no_id.can_poll());
        assert_eq!(no_id.object.as_deref(), Some("payout"));
        assert!(AwaitSpec::parse(&with(json!({"event": "X", "match": {"a": {"b": 1}}}))).is_err());
        assert!(AwaitSpec::parse(&with(json!({"event": "X", "match": {"id": ""}}))).is_err());
        assert!(AwaitSpec::parse(&with(json!({"event": "X", "match": "id"}))).is_err());
        assert!(AwaitSpec::parse(&with(json!({"match": {"id": "a"}}))).is_err());
        assert!(AwaitSpec::parse(&with(json!({"event": "X", "timeout": "soon"}))).is_err());
    }
}
