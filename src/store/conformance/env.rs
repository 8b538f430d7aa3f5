//! [`Env`]: a store under test on a fresh database of one backend, the clock it reads, and
//! second handles on the same database.

use std::sync::Arc;

use tempfile::TempDir;

use super::fixtures::t0;
use crate::store::clock::ManualClock;
use crate::store::postgres::PostgresStore;
use crate::store::postgres::testing::TestSchema;
use crate::store::sqlite::{SqliteConfig, SqliteStore};
use crate::store::traits::Store;

/// Where the database under test lives.
enum Backend {
    Sqlite(TempDir),
    Postgres(TestSchema),
}

/// A store under test on a fresh database, with a manual clock at [`t0`].
pub(crate) struct Env {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The clock every handle of this database reads.
    pub clock: Arc<ManualClock>,
    backend: Backend,
}

impl Env {
    pub(super) async fn sqlite() -> Env {
        Self::with(Backend::Sqlite(tempfile::tempdir().unwrap())).await
    }

    /// `None` when no Postgres test server is configured (see [`TestSchema::create`]).
    pub(super) async fn postgres() -> Option<Env> {
        Some(Self::with(Backend::Postgres(TestSchema::create().await?)).await)
    }

    async fn with(backend: Backend) -> Env {
        let clock = Arc::new(ManualClock::new(t0()));
        let store = open(&backend, &clock).await;
        Env {
            store,
            clock,
            backend,
        }
    }

    /// Another handle on the same database, reading the same clock, as another process
    /// would open it.
    pub async fn second(&self) -> Arc<dyn Store> {
        open(&self.backend, &self.clock).await
    }

    /// Whether the database under test is Postgres.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    pub(super) async fn finish(self) {
        if let Backend::Postgres(schema) = self.backend {
            schema.drop().await;
        }
    }
}

async fn open(backend: &Backend, clock: &Arc<ManualClock>) -> Arc<dyn Store> {
    match backend {
        Backend::Sqlite(dir) => {
            let config = SqliteConfig::new(dir.path().join("sluice.db")).clock(clock.clone());
            Arc::new(SqliteStore::open(config).await.unwrap())
        }
        Backend::Postgres(schema) => {
            let config = schema.config().clock(clock.clone());
            Arc::new(PostgresStore::open(config).await.unwrap())
        }
    }
}
