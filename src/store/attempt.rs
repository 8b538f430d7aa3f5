//! Attempts: the audit trail of every provider call a step made (create, commit, lookup, …),
//! with the idempotency key and request digest it carried and how it ended.

use chrono::{DateTime, Utc};

use super::step::{StepError, StepKey};

/// One provider call to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttempt {
    /// The step run it was made for.
    pub key: StepKey,
    /// The step run's dispatch count when the call was made (1 for the first dispatch).
    pub attempt_no: u32,
    /// Which call: the engine's word (`execute`, `commit`, `lookup`, …).
    pub operation: String,
    /// The idempotency key it carried.
    pub idempotency_key: String,
    /// The digest of the request it carried, if it carried one.
    pub request_digest: Option<String>,
    /// When the call started.
    pub started_at: DateTime<Utc>,
    /// When it ended, if it did.
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended, in the engine's words (`ok`, `rejected`, `retryable`, `in_doubt`, `found`,
    /// `absent`, …).
    pub outcome: String,
    /// The classified error, if it failed.
    pub error: Option<StepError>,
    /// The HTTP status, if a response came back.
    pub http_status: Option<u16>,
}

/// A recorded provider call.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// Its row id; increases with recording order.
    pub id: i64,
    /// What was recorded.
    pub attempt: NewAttempt,
}
