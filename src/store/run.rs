//! Runs as the store keeps them: their status, what they were started from, and who holds them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::ids::RunId;

/// Where a run stands as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RunStatus {
    /// Created, not started yet (or made runnable again by an operator).
    Pending,
    /// A process is executing it.
    Running,
    /// Every remaining step waits for something outside (a webhook, an approval, a timer).
    Waiting,
    /// Every step succeeded or was skipped.
    Succeeded,
    /// A step failed and the run stopped.
    Failed,
    /// A step is in doubt; an operator must decide (`sluice resolve`).
    NeedsAttention,
    /// Cancelled by an operator.
    Cancelled,
    /// A step failed for good and the workflow asked for compensation: the undo path runs.
    Compensating,
    /// A step failed for good and every compensation succeeded: nothing it undid is left.
    Compensated,
    /// A compensation was refused or could not tell: an operator must look at the items the
    /// run's error names.
    CompensationFailed,
}

impl RunStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [RunStatus; 10] = [
        Self::Pending,
        Self::Running,
        Self::Waiting,
        Self::Succeeded,
        Self::Failed,
        Self::NeedsAttention,
        Self::Cancelled,
        Self::Compensating,
        Self::Compensated,
        Self::CompensationFailed,
    ];

    /// The name stored in the database and shown to users (`needs_attention`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::NeedsAttention => "needs_attention",
            Self::Cancelled => "cancelled",
            Self::Compensating => "compensating",
            Self::Compensated => "compensated",
            Self::CompensationFailed => "compensation_failed",
        }
    }

    /// Whether the run is over: succeeded, failed, cancelled or compensated. A run that needs
    /// attention, or whose compensation failed, is not over: it continues once resolved.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Cancelled | Self::Compensated
        )
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`RunStatus`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown run status `{0}`")]
pub struct UnknownRunStatus(pub String);

impl FromStr for RunStatus {
    type Err = UnknownRunStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownRunStatus(s.to_owned()))
    }
}

/// A run to create, with what it is bound to: resume compares these hashes to refuse a changed
/// workflow file or changed inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// `run_…` from [`new_run_id`](super::new_run_id), or a scheduler's deterministic id.
    pub id: RunId,
    /// The workflow's `name`.
    pub workflow_name: String,
    /// The workflow file it was started from, as given on the command line.
    pub workflow_path: String,
    /// Hash of the workflow file's bytes.
    pub workflow_hash: String,
    /// Hash of the canonical inputs.
    pub inputs_hash: String,
    /// The inputs, as JSON (amounts as decimal strings; never secrets).
    pub inputs: Value,
    /// The plan hash, when started from `sluice run --plan`.
    pub plan_hash: Option<String>,
    /// The schedule slot this run was fired for.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Who started it: the operator (`sluice run --as`, default `$USER`) or the schedule.
    /// An approval that forbids self-approval refuses this name.
    pub started_by: String,
    /// Who hears about its status changes (the workflow's `notify:`).
    pub notify: Vec<super::notification::NotifyRoute>,
    /// Who holds the run from the moment it exists: the process that is about to execute it,
    /// so that no worker claims it in between. `None` leaves it to whoever claims it first.
    pub lease: Option<NewLease>,
}

/// The lease a run is created with (see [`NewRun::lease`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLease {
    /// The holder's owner name.
    pub owner: String,
    /// How long it lasts unless the holder renews it.
    pub ttl: std::time::Duration,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The run id.
    pub id: RunId,
    /// The workflow's `name`.
    pub workflow_name: String,
    /// The workflow file it was started from.
    pub workflow_path: String,
    /// Hash of the workflow file's bytes when the run was created.
    pub workflow_hash: String,
    /// Hash of the canonical inputs.
    pub inputs_hash: String,
    /// The inputs (`null` in [`list_runs`](super::RunStore::list_runs) results).
    pub inputs: Value,
    /// The plan hash, if the run was started from a plan file.
    pub plan_hash: Option<String>,
    /// Where the run stands.
    pub status: RunStatus,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its row last changed.
    pub updated_at: DateTime<Utc>,
    /// When it reached a finished status.
    pub finished_at: Option<DateTime<Utc>>,
    /// The last lease taken on it (possibly expired), if any.
    pub lease: Option<Lease>,
    /// The schedule slot it was fired for.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Who started it (`None` for runs recorded before sluice kept it).
    pub started_by: Option<String>,
    /// Why it failed or needs attention.
    pub error: Option<String>,
}

/// The right of one process to execute a run until `expires_at`. Only the holder may mark
/// steps as dispatching; renew it well before it expires.
///
/// A worker helping with a shared step writes under an [`items`](Lease::items) lease instead:
/// it holds no run, and only the items it claimed (see [`ItemClaim`](super::ItemClaim)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The run held.
    pub run_id: RunId,
    /// Who holds it, shown to anyone else who tries. Must be unique per process (e.g.
    /// `host:pid:random`): two processes using the same owner would share the lease.
    pub owner: String,
    /// When it runs out unless renewed.
    pub expires_at: DateTime<Utc>,
    /// What it lets its owner write.
    pub scope: LeaseScope,
}

impl Lease {
    /// A lease on the whole run (not only on claimed items).
    pub fn of_run(run_id: RunId, owner: impl Into<String>, expires_at: DateTime<Utc>) -> Self {
        Self {
            run_id,
            owner: owner.into(),
            expires_at,
            scope: LeaseScope::Run,
        }
    }
}

/// What a [`Lease`] lets its owner write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LeaseScope {
    /// The run's steps: those nobody claims, and the items its owner claimed.
    #[default]
    Run,
    /// Only the items its owner claimed, each while the claim lasts.
    Items,
}

impl Lease {
    /// The lease of a worker helping with `run_id`'s shared step: it writes the items `owner`
    /// claims, each fenced by its own claim, and nothing else. It does not expire (its claims
    /// do).
    pub fn items(run_id: impl Into<RunId>, owner: impl Into<String>) -> Lease {
        Lease {
            run_id: run_id.into(),
            owner: owner.into(),
            expires_at: DateTime::<Utc>::MAX_UTC,
            scope: LeaseScope::Items,
        }
    }

    /// Whether it holds the run (not only claimed items).
    pub fn holds_run(&self) -> bool {
        self.scope == LeaseScope::Run
    }
}

/// Which runs [`RunStore::list_runs`](super::RunStore::list_runs) returns. The default lists
/// every run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only runs of this workflow.
    pub workflow: Option<String>,
    /// Only runs in one of these statuses (empty: any status).
    pub statuses: Vec<RunStatus>,
    /// Only runs created at or after this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Only runs created before this instant.
    pub created_before: Option<DateTime<Utc>>,
    /// At most this many runs, newest first.
    pub limit: Option<u32>,
}

/// Which run a worker takes next in [`RunStore::claim_next_run`](super::RunStore::claim_next_run):
/// the oldest one that matches and whose lease is free or expired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claim {
    /// Runs in one of these statuses (none: nothing is claimed).
    pub statuses: Vec<RunStatus>,
    /// Never these runs: ones the worker executes already, or cannot load.
    pub except: Vec<RunId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for status in RunStatus::ALL {
            assert_eq!(status.as_str().parse::<RunStatus>(), Ok(status));
            assert_eq!(status.to_string(), status.as_str());
        }
        assert_eq!(
            "done".parse::<RunStatus>(),
            Err(UnknownRunStatus("done".into()))
        );
        assert!(RunStatus::Cancelled.is_finished());
        assert!(!RunStatus::NeedsAttention.is_finished());
    }
}
