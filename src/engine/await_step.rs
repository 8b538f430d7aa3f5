//! `webhook.await`: wait until a provider event says an object reached a state, and the
//! object, read back from the provider, agrees.
//!
//! Event first (README, *Webhooks*): the step is marked `waiting` with a durable deadline and its
//! `event`/`match` (so a webhook receiver anywhere can wake it in the same transaction that
//! stores the event), then it takes a stored event that already fits (one that came before
//! the waiter), then it sleeps until woken — at once by a receiver in this process
//! ([`Wakeups`]), or at its next store check when another process (`sluice serve`) woke its
//! row — or until the next `poll_every` read-back, the fallback for lost webhooks.
//!
//! Events are hints: none of the providers signs a timestamp or an event id, so before an
//! event satisfies the await the object is read back with [`Provider::poll`] and must have
//! reached the announced state (an underpaid checkout never satisfies `CHECKOUT_COMPLETED`).
//! Only where the provider cannot read the object does the event stand alone.

mod spec;
mod wake;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};

pub use crate::plan::await_spec::{
    AwaitSpec, DEFAULT_POLL, DEFAULT_TIMEOUT, PROVIDER_KEY, object_of,
};
pub use wake::{Waker, Wakeups};

use super::Write;
use super::call::{CallEnv, Halt, ItemEnd};
use crate::providers::{Event, FailureClass, Output, Provider, ProviderError};
use crate::store::{
    ErrorClass, EventFilter, Outcome, StepError, StepKey, StepRecord, StepState, Store, Waiting,
};

/// How often a waiting await looks at its row and the stored events when nothing wakes it:
/// the bound on how late it notices a wake-up by another process's receiver.
pub const STORE_CHECK: Duration = Duration::from_secs(1);

/// After an event fits but the object has not reached the state yet (providers can lag
/// behind their own events), read it back again this soon rather than at the next poll.
const RECHECK_AFTER_EVENT: Duration = Duration::from_secs(2);

/// What an await needs besides the request.
pub struct AwaitEnv<'a> {
    /// The adapter and the checkpoint writer.
    pub call: &'a CallEnv<'a>,
    /// The store, for stored events and the step's own row.
    pub store: &'a Arc<dyn Store>,
    /// Wake-ups from a receiver in this process.
    pub wakeups: &'a Wakeups,
    /// Caps the polling interval and the store check (the sandbox answers in milliseconds).
    pub max_poll: Option<Duration>,
}

/// A stored event that fits the await.
#[derive(Debug, Clone)]
struct Found {
    id: i64,
    event: Event,
    body: Value,
}

/// What reading the object back said.
enum ReadBack {
    /// It reached the awaited state.
    Reached(Output),
    /// It ended in another state; the message says which.
    Ended(String),
    /// Not yet.
    NotYet,
    /// The provider cannot read this kind of object.
    Unreadable(ProviderError),
    /// The provider refused the read for good (unknown id).
    Refused(ProviderError),
    /// It failed this time (network, 5xx): try again later.
    Transient,
}

/// Waits for the event, confirming with the provider, until the deadline.
///
/// # Errors
/// [`Halt`] when a checkpoint cannot be written.
pub async fn run(
    env: &AwaitEnv<'_>,
    record: &StepRecord,
    with: &Map<String, Value>,
) -> Result<ItemEnd, Halt> {
    let spec = match AwaitSpec::parse(with) {
        Ok(s) => s,
        Err(invalid) => {
            return record_end(env, record, ItemEnd::Failed(invalid.to_string())).await;
        }
    };
    let provider = env.call.provider;
    let check = env.max_poll.map_or(STORE_CHECK, |m| m.min(STORE_CHECK));
    let now = Utc::now();
    let deadline = record
        .deadline_at
        .unwrap_or_else(|| now + delta(spec.timeout));
    let mut w = Waiter::new(env, spec, record);
    if w.target.is_none() {
        tracing::info!(step = %record.key.step_id, "No object kind and id to read back; waiting for events only.");
    }
    // Registered before the step is marked waiting, so no wake-up can fall in between.
    let waker = env.wakeups.register(&record.key);
    let mut request = with.clone();
    request.insert(PROVIDER_KEY.into(), provider.name().into());
    let request = Value::Object(request);
    // A step found pending with an event was woken while no process ran it.
    let mut woken_by = match record.state {
        StepState::Pending => record.event_id,
        _ => None,
    };
    mark_waiting(env, record, &request, w.next_poll, deadline).await?;
    loop {
        if let Some(end) = w.take_event(woken_by.take()).await {
            return record_end(env, record, end).await;
        }
        let now = Utc::now();
        if now >= w.next_poll
            && let Some(end) = w.read_target().await
        {
            return record_end(env, record, end).await;
        }
        if now >= deadline {
            return record_end(env, record, w.timed_out()).await;
        }
        let mut until = deadline.min(now + delta(check));
        if w.target.is_some() {
            until = until.min(w.next_poll);
        }
        let pause = (until - now).to_std().unwrap_or_default();
        tokio::select! {
            () = waker.woken() => {}
            () = tokio::time::sleep(pause) => {}
        }
        match env.store.load_step(&record.key).await {
            Ok(row) if row.state == StepState::Pending => {
                // Woken through the store: wait again (so later events can wake it too), and
                // look at the event that woke it.
                woken_by = row.event_id;
                mark_waiting(env, record, &request, w.next_poll, deadline).await?;
            }
            Ok(row) if row.state.is_settled() => {
                // An operator decided while it waited (resolved, skipped, cancelled).
                return Ok(super::step::settled_item(&row).unwrap_or_else(|| {
                    ItemEnd::Skipped(format!("the step became `{}`", row.state))
                }));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(step = %record.key.step_id, error = %e, "Cannot read the step's row; trying again.");
            }
        }
    }
}

