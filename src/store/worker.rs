//! Workers: the `sluice serve` processes sharing a database, as they report themselves, so
//! `sluice workers` can say who is alive and which runs each one holds.
//!
//! A worker's id is the lease owner name its engine uses (`NAME:PID:TAG`), so the runs it
//! holds are the runs whose lease names it. Liveness is a heartbeat with an expiry, like a
//! lease: a worker that stops reporting is shown as gone once its report expires, and the
//! leases it held run out on their own (nothing here takes them away).

use chrono::{DateTime, Utc};

/// What a worker says about itself on every heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    /// The lease owner name of its engine: `NAME:PID:TAG`, unique per process.
    pub id: String,
    /// Its `--name` (the host name unless given).
    pub name: String,
    /// The host it runs on.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// Where its webhook receiver listens.
    pub listen: Option<String>,
    /// The sluice version it runs.
    pub version: String,
}

impl WorkerInfo {
    /// Whether `owner` (a run's lease owner) is this worker: its engine (`id`) or one of its
    /// other engines (`id/ROLE`, e.g. the scheduler's).
    pub fn owns(&self, owner: &str) -> bool {
        owner == self.id
            || owner
                .strip_prefix(self.id.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// A worker as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRecord {
    /// What it last reported.
    pub info: WorkerInfo,
    /// When it first reported.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub heartbeat_at: DateTime<Utc>,
    /// When it counts as gone unless it reports again.
    pub expires_at: DateTime<Utc>,
}

impl WorkerRecord {
    /// Whether its last heartbeat is still valid at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_owns_its_engines_leases_only() {
        let worker = WorkerInfo {
            id: "w1:42:ab12".into(),
            name: "w1".into(),
            host: "h".into(),
            pid: 42,
            listen: None,
            version: "0".into(),
        };
        assert!(worker.owns("w1:42:ab12"));
        assert!(worker.owns("w1:42:ab12/scheduler"));
        assert!(!worker.owns("w1:42:ab123"));
        assert!(!worker.owns("w1:42:ab1"));
        assert!(!worker.owns("w2:42:ab12"));
    }
}
