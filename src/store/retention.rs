//! Retention: which finished runs `prune_runs` deletes, and what it reports (README,
//! *Sensitive data*). Runs that are not finished (pending, running, waiting, needing
//! attention) or still leased are never touched.

use chrono::{DateTime, Utc};

/// What to prune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prune {
    /// Runs that finished (succeeded, failed or were cancelled) before this instant.
    pub finished_before: DateTime<Utc>,
    /// Keep one `payment_audit` row per step run that went to a provider.
    pub keep_audit: bool,
}

/// What a prune deleted and kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Runs deleted, with their steps, attempts, inputs, operator actions and matched events.
    pub runs: u64,
    /// Audit rows written.
    pub audited: u64,
}