/// One await's progress while it waits.
struct Waiter<'a> {
    env: &'a AwaitEnv<'a>,
    spec: AwaitSpec,
    key: &'a StepKey,
    /// The polling interval, capped by `max_poll`.
    poll: Duration,
    /// When to read the object back next.
    next_poll: DateTime<Utc>,
    /// The object to read back: the await's own, or the one an event named.
    target: Option<(String, String)>,
    /// Stored events already looked at.
    seen: HashSet<i64>,
    /// The last event that fitted but whose object had not reached the state yet.
    last_event: Option<Found>,
}

impl<'a> Waiter<'a> {
    fn new(env: &'a AwaitEnv<'a>, spec: AwaitSpec, record: &'a StepRecord) -> Self {
        let poll = env
            .max_poll
            .map_or(spec.poll_every, |m| m.min(spec.poll_every));
        let first = Utc::now() + delta(poll);
        // A resumed wait keeps the read-back it had scheduled, so restarts cannot starve it.
        let next_poll = match (record.state, record.next_attempt_at) {
            (StepState::Waiting, Some(at)) => at.min(first),
            _ => first,
        };
        let target = match (&spec.object, &spec.id) {
            (Some(object), Some(id)) => Some((object.clone(), id.clone())),
            _ => None,
        };
        Waiter {
            env,
            spec,
            key: &record.key,
            poll,
            next_poll,
            target,
            seen: HashSet::new(),
            last_event: None,
        }
    }

    /// The output to record: [`output_json`], the block's sensitive fields redacted.
    fn kept(&self, read: Option<&Output>, event: Option<&Found>) -> Value {
        self.env.call.redacted(output_json(read, event))
    }

    /// Takes a stored event that fits, if the object read back agrees: the end of the
    /// await, or `None` to keep waiting.
    async fn take_event(&mut self, woken_by: Option<i64>) -> Option<ItemEnd> {
        let found = find_event(self.env, &self.spec, self.key, woken_by, &mut self.seen).await?;
        let object = found.event.object_type.clone();
        let id = self
            .spec
            .id
            .clone()
            .or_else(|| found.event.object_id.clone());
        let end = match &id {
            None => ItemEnd::Succeeded(self.kept(None, Some(&found))),
            Some(id) => match read_back(self.env.call.provider, &self.spec, &object, id).await {
                ReadBack::Reached(out) => ItemEnd::Succeeded(self.kept(Some(&out), Some(&found))),
                ReadBack::Ended(message) => ItemEnd::Failed(message),
                ReadBack::Refused(e) => ItemEnd::Failed(e.to_string()),
                ReadBack::Unreadable(e) => {
                    tracing::warn!(step = %self.key.step_id, error = %e, "Cannot read the object back; trusting the signed event.");
                    ItemEnd::Succeeded(self.kept(None, Some(&found)))
                }
                ReadBack::NotYet => {
                    self.target.get_or_insert_with(|| (object, id.clone()));
                    let soon = Utc::now() + delta(self.poll.min(RECHECK_AFTER_EVENT));
                    self.next_poll = self.next_poll.min(soon);
                    self.last_event = Some(found);
                    return None;
                }
                ReadBack::Transient => {
                    self.seen.remove(&found.id);
                    return None;
                }
            },
        };
        if let Err(e) = self.env.store.mark_event_matched(found.id, self.key).await {
            tracing::warn!(step = %self.key.step_id, error = %e, "Cannot link the event to the step.");
        }
        Some(end)
    }

