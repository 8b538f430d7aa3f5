//! Which waiting steps an event wakes, and redelivery of a stored event for an operator.
//!
//! A waiting `webhook.await` stores its rendered `event` and `match` with its provider
//! block's name; the receiver reads the waiting steps and applies the await's own test
//! ([`AwaitSpec::fits`]) to the parsed event. A redelivery (`sluice events replay`) works
//! from what the store keeps (type and object id, [`AwaitSpec::may_fit`]) and leaves the
//! full test to the await it wakes, which reads the body with its own adapter.

use chrono::Utc;
use serde_json::Value;

use super::intake::UNPARSEABLE;
use crate::engine::await_step::AwaitSpec;
use crate::providers::Event;
use crate::store::{EventInsert, NewEvent, StepKey, Store, StoreError};

/// The waiting awaits of provider block `provider` that `event` (with `body`, the parsed
/// JSON of its payload) fits.
///
/// # Errors
/// The store's error.
pub async fn wake_keys(
    store: &dyn Store,
    provider: &str,
    event: &Event,
    body: &Value,
) -> Result<Vec<StepKey>, StoreError> {
    let waiting = store.waiting_steps().await?;
    Ok(waiting
        .iter()
        .filter_map(|record| {
            let (block, spec) = AwaitSpec::of_waiting(record)?;
            (block == provider && spec.fits(event, body)).then(|| record.key.clone())
        })
        .collect())
}

/// What a redelivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The event redelivered.
    pub original: i64,
    /// The id of its redelivery in the store.
    pub id: i64,
    /// The waiting steps it woke.
    pub woken: Vec<StepKey>,
}

/// Why an event cannot be redelivered.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The store failed, or has no such event.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The event's body was never an event.
    #[error(
        "event {0} is not an event of its provider (its body did not parse); nothing to redeliver"
    )]
    Unparseable(i64),
}

/// Redelivers stored event `event_id` to the matcher: stored again as a new delivery
/// (`replay:<id>:<time>`, so the audit trail shows it) that wakes every waiting await that
/// may fit it, in one transaction. An await that is not running is continued by
/// `sluice serve` or `sluice resume`.
///
/// # Errors
/// [`ReplayError`].
pub async fn replay(store: &dyn Store, event_id: i64) -> Result<Replayed, ReplayError> {
    let original = store.load_event(event_id).await?;
    if original.event.event_type == UNPARSEABLE {
        return Err(ReplayError::Unparseable(event_id));
    }
    let wake: Vec<StepKey> = store
        .waiting_steps()
        .await?
        .iter()
        .filter_map(|record| {
            let (block, spec) = AwaitSpec::of_waiting(record)?;
            (block == original.event.provider
                && spec.may_fit(
                    &original.event.event_type,
                    original.event.object_id.as_deref(),
                ))
            .then(|| record.key.clone())
        })
        .collect();
    let stamp = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let copy = NewEvent {
        dedupe_key: format!("replay:{event_id}:{stamp}"),
        ..original.event
    };
    match store.insert_event(&copy, &wake).await? {
        EventInsert::Inserted { id, woken } => Ok(Replayed {
            original: event_id,
            id,
            woken,
        }),
        // Only two replays in the same nanosecond could collide.
        EventInsert::Duplicate { id } => Ok(Replayed {
            original: event_id,
            id,
            woken: Vec::new(),
        }),
    }
}
