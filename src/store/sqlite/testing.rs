//! Fixtures for the SQLite store's own tests: a store on a fresh file in a temporary directory,
//! with a clock the test moves. The behaviour both stores share is tested in
//! `store::conformance`.

use std::sync::Arc;

use tempfile::TempDir;

use super::{SqliteConfig, SqliteStore};
use crate::store::clock::ManualClock;
pub(super) use crate::store::conformance::fixtures::{attempt, dispatch, leased_run, new_run, t0};

/// A store on `dir/sluice.db` with a manual clock at [`t0`].
pub(super) async fn store_in(dir: &TempDir) -> (SqliteStore, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(t0()));
    let config = SqliteConfig::new(dir.path().join("sluice.db")).clock(clock.clone());
    (SqliteStore::open(config).await.unwrap(), clock)
}