    /// Reads the object back (the fallback for lost webhooks): the end of the await, or
    /// `None` to keep waiting.
    async fn read_target(&mut self) -> Option<ItemEnd> {
        let (object, id) = self.target.as_ref()?;
        let end = match read_back(self.env.call.provider, &self.spec, object, id).await {
            ReadBack::Reached(out) => Some(ItemEnd::Succeeded(
                self.kept(Some(&out), self.last_event.as_ref()),
            )),
            ReadBack::Ended(message) => Some(ItemEnd::Failed(message)),
            ReadBack::Refused(e) | ReadBack::Unreadable(e) => Some(ItemEnd::Failed(e.to_string())),
            ReadBack::NotYet | ReadBack::Transient => None,
        };
        self.next_poll = Utc::now() + delta(self.poll);
        end
    }

    /// The end at the deadline.
    fn timed_out(&self) -> ItemEnd {
        if self.spec.continue_on_timeout {
            return ItemEnd::Succeeded(serde_json::json!({ "timed_out": true }));
        }
        ItemEnd::Failed(format!(
            "timed out after {} waiting for {} on {}",
            humantime::format_duration(self.spec.timeout),
            self.spec.events.join(" or "),
            describe(&self.spec)
        ))
    }
}

/// The first stored event, not looked at before, that fits: the one that woke the step,
/// then those about its object (or, without an id, those of its type that no step took).
async fn find_event(
    env: &AwaitEnv<'_>,
    spec: &AwaitSpec,
    key: &StepKey,
    woken_by: Option<i64>,
    seen: &mut HashSet<i64>,
) -> Option<Found> {
    let provider = env.call.provider;
    let mut records = Vec::new();
    if let Some(id) = woken_by.filter(|id| !seen.contains(id)) {
        match env.store.load_event(id).await {
            Ok(r) => records.push(r),
            Err(e) => {
                tracing::warn!(event_id = id, error = %e, "Cannot load the event that woke the step.")
            }
        }
    }
    let filter = EventFilter {
        provider: Some(provider.name().to_string()),
        event_type: match (&spec.id, spec.events.as_slice()) {
            (None, [only]) => Some(only.clone()),
            _ => None,
        },
        object_id: spec.id.clone(),
        unmatched_only: spec.id.is_none(),
        limit: None,
    };
    match env.store.list_events(&filter).await {
        Ok(list) => records.extend(
            list.into_iter()
                .filter(|r| r.matched.as_ref().is_none_or(|m| m == key)),
        ),
        Err(e) => tracing::warn!(error = %e, "Cannot list stored events; trying again."),
    }
    for r in records {
        if !seen.insert(r.id) || !r.event.signature_ok || !spec.accepts_type(&r.event.event_type) {
            continue;
        }
        let Ok(event) = provider.parse_event(r.event.payload.as_bytes()) else {
            continue;
        };
        let body = serde_json::from_str(&r.event.payload).unwrap_or(Value::Null);
        if spec.fits(&event, &body) {
            return Some(Found {
                id: r.id,
                event,
                body,
            });
        }
    }
    None
}

/// Reads the object and compares it with the awaited state.
async fn read_back(
    provider: &Arc<dyn Provider>,
    spec: &AwaitSpec,
    object: &str,
    id: &str,
) -> ReadBack {
    match provider.poll(object, id).await {
        Ok(out) if spec.reached(&out) => ReadBack::Reached(out),
        Ok(out) if out.state.normalized.is_final() => ReadBack::Ended(format!(
            "`{object}` `{id}` ended as `{}` while waiting for {}",
            out.state
                .raw
                .as_deref()
                .unwrap_or(out.state.normalized.as_str()),
            spec.events.join(" or ")
        )),
        Ok(_) => ReadBack::NotYet,
        Err(e) if e.class() == FailureClass::Invalid => ReadBack::Unreadable(e),
        Err(e) if e.class() == FailureClass::Rejected => ReadBack::Refused(e),
        Err(e) => {
            tracing::warn!(object, id, error = %e, "Reading the object back failed; trying again.");
            ReadBack::Transient
        }
    }
}

