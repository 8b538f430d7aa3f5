//! `webhook.await`: wait until a provider object reaches the state an event names.
//!
//! Events are hints; the object's state read back from the provider is the truth
//! (DESIGN.md §5). The wait is durable: its deadline is stored with the step, so a restarted
//! run keeps the original timeout.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value};

use super::Write;
use super::call::{CallEnv, Halt, ItemEnd};
use crate::providers::{NormalizedState, Output};
use crate::store::{StepRecord, StepResult, Waiting};

/// The await's settings, from its rendered `with`.
#[derive(Debug, Clone, PartialEq)]
pub struct AwaitSpec {
    /// The event types that satisfy it.
    pub events: Vec<String>,
    /// The provider object polled (`checkout`, `swap`, `payout`, …).
    pub object: String,
    /// Its id.
    pub id: String,
    /// How long to wait in all.
    pub timeout: Duration,
    /// How often to read the object's state.
    pub poll_every: Duration,
    /// Whether a timeout lets the run continue (the output says `timed_out`).
    pub continue_on_timeout: bool,
}

/// The wait when `timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);
/// The polling interval when `poll_every` is not given.
pub const DEFAULT_POLL: Duration = Duration::from_secs(30);

impl AwaitSpec {
    /// Reads the rendered `with`.
    ///
    /// # Errors
    /// A message for a missing id, an unknown object or a bad duration.
    pub fn parse(with: &Map<String, Value>) -> Result<AwaitSpec, String> {
        let events: Vec<String> = match with.get("event") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        let first = events.first().ok_or("`event` must name an event type")?;
        let object = match with.get("object").and_then(Value::as_str) {
            Some(o) => o.to_string(),
            None => object_of(first).ok_or_else(|| {
                format!(
                    "cannot tell which object `{first}` is about: add `object:` (e.g. `checkout`)"
                )
            })?,
        };
        let id = with
            .get("id")
            .or_else(|| with.get("match").and_then(|m| m.get("id")))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or("the object's id is needed: add `match: { id: \"{{steps.x.output.id}}\" }`")?
            .to_string();
        let duration = |field: &str, default: Duration| -> Result<Duration, String> {
            match with.get(field).and_then(Value::as_str) {
                Some(t) => humantime::parse_duration(t.trim())
                    .map_err(|e| format!("invalid `{field}` `{t}`: {e}")),
                None => Ok(default),
            }
        };
        Ok(AwaitSpec {
            events,
            object,
            id,
            timeout: duration("timeout", DEFAULT_TIMEOUT)?,
            poll_every: duration("poll_every", DEFAULT_POLL)?,
            continue_on_timeout: with.get("on_timeout").and_then(Value::as_str) == Some("continue"),
        })
    }

