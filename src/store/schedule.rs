//! Schedule slots: the record that a workflow's slot has fired, so a restarted server never
//! fires it twice (README, *Scheduling*).

use chrono::{DateTime, Utc};

use crate::ids::RunId;

/// A fired slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRecord {
    /// The workflow's `name`.
    pub workflow_name: String,
    /// The slot instant, in UTC.
    pub slot_at: DateTime<Utc>,
    /// The run it fired.
    pub run_id: RunId,
    /// When it was claimed.
    pub claimed_at: DateTime<Utc>,
}
