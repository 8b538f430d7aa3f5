//! Webhook events as stored: deduplicated per provider, kept whether or not a step waits for
//! them yet, and linked to the step they woke (README, *Webhooks*).

use chrono::{DateTime, Utc};

use super::step::StepKey;

/// A verified webhook to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The provider block's name (the `<provider-name>` of `/webhooks/<provider-name>`).
    pub provider: String,
    /// What makes a delivery a duplicate: the provider's event id, or a hash of the body when
    /// the provider sends none.
    pub dedupe_key: String,
    /// The event type (`SWAP_COMPLETED`, `payout.completed`, …).
    pub event_type: String,
    /// The id of the object the event is about, if it names one.
    pub object_id: Option<String>,
    /// The raw body, exactly as received (it is what the signature covered).
    pub payload: String,
    /// Whether the signature checked out.
    pub signature_ok: bool,
}

/// What [`insert_event`](super::EventStore::insert_event) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventInsert {
    /// The event is new; these waiting steps were woken (moved to pending) in the same
    /// transaction. Steps asked for that were no longer waiting are not listed.
    Inserted {
        /// The new event's id.
        id: i64,
        /// The steps woken.
        woken: Vec<StepKey>,
    },
    /// The provider already delivered this event; nothing was changed.
    Duplicate {
        /// The id of the event stored the first time.
        id: i64,
    },
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Its id; increases with arrival order.
    pub id: i64,
    /// What was received.
    pub event: NewEvent,
    /// When it was stored.
    pub received_at: DateTime<Utc>,
    /// The step it woke or was matched to, if any.
    pub matched: Option<StepKey>,
}

/// Which events [`list_events`](super::EventStore::list_events) returns, oldest first. The
/// default lists every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only from this provider block.
    pub provider: Option<String>,
    /// Only of this type.
    pub event_type: Option<String>,
    /// Only about this object.
    pub object_id: Option<String>,
    /// Only those no step was matched to yet (events that arrived before their waiter).
    pub unmatched_only: bool,
    /// At most this many.
    pub limit: Option<u32>,
}