    /// Whether `out` is the state one of the events announces. `COMPLETED`/`succeeded`
    /// events need a succeeded object, `FAILED` a failed one; other events (`CHECKOUT_UNDERPAID`)
    /// compare with the provider's own state, so an underpaid checkout never satisfies
    /// `CHECKOUT_COMPLETED`.
    pub fn reached(&self, out: &Output) -> bool {
        self.events.iter().any(|event| {
            let suffix = event
                .rsplit(['_', '.'])
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

/// The object an event type is about, in the adapters' `poll` vocabulary.
pub fn object_of(event: &str) -> Option<String> {
    let head = event.split(['_', '.']).next()?.to_ascii_lowercase();
    Some(match head.as_str() {
        "checkout" | "underpaid" => "checkout".into(),
        "payment" => "payment_intent".into(),
        "deposit" | "swap" | "transfer" | "payout" | "charge" | "refund" | "transaction" => head,
        _ => return None,
    })
}

/// The await's output: the object's normalised fields plus the provider's own top-level
/// fields (so `steps.paid.output.checkout.settlementAmountReceived` works as in the event).
pub fn output_json(out: &Output) -> Value {
    let mut json = out.to_json();
    if let (Value::Object(map), Value::Object(raw)) = (&mut json, &out.raw) {
        for (k, v) in raw {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    json
}

/// Waits for the object, polling until the deadline.
///
/// # Errors
/// [`Halt`] when a checkpoint cannot be written.
pub async fn run(
    env: &CallEnv<'_>,
    record: &StepRecord,
    with: &Map<String, Value>,
    max_poll: Option<Duration>,
) -> Result<ItemEnd, Halt> {
    let spec = match AwaitSpec::parse(with) {
        Ok(s) => s,
        Err(message) => return record_end(env, record, ItemEnd::Failed(message)).await,
    };
    let poll = max_poll.map_or(spec.poll_every, |m| m.min(spec.poll_every));
    let deadline = record.deadline_at.unwrap_or_else(|| {
        Utc::now() + chrono::TimeDelta::from_std(spec.timeout).unwrap_or_default()
    });
    env.writer
        .write(Write::Wait(Waiting {
            key: record.key.clone(),
            request: Some(Value::Object(with.clone())),
            next_check_at: Some(Utc::now()),
            deadline_at: Some(deadline),
        }))
        .await?;
    loop {
        match env.provider.poll(&spec.object, &spec.id).await {
            Ok(out) if spec.reached(&out) => {
                return record_end(env, record, ItemEnd::Succeeded(output_json(&out))).await;
            }
            Ok(out) if out.state.normalized.is_final() => {
                let message = format!(
                    "`{}` `{}` ended as `{}` while waiting for {}",
                    spec.object,
                    spec.id,
                    out.state
                        .raw
                        .as_deref()
                        .unwrap_or(out.state.normalized.as_str()),
                    spec.events.join(" or ")
                );
                return record_end(env, record, ItemEnd::Failed(message)).await;
            }
            Ok(_) => {}
            Err(e)
                if e.class() == crate::providers::FailureClass::Rejected
                    || e.class() == crate::providers::FailureClass::Invalid =>
            {
                return record_end(env, record, ItemEnd::Failed(e.to_string())).await;
            }
            Err(e) => {
                tracing::warn!(step = %record.key.step_id, error = %e, "Polling failed; trying again.")
            }
        }
        let now = Utc::now();
        if now >= deadline {
            let end = if spec.continue_on_timeout {
                ItemEnd::Succeeded(serde_json::json!({ "timed_out": true }))
            } else {
                ItemEnd::Failed(format!(
                    "timed out after {} waiting for {} on `{}` `{}`",
                    humantime::format_duration(spec.timeout),
                    spec.events.join(" or "),
                    spec.object,
                    spec.id
                ))
            };
            return record_end(env, record, end).await;
        }
        let left = (deadline - now).to_std().unwrap_or_default();
        tokio::time::sleep(poll.min(left)).await;
    }
}

async fn record_end(env: &CallEnv<'_>, record: &StepRecord, end: ItemEnd) -> Result<ItemEnd, Halt> {
    let outcome = match &end {
        ItemEnd::Succeeded(output) => crate::store::Outcome::Succeeded {
            output: output.clone(),
            provider_ref: output.get("id").and_then(Value::as_str).map(String::from),
        },
        ItemEnd::Failed(m) => {
            crate::store::Outcome::Failed(crate::store::StepError::new("await", m.clone()))
        }
        _ => return Ok(end),
    };
    env.writer
        .write(Write::Result(StepResult {
            key: record.key.clone(),
            outcome,
            attempt: None,
        }))
        .await?;
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::State;

    fn out(raw: &str, n: NormalizedState) -> Output {
        Output::new(State::reported(raw, n), Value::Null)
    }

    #[test]
    fn events_map_to_objects_and_states() {
        assert_eq!(object_of("CHECKOUT_COMPLETED").as_deref(), Some("checkout"));
        assert_eq!(object_of("payout.completed").as_deref(), Some("payout"));
        assert_eq!(
            object_of("payment.succeeded").as_deref(),
            Some("payment_intent")
        );
        assert_eq!(object_of("SOMETHING"), None);
        let with: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "event": "CHECKOUT_COMPLETED", "match": {"id": "abc"}, "timeout": "2h", "poll_every": "1m"
        }))
        .unwrap();
        let spec = AwaitSpec::parse(&with).unwrap();
        assert_eq!(
            (spec.object.as_str(), spec.id.as_str()),
            ("checkout", "abc")
        );
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
}
