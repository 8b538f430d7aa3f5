//! `serve --retention`: prunes the runs that finished longer ago than the retention period,
//! once at start and then every hour (README, *Sensitive data*). Every worker may do it: a
//! prune is one transaction over finished, unleased runs, so two at once delete each run once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use tokio::task::JoinHandle;

use crate::store::{Prune, Store};

/// How often the retention is applied.
const EVERY: Duration = Duration::from_secs(3600);

/// What `serve` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// How long a finished run is kept.
    pub keep: Duration,
    /// Keep an audit row per payment of the runs deleted.
    pub keep_audit: bool,
}

/// Starts applying `retention` to `store` until the task is aborted.
pub fn spawn(store: Arc<dyn Store>, retention: Retention) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            let keep = TimeDelta::from_std(retention.keep).unwrap_or(TimeDelta::MAX);
            let prune = Prune {
                finished_before: Utc::now() - keep,
                keep_audit: retention.keep_audit,
            };
            match store.prune_runs(&prune).await {
                Ok(pruned) if pruned.runs > 0 => {
                    tracing::info!(
                        runs = pruned.runs,
                        audited = pruned.audited,
                        "Pruned finished runs."
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error, "Cannot prune finished runs."),
            }
        }
    })
}
