//! Schedule slots: the record of what became of each slot of a workflow's schedule, so a
//! restarted server never fires one twice and an operator sees the slots that did not run
//! and why (README, *Scheduling*).

use std::fmt;

use chrono::{DateTime, Utc};

use super::notification::NotifyRoute;
use super::run::RunStatus;
use crate::ids::RunId;

/// What became of a slot, as recorded when it was claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    /// Its run was created (and, once it ends, may have failed: see [`SlotRecord::shown`]).
    Fired,
    /// `overlap: skip` passed over it while another run was live.
    Skipped,
    /// No scheduler watched when it came due, and `catch_up` did not fire it.
    Missed,
    /// Its run could not be prepared; the run is recorded `failed` with the reason.
    Failed,
}

impl SlotState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Skipped => "skipped",
            Self::Missed => "missed",
            Self::Failed => "failed",
        }
    }

    /// The state stored as `name`.
    pub fn from_stored(name: &str) -> Option<Self> {
        [Self::Fired, Self::Skipped, Self::Missed, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

impl fmt::Display for SlotState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A slot claimed by a scheduler: fired, skipped, missed or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRecord {
    /// The workflow's `name`.
    pub workflow_name: String,
    /// The slot instant, in UTC.
    pub slot_at: DateTime<Utc>,
    /// The slot's run id (a skipped or missed slot has no run by that id).
    pub run_id: RunId,
    /// When it was claimed.
    pub claimed_at: DateTime<Utc>,
    /// What became of it.
    pub state: SlotState,
    /// Why it was skipped, missed or failed.
    pub reason: Option<String>,
    /// Its run's status now, if it has a run.
    pub run_status: Option<RunStatus>,
}

impl SlotRecord {
    /// The outcome shown to operators: a fired slot whose run failed shows as `failed`.
    pub fn shown(&self) -> SlotState {
        match (self.state, self.run_status) {
            (SlotState::Fired, Some(RunStatus::Failed)) => SlotState::Failed,
            (state, _) => state,
        }
    }
}

/// Slots of one workflow that came due while no scheduler watched and that `catch_up` does
/// not fire, recorded together with the `schedule_missed` notification they owe.
#[derive(Debug, Clone, PartialEq)]
pub struct MissedSlots {
    /// The workflow's `name`.
    pub workflow_name: String,
    /// The slots, oldest first, each with its would-be run id.
    pub slots: Vec<(DateTime<Utc>, RunId)>,
    /// Why they were not fired, as shown and sent.
    pub reason: String,
    /// The notify routes that may want `schedule_missed` (the workflow's and `serve`'s).
    pub routes: Vec<NotifyRoute>,
}

/// The notification event of a missed slot.
pub const SCHEDULE_MISSED_EVENT: &str = "schedule_missed";