/// The await's output: the object as read back (its normalised fields plus the provider's
/// own top-level fields, so `steps.paid.output.checkout.settlementAmountReceived` works),
/// and for an event, the event's object under its kind (`checkout`) and the entries of its
/// `data`, with `event`, `event_id` and whether the read-back `confirmed` it. The read-back
/// wins where both have a field.
fn output_json(read: Option<&Output>, event: Option<&Found>) -> Value {
    let mut map = match read.map(Output::to_json) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    if let Some(Value::Object(raw)) = read.map(|o| &o.raw) {
        for (k, v) in raw {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if let Some(found) = event {
        if let Some(Value::Object(data)) = found.body.get("data") {
            for (k, v) in data {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        map.entry(found.event.object_type.clone())
            .or_insert_with(|| found.event.data.clone());
        map.entry("id").or_insert_with(|| {
            found
                .event
                .object_id
                .clone()
                .map_or(Value::Null, Value::String)
        });
        map.insert("event".into(), found.event.kind.clone().into());
        map.insert("event_id".into(), found.id.into());
        map.insert("confirmed".into(), read.is_some().into());
    }
    Value::Object(map)
}

/// `` `checkout` `abc` ``, or the `match` when there is no id.
fn describe(spec: &AwaitSpec) -> String {
    match (&spec.object, &spec.id) {
        (Some(object), Some(id)) => format!("`{object}` `{id}`"),
        _ => {
            let fields: Vec<String> = spec
                .matches
                .iter()
                .map(|(path, value)| format!("`{path}` = `{value}`"))
                .collect();
            format!("an event with {}", fields.join(", "))
        }
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

async fn mark_waiting(
    env: &AwaitEnv<'_>,
    record: &StepRecord,
    request: &Value,
    next_check_at: DateTime<Utc>,
    deadline_at: DateTime<Utc>,
) -> Result<(), Halt> {
    env.call
        .writer
        .write(Write::Wait(Waiting {
            key: record.key.clone(),
            request: Some(request.clone()),
            next_check_at: Some(next_check_at),
            deadline_at: Some(deadline_at),
        }))
        .await?;
    Ok(())
}

async fn record_end(
    env: &AwaitEnv<'_>,
    record: &StepRecord,
    end: ItemEnd,
) -> Result<ItemEnd, Halt> {
    let outcome = match &end {
        ItemEnd::Succeeded(output) => Outcome::Succeeded {
            output: output.clone(),
            provider_ref: output.get("id").and_then(Value::as_str).map(String::from),
        },
        ItemEnd::Failed(m) => Outcome::Failed(StepError::new(ErrorClass::Await, m.clone())),
        _ => return Ok(end),
    };
    env.call.writer.result(record.key.clone(), outcome).await?;
    Ok(end)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::{NormalizedState, State};

    #[test]
    fn output_keeps_the_read_back_and_adds_the_event() {
        let mut read = Output::new(
            State::reported("COMPLETED", NormalizedState::Succeeded),
            json!({"checkout": {"id": "c1", "settlementAmountReceived": "248.7500000"}}),
        );
        read.id = Some("c1".into());
        let found = Found {
            id: 7,
            event: Event {
                dedupe_key: "d".into(),
                kind: "CHECKOUT_COMPLETED".into(),
                object_type: "checkout".into(),
                object_id: Some("c1".into()),
                data: json!({"id": "c1", "settlementAmountReceived": "1.0000000"}),
            },
            body: json!({"eventType": "CHECKOUT_COMPLETED", "data": {"checkout": {"id": "c1"}}}),
        };
        let out = output_json(Some(&read), Some(&found));
        assert_eq!(out["checkout"]["settlementAmountReceived"], "248.7500000");
        assert_eq!(out["state"], "succeeded");
        assert_eq!(
            (&out["event"], &out["event_id"], &out["confirmed"]),
            (&json!("CHECKOUT_COMPLETED"), &json!(7), &json!(true))
        );
        let alone = output_json(None, Some(&found));
        assert_eq!(alone["checkout"]["id"], "c1", "the body's `data` entry");
        assert_eq!(alone["id"], "c1");
        assert_eq!(alone["confirmed"], false);
        let polled = output_json(Some(&read), None);
        assert!(polled.get("event").is_none());
        assert_eq!(polled["provider_state"], "COMPLETED");
    }
}
