//! Missed slots: which slots of a workflow came due while no service watched it and will not
//! fire, why, and when a service records them (README, *Scheduling*).
//!
//! A service does not record its gap at once: another service on the database may have
//! watched all along and be about to fire the last slot of it. [`Gap`] remembers where the gap
//! starts (the last slot claimed at the service's first look) until it is time, and
//! [`missed_slots`] says what to record; the store claims only the slots still unclaimed.

use chrono::{DateTime, Utc};

use super::slots::slot_run_id;
use super::workflow::ScheduledWorkflow;
use crate::spec::CatchUp;
use crate::store::{MissedSlots, NotifyRoute};

/// The slots a workflow may have missed before a service began watching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gap {
    /// Not looked at yet.
    Unseen,
    /// From after this slot (the last claimed at the first look) to when watching began; not
    /// recorded yet.
    After(Option<DateTime<Utc>>),
    /// Recorded.
    Recorded,
}

impl Gap {
    /// Notes `last`, the last slot claimed, as where the gap starts if this is the first look.
    pub(super) fn look(&mut self, last: Option<DateTime<Utc>>) {
        if *self == Gap::Unseen {
            *self = Gap::After(last);
        }
    }
}

/// The slots of `workflow` after `after` and before `since` that `catch_up` does not fire, at
/// most `limit` (the latest), with why and the `routes` that may want `schedule_missed`;
/// `None` when there are none.
pub(super) fn missed_slots(
    workflow: &ScheduledWorkflow,
    (after, since): (Option<DateTime<Utc>>, DateTime<Utc>),
    limit: usize,
    routes: Vec<NotifyRoute>,
) -> Option<MissedSlots> {
    let name = workflow.name();
    let (slots, more) = workflow.schedule.missed(after, since, limit);
    if slots.is_empty() {
        return None;
    }
    let mut reason = match workflow.schedule.catch_up() {
        CatchUp::Latest => {
            "no scheduler was running when it came due; `catch_up: latest` fires only the last missed slot"
        }
        CatchUp::None | CatchUp::All => {
            "no scheduler was running when it came due (`catch_up: none`)"
        }
    }
    .to_string();
    if more {
        reason.push_str("; earlier slots were missed too");
    }
    Some(MissedSlots {
        workflow_name: name.to_string(),
        slots: slots.iter().map(|&t| (t, slot_run_id(name, t))).collect(),
        reason,
        routes,
    })
}
