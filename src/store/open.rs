//! Opening the store a `--db` value (or `SLUICE_DB`) names: a Postgres URL
//! (`postgres://…`, `postgresql://…`) or else a SQLite file path; and migrating it explicitly
//! (`sluice migrate`).

use std::sync::Arc;

use super::error::StoreError;
use super::postgres::{self, PostgresConfig, PostgresStore};
use super::sqlite::{self, Access, Durability, SqliteConfig, SqliteStore};
use super::traits::Store;

/// Whether a `--db` value names a Postgres database rather than a SQLite file.
pub fn is_postgres_url(url_or_path: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        url_or_path
            .get(..scheme.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme))
    })
}

/// A `--db` value fit to show: a Postgres URL without its password, a path as given.
pub fn display_location(url_or_path: &str) -> String {
    if is_postgres_url(url_or_path) {
        postgres::redact_url(url_or_path)
    } else {
        url_or_path.to_owned()
    }
}

/// Opens the store `url_or_path` names, read-write, creating and migrating it as needed.
///
/// # Errors
/// What [`PostgresStore::open`] or [`SqliteStore::open`] refuses.
pub async fn open_store(
    url_or_path: &str,
    durability: Durability,
) -> Result<Arc<dyn Store>, StoreError> {
    if is_postgres_url(url_or_path) {
        let config = PostgresConfig::new(url_or_path).durability(durability);
        Ok(Arc::new(PostgresStore::open(config).await?))
    } else {
        let config = SqliteConfig::new(url_or_path).durability(durability);
        Ok(Arc::new(SqliteStore::open(config).await?))
    }
}

/// The schema version of a database before and after [`migrate_store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaVersions {
    /// The version found (0 for a new database).
    pub before: i64,
    /// The version now, which this build supports.
    pub after: i64,
}

impl SchemaVersions {
    /// Whether migrations were applied.
    pub fn migrated(&self) -> bool {
        self.before != self.after
    }
}

/// Applies the pending migrations to the database `url_or_path` names (creating it if
/// needed) and reports the versions before and after.
///
/// # Errors
/// [`StoreError::NewerSchema`] (nothing touched) for a database of a newer sluice, and what
/// opening the store refuses.
pub async fn migrate_store(url_or_path: &str) -> Result<SchemaVersions, StoreError> {
    if is_postgres_url(url_or_path) {
        return PostgresStore::migrate(PostgresConfig::new(url_or_path)).await;
    }
    // SQLite migrates when opened; a read-only look first tells what it found.
    let after = sqlite::schema_version();
    let read_only = SqliteConfig::new(url_or_path).access(Access::ReadOnly);
    let before = match SqliteStore::open(read_only).await {
        Ok(store) => {
            store.close().await;
            after
        }
        Err(StoreError::Missing { .. }) => 0,
        Err(StoreError::OutdatedSchema { found, .. }) => found,
        Err(error) => return Err(error),
    };
    if before < after {
        SqliteStore::open(SqliteConfig::new(url_or_path))
            .await?
            .close()
            .await;
    }
    Ok(SchemaVersions { before, after })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::testing::TestSchema;

    #[test]
    fn postgres_urls_are_told_from_paths() {
        for url in [
            "postgres://db/sluice",
            "postgresql://alice@db/sluice",
            "POSTGRES://db/x",
        ] {
            assert!(is_postgres_url(url), "{url}");
        }
        for path in [
            ".sluice/sluice.db",
            "postgres.db",
            "./postgres://x",
            "/var/lib/postgresql/sluice.db",
            "",
        ] {
            assert!(!is_postgres_url(path), "{path}");
        }
        assert_eq!(
            display_location("postgres://alice:s3cret@db/sluice"),
            "postgres://alice@db/sluice"
        );
        assert_eq!(display_location("a:b@c.db"), "a:b@c.db");
    }

    #[tokio::test]
    async fn sqlite_files_are_migrated_once_and_newer_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/sluice.db");
        let path = path.to_str().unwrap();
        let first = migrate_store(path).await.unwrap();
        assert_eq!(
            (first.before, first.after, first.migrated()),
            (0, sqlite::schema_version(), true)
        );
        let again = migrate_store(path).await.unwrap();
        assert!(!again.migrated(), "{again:?}");

        let store = open_store(path, Durability::Normal).await.unwrap();
        store
            .create_run(&crate::store::conformance::fixtures::new_run("run_a"), &[])
            .await
            .unwrap();
        drop(store);
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (9999, 'from the future', 1, x'00', 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
        assert!(matches!(
            migrate_store(path).await,
            Err(StoreError::NewerSchema { found: 9999, .. })
        ));
    }

    #[tokio::test]
    async fn postgres_urls_open_the_postgres_store() {
        let Some(db) = TestSchema::create().await else {
            return;
        };
        let url = db.config().url.expose().to_owned();
        assert!(migrate_store(&url).await.unwrap().migrated());
        assert!(!migrate_store(&url).await.unwrap().migrated());
        let store = open_store(&url, Durability::Normal).await.unwrap();
        store
            .create_run(&crate::store::conformance::fixtures::new_run("run_a"), &[])
            .await
            .unwrap();
        assert_eq!(db.tables().await.len(), 14);
        db.drop().await;
    }
}
