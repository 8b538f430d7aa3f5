//! The notifications outbox: what a run's status change owes its `notify:` routes, written in
//! the transaction of the change, and each delivery attempt.
//!
//! The store does not read targets: a route's target is opaque JSON (the workflow's, with
//! `${VAR}` unresolved), and the process that delivers resolves it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{RunId, StepId};

/// One `notify:` rule as a run keeps it: the events (run statuses) and the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyRoute {
    /// The statuses that send it (`failed`, `needs_attention`).
    pub on: Vec<String>,
    /// Where to, as written.
    pub target: Value,
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not delivered yet; tried again at `next_attempt_at`.
    Pending,
    /// The target accepted it.
    Delivered,
    /// Given up after [`MAX_ATTEMPTS`]; `last_error` says why.
    Failed,
}

/// Attempts before a notification is given up.
pub const MAX_ATTEMPTS: u32 = 8;

impl DeliveryState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// The state stored as `name`.
    pub fn from_stored(name: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One notification: an event of a run (or of a workflow's schedule), for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    /// Its id: the event id receivers deduplicate by.
    pub id: i64,
    /// The run; `None` for an event of the workflow's schedule (`schedule_missed`).
    pub run_id: Option<RunId>,
    /// The workflow's name.
    pub workflow_name: String,
    /// The event: the status the run reached, `item_failed_after_commit`,
    /// `reconcile_mismatch` or `schedule_missed`.
    pub event: String,
    /// The step concerned (the first waiting, in doubt or failed one), if any.
    pub step_id: Option<StepId>,
    /// What happened (the run's error, when it has one).
    pub message: Option<String>,
    /// Where to, as written.
    pub target: Value,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// Delivered, pending or given up.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: u32,
    /// When it is due next (pending only).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// How one delivery attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The target accepted it.
    Delivered,
    /// It failed, with why: tried again later, or given up after [`MAX_ATTEMPTS`].
    Failed(String),
}
