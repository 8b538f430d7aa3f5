//! Opening a SQLite store: configuration, recognising the file before touching it, connecting
//! with WAL and the chosen durability, and migrating the schema.
//!
//! An existing file is first inspected over a read-only connection. Garbage, someone else's
//! database and a schema from a newer sluice are refused with a typed error before anything
//! could write to the file; only a sluice database (recognised by its SQLite `application_id`)
//! or an empty file is opened for writing and migrated.

use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};

use super::dialect::{
    SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOTADB, is_full, is_read_only, sqlite_code,
};
use crate::store::clock::{Clock, SystemClock};
use crate::store::error::StoreError;

/// Where the store lives unless told otherwise (`--db`, `SLUICE_DB`), relative to the working
/// directory.
pub const DEFAULT_DB_PATH: &str = ".sluice/sluice.db";

/// The `application_id` in a sluice database's header: `sluc` in ASCII. Set by the first
/// migration.
const SLUICE_APPLICATION_ID: i64 = 0x736c_7563;

/// The schema migrations, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How hard each commit insists on reaching the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a committed checkpoint survives power loss. The default, because a
    /// lost `dispatching` row can mean a payment sent twice.
    #[default]
    Full,
    /// `synchronous=NORMAL`: in WAL mode, a commit survives a crash of the process but the
    /// last commits may be lost on power failure. Faster; for benchmarks and throwaway runs.
    Normal,
}

/// Whether the store may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// Read and write; creates and migrates the database as needed.
    #[default]
    ReadWrite,
    /// Read only (`sluice status`, `sluice runs` on a file they must not change). Every write
    /// fails with [`StoreError::ReadOnly`].
    ReadOnly,
}

/// How to open a [`SqliteStore`].
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// The database file. Its directory is created if missing.
    pub path: PathBuf,
    /// How hard commits insist on reaching the disk.
    pub durability: Durability,
    /// Read-write or read-only.
    pub access: Access,
    /// How long a write waits for another process's write lock before failing.
    pub busy_timeout: Duration,
    /// Connections in the read pool (readers run in parallel; every write goes through one
    /// more connection of its own).
    pub max_connections: u32,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
}

impl SqliteConfig {
    /// Read-write, full durability, 5 s busy timeout, 4 connections, the system clock.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            durability: Durability::Full,
            access: Access::ReadWrite,
            busy_timeout: Duration::from_secs(5),
            max_connections: 4,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same configuration with another durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// The same configuration with another access mode.
    pub fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// The same configuration with another clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl Default for SqliteConfig {
    /// [`SqliteConfig::new`] on [`DEFAULT_DB_PATH`].
    fn default() -> Self {
        Self::new(DEFAULT_DB_PATH)
    }
}

/// The SQLite implementation of [`Store`](crate::store::Store).
///
/// Reads go through a pool of connections; every write goes through one connection of its
/// own. SQLite lets one writer in at a time anyway, so a second write connection only
/// waits, and with it out of the way writes queue in order instead of polling SQLite's
/// lock with its busy timeout, and the one connection keeps the pages a batch touches in
/// its cache instead of handing them from connection to connection.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    pub(super) writer: SqlitePool,
    pub(super) path: PathBuf,
    pub(super) clock: Arc<dyn Clock>,
}

/// What the file turned out to hold before opening it for writing.
enum Found {
    /// Nothing: a new or empty file.
    Empty,
    /// A sluice database at this schema version.
    Sluice(i64),
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database described by `config`.
    ///
    /// # Errors
    /// [`StoreError::NotADatabase`], [`StoreError::ForeignDatabase`] and
    /// [`StoreError::NewerSchema`] without modifying the file; [`StoreError::ReadOnly`] for a
    /// file that cannot be written; [`StoreError::Missing`] for a read-only open of a missing
    /// file; [`StoreError::OutdatedSchema`] for a read-only open of an older schema;
    /// [`StoreError::Io`], [`StoreError::Open`], [`StoreError::Migrate`] otherwise.
    pub async fn open(config: SqliteConfig) -> Result<Self, StoreError> {
        let path = config.path.clone();
        // Two processes opening one new file at once race on creating it, switching it to
        // WAL and migrating it; an advisory lock beside the file makes them take turns.
        let _turn = match config.access {
            Access::ReadWrite => Some(init_lock(&path).await?),
            Access::ReadOnly => None,
        };
        let found = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                return Err(StoreError::Io {
                    path,
                    source: std::io::Error::new(ErrorKind::IsADirectory, "is a directory"),
                });
            }
            Ok(meta) => {
                warn_if_shared(&path, &meta);
                let found = probe(&path, config.busy_timeout).await?;
                if config.access == Access::ReadWrite {
                    check_writable(&path)?;
                }
                found
            }
            Err(source) if source.kind() == ErrorKind::NotFound => {
                if config.access == Access::ReadOnly {
                    return Err(StoreError::Missing { path });
                }
                create_parent(&path)?;
                create_private(&path)?;
                Found::Empty
            }
            Err(source) => return Err(StoreError::Io { path, source }),
        };

        let (pool, writer) = match config.access {
            Access::ReadWrite => {
                let pool = connect_and_migrate(&config).await?;
                (pool, connect_writer(&config))
            }
            Access::ReadOnly => {
                let pool = connect(&config)
                    .await
                    .map_err(|source| open_error(&path, source))?;
                let found = match found {
                    Found::Empty => 0,
                    Found::Sluice(version) => version,
                };
                if found < schema_version() {
                    pool.close().await;
                    return Err(StoreError::OutdatedSchema {
                        path,
                        found,
                        expected: schema_version(),
                    });
                }
                (pool.clone(), pool)
            }
        };
        Ok(Self {
            pool,
            writer,
            path,
            clock: config.clock,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection, checkpointing the WAL into the database file.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Names a read-only or full-disk refusal as such; passes every other error through.
    pub(super) fn classify(&self, error: StoreError) -> StoreError {
        match error {
            StoreError::Database(source) if is_read_only(&source) => StoreError::ReadOnly {
                path: self.path.clone(),
            },
            StoreError::Database(source) if is_full(&source) => StoreError::Full {
                path: self.path.clone(),
            },
            other => other,
        }
    }

    /// Starts a write transaction holding SQLite's write lock from the start, so that reads
    /// inside it never have to upgrade a lock (which fails instead of waiting under WAL).
    pub(super) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// The newest schema version this build knows.
pub fn schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Takes the exclusive advisory lock on `<db>.lock` (created if missing), released when the
/// returned file is dropped.
async fn init_lock(path: &Path) -> Result<std::fs::File, StoreError> {
    create_parent(path)?;
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let io_error = |source: std::io::Error| match source.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => StoreError::ReadOnly {
            path: path.to_owned(),
        },
        _ => StoreError::Io {
            path: lock_path.clone(),
            source,
        },
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(PRIVATE_FILE)
        .open(&lock_path)
        .map_err(io_error)?;
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| io_error(std::io::Error::other(e)))?
        .map_err(io_error)
}

/// How often a migration that lost a race with another process is tried again.
const MIGRATION_TRIES: u32 = 3;

/// Connects read-write and brings the schema up to date, waiting out another process doing the
/// same on the same new file: switching to WAL needs an exclusive lock that SQLite's busy
/// timeout does not wait for, and two migrators racing on a fresh file make the slower one
/// fail on tables the faster one created. Both are retried until the busy timeout; once the
/// other process has committed, the migration finds the schema current.
async fn connect_and_migrate(config: &SqliteConfig) -> Result<SqlitePool, StoreError> {
    let path = &config.path;
    let deadline = Instant::now() + config.busy_timeout;
    let mut migration_tries = 0;
    loop {
        let pool = match connect(config).await {
            Ok(pool) => pool,
            Err(source) if is_busy(&source) && Instant::now() < deadline => {
                tokio::time::sleep(RACE_PAUSE).await;
                continue;
            }
            Err(source) => return Err(open_error(path, source)),
        };
        match MIGRATOR.run(&pool).await {
            Ok(()) => return Ok(pool),
            Err(source) => {
                pool.close().await;
                migration_tries += 1;
                if migration_tries >= MIGRATION_TRIES || Instant::now() >= deadline {
                    return Err(StoreError::Migrate {
                        path: path.clone(),
                        source,
                    });
                }
                tokio::time::sleep(RACE_PAUSE).await;
            }
        }
    }
}

/// The pause between two tries of a step that lost a race with another process.
const RACE_PAUSE: Duration = Duration::from_millis(20);

/// Whether SQLite gave up on a lock held by another connection.
fn is_busy(error: &sqlx::Error) -> bool {
    matches!(sqlite_code(error), Some(SQLITE_BUSY | SQLITE_LOCKED))
}

fn open_error(path: &Path, source: sqlx::Error) -> StoreError {
    if is_read_only(&source) {
        StoreError::ReadOnly {
            path: path.to_owned(),
        }
    } else {
        StoreError::Open {
            path: path.to_owned(),
            source,
        }
    }
}

async fn connect(config: &SqliteConfig) -> Result<SqlitePool, sqlx::Error> {
    pool_options(config.max_connections)
        .connect_with(connect_options(config))
        .await
}

/// The one write connection, opened on first use (the schema is current by then).
fn connect_writer(config: &SqliteConfig) -> SqlitePool {
    pool_options(1).connect_lazy_with(connect_options(config))
}

/// A pool of at most `max` connections. A connection is not pinged before it is handed
/// out: the database is a local file, and a dead connection fails its statement anyway.
fn pool_options(max: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(max.max(1))
        .test_before_acquire(false)
}

/// Every connection keeps its temporary files in memory: a multi-row `UPDATE` inside a
/// transaction keeps a statement journal of the pages it changes, and past 64 KiB SQLite
/// would otherwise write it to a temporary file, created and deleted at every group commit.
fn connect_options(config: &SqliteConfig) -> SqliteConnectOptions {
    let options = SqliteConnectOptions::new()
        .filename(&config.path)
        .busy_timeout(config.busy_timeout)
        .foreign_keys(true)
        .pragma("temp_store", "memory");
    match config.access {
        Access::ReadWrite => options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match config.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            }),
        Access::ReadOnly => options.read_only(true),
    }
}

/// Looks at an existing file over a read-only connection and refuses anything that is not an
/// empty file or a sluice database this build can handle.
async fn probe(path: &Path, busy_timeout: Duration) -> Result<Found, StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(busy_timeout)
        .disable_statement_logging();
    let open_error = |source: sqlx::Error| {
        if sqlite_code(&source) == Some(SQLITE_NOTADB) {
            StoreError::NotADatabase {
                path: path.to_owned(),
            }
        } else {
            StoreError::Open {
                path: path.to_owned(),
                source,
            }
        }
    };
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(open_error)?;
    let found = inspect(&mut conn, path).await.map_err(|error| match error {
        StoreError::Database(source) => open_error(source),
        other => other,
    });
    // The probe only read; a failure to close cleanly changes nothing for the caller.
    let _ = conn.close().await;
    found
}

async fn inspect(conn: &mut SqliteConnection, path: &Path) -> Result<Found, StoreError> {
    let application_id: i64 = sqlx::query("PRAGMA application_id")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| row.try_get(0))
    .collect::<Result<_, _>>()?;

    if application_id == 0 && tables.iter().all(|t| t == "_sqlx_migrations") {
        // sqlx creates its bookkeeping table before the first migration marks the file, so
        // an unmarked file with nothing but an empty one is a sluice database being created by
        // another process right now (or an empty one): nothing to protect either way.
        let applied: i64 = if tables.is_empty() {
            0
        } else {
            sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?
        };
        if applied == 0 {
            return Ok(Found::Empty);
        }
    }
    if application_id != SLUICE_APPLICATION_ID {
        return Err(StoreError::ForeignDatabase {
            path: path.to_owned(),
            tables: tables.into_iter().take(5).collect(),
        });
    }
    let found = if tables.iter().any(|t| t == "_sqlx_migrations") {
        sqlx::query("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await?
            .try_get::<i64, _>(0)?
    } else {
        0
    };
    let supported = schema_version();
    if found > supported {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    Ok(Found::Sluice(found))
}

/// Refuses a file this process cannot write, before SQLite opens it read-write (SQLite would
/// silently fall back to read-only and fail later, mid-protocol).
fn check_writable(path: &Path) -> Result<(), StoreError> {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => Ok(()),
        Err(source)
            if matches!(
                source.kind(),
                ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            Err(StoreError::ReadOnly {
                path: path.to_owned(),
            })
        }
        Err(source) => Err(StoreError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The permission bits of a file only its owner may read and write: the database holds
/// requests, answers and personal data (README, *Sensitive data*).
const PRIVATE_FILE: u32 = 0o600;

/// The permission bits of the directories made for it.
const PRIVATE_DIR: u32 = 0o700;

/// Warns when others may read the database file (made by an older version, or by hand).
fn warn_if_shared(path: &Path, meta: &std::fs::Metadata) {
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            "The database file is readable by other users; `chmod 600` it (and its -wal and -shm files)."
        );
    }
}

/// Creates the empty database file, readable by its owner only, before SQLite opens it:
/// SQLite gives the WAL and shared-memory files the database file's permissions.
fn create_private(path: &Path) -> Result<(), StoreError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_FILE)
        .open(path)
        .map(drop)
        .map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })
}

fn create_parent(path: &Path) -> Result<(), StoreError> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    let mut dirs = std::fs::DirBuilder::new();
    dirs.recursive(true).mode(PRIVATE_DIR);
    dirs.create(parent).map_err(|source| match source.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => StoreError::ReadOnly {
            path: path.to_owned(),
        },
        _ => StoreError::Io {
            path: parent.to_owned(),
            source,
        },
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    use crate::ids::RunId;
    use crate::store::schedule::SlotState;
    use crate::store::sqlite::testing::{new_run, store_in};
    use crate::store::step::NewStep;
    use crate::store::traits::{NotificationStore, RunStore, ScheduleStore};

    async fn raw_connection(path: &Path) -> SqliteConnection {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        SqliteConnection::connect_with(&options).await.unwrap()
    }

    #[tokio::test]
    async fn creates_directory_and_marks_the_file_as_sluice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/.sluice/sluice.db");
        let store = SqliteStore::open(SqliteConfig::new(&path)).await.unwrap();
        assert_eq!(store.path(), path);
        store.create_run(&new_run("run_a"), &[]).await.unwrap();
        store.close().await;

        let mut conn = raw_connection(&path).await;
        let id: i64 = sqlx::query("PRAGMA application_id")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0);
        assert_eq!(id, SLUICE_APPLICATION_ID);
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0);
        assert_eq!(mode, "wal");
        conn.close().await.unwrap();

        // Reopening finds the schema current and the data still there.
        let store = SqliteStore::open(SqliteConfig::new(&path).durability(Durability::Normal))
            .await
            .unwrap();
        assert_eq!(
            store.load_run(&RunId::from("run_a")).await.unwrap().id,
            "run_a"
        );
        assert!(schema_version() >= 1);
        assert_eq!(
            SqliteConfig::default().path,
            PathBuf::from(".sluice/sluice.db")
        );
    }

    #[tokio::test]
    async fn garbage_is_not_a_database_and_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            (
                "random.db",
                (0..8192u32)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                    .collect::<Vec<u8>>(),
            ),
            (
                "text.db",
                b"these are my notes, not a database\n".repeat(200),
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let error = SqliteStore::open(SqliteConfig::new(&path))
                .await
                .unwrap_err();
            assert!(
                matches!(&error, StoreError::NotADatabase { path: p } if *p == path),
                "{name}: {error:?}"
            );
            assert!(error.to_string().contains("not a sluice database"));
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} was modified");
        }
    }

    #[tokio::test]
    async fn someone_elses_database_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        let mut conn = raw_connection(&path).await;
        sqlx::query("CREATE TABLE foo (x INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let before = std::fs::read(&path).unwrap();

        let error = SqliteStore::open(SqliteConfig::new(&path))
            .await
            .unwrap_err();
        match &error {
            StoreError::ForeignDatabase { tables, .. } => assert_eq!(tables, &["foo"]),
            other => panic!("expected ForeignDatabase, got {other:?}"),
        }
        assert!(error.to_string().contains("tables: foo"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), before);

        // Another sqlx application's database, and a file marked by another application.
        for (name, setup) in [
            (
                "sqlx-app.db",
                "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY); \
                 INSERT INTO _sqlx_migrations VALUES (20240101);",
            ),
            ("marked.db", "PRAGMA application_id = 42;"),
        ] {
            let path = dir.path().join(name);
            let mut conn = raw_connection(&path).await;
            sqlx::raw_sql(setup).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            let before = std::fs::read(&path).unwrap();
            let error = SqliteStore::open(SqliteConfig::new(&path))
                .await
                .unwrap_err();
            assert!(
                matches!(error, StoreError::ForeignDatabase { .. }),
                "{name}: {error:?}"
            );
            assert_eq!(std::fs::read(&path).unwrap(), before, "{name} was modified");
            if name == "marked.db" {
                assert!(error.to_string().contains("(tables: none)"), "{error}");
            }
        }
    }

    #[tokio::test]
    async fn version_9_keeps_every_notification_and_tells_skipped_slots_from_fired() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.db");
        let mut conn = raw_connection(&path).await;
        MIGRATOR.run_to(8, &mut conn).await.unwrap();
        for statement in [
            "INSERT INTO runs (id, workflow_name, workflow_path, workflow_hash, inputs_hash, \
             status, created_at, updated_at) VALUES ('sched_a', 'nightly', 'n.yaml', 'h', 'i', \
             'failed', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
            "INSERT INTO schedule_slots VALUES ('nightly', '2026-01-01T00:00:00.000000Z', \
             'sched_a', '2026-01-01T00:00:00.000000Z')",
            "INSERT INTO schedule_slots VALUES ('nightly', '2026-01-01T01:00:00.000000Z', \
             'sched_b', '2026-01-01T01:00:00.000000Z')",
            "INSERT INTO notifications (id, run_id, event, message, target_json, created_at, \
             state, attempts, next_attempt_at, delivered_at) VALUES (7, 'sched_a', 'failed', \
             'boom', '{\"webhook\":{\"url\":\"${H}\"}}', '2026-01-01T00:00:01.000000Z', \
             'delivered', 1, '2026-01-01T00:00:01.000000Z', '2026-01-01T00:00:02.000000Z')",
        ] {
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();

        let store = SqliteStore::open(SqliteConfig::new(&path)).await.unwrap();
        let kept = store.list_notifications(None, 10).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(
            (kept[0].id, kept[0].run_id.as_ref().map(RunId::as_str)),
            (7, Some("sched_a"))
        );
        assert_eq!(kept[0].workflow_name, "nightly");
        assert_eq!(
            kept[0].delivered_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-01-01T00:00:02+00:00")
        );
        let slots = store.list_slots(Some("nightly"), 10).await.unwrap();
        let states: Vec<SlotState> = slots.iter().map(|s| s.shown()).collect();
        assert_eq!(states, [SlotState::Skipped, SlotState::Failed]);
        // The copied table keeps its foreign key: a run's notifications go with it.
        let mut conn = raw_connection(&path).await;
        let fks: Vec<String> =
            sqlx::query("SELECT \"table\" FROM pragma_foreign_key_list('notifications')")
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
        assert_eq!(fks, ["runs"]);
        conn.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        let path = store.path().to_owned();
        store.close().await;
        let mut conn = raw_connection(&path).await;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (9999, 'from the future', 1, x'00', 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        let before = std::fs::read(&path).unwrap();

        let error = SqliteStore::open(SqliteConfig::new(&path))
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::NewerSchema { found: 9999, supported, .. } if supported == schema_version()),
            "{error:?}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[tokio::test]
    async fn read_only_files_and_read_only_opens_refuse_writes_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        let path = store.path().to_owned();
        store
            .create_run(&new_run("run_a"), &[NewStep::step("fund")])
            .await
            .unwrap();
        store.close().await;

        // Read-only access: reads work, every write is refused as read-only.
        let reader = SqliteStore::open(SqliteConfig::new(&path).access(Access::ReadOnly))
            .await
            .unwrap();
        assert_eq!(
            reader.load_run(&RunId::from("run_a")).await.unwrap().id,
            "run_a"
        );
        let error = reader.create_run(&new_run("run_b"), &[]).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::ReadOnly { path: p } if *p == path),
            "{error:?}"
        );
        reader.close().await;

        let missing = dir.path().join("missing.db");
        let error = SqliteStore::open(SqliteConfig::new(&missing).access(Access::ReadOnly))
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Missing { .. }), "{error:?}");
        assert!(!missing.exists());

        // A file the process may not write.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        if std::fs::OpenOptions::new().write(true).open(&path).is_ok() {
            println!("note: running as root, which writes through mode 0444; skipping that check");
        } else {
            let error = SqliteStore::open(SqliteConfig::new(&path))
                .await
                .unwrap_err();
            assert!(matches!(error, StoreError::ReadOnly { .. }), "{error:?}");
            assert!(error.to_string().contains("is read-only"));
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }

    #[tokio::test]
    async fn an_empty_file_becomes_a_sluice_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.db");
        std::fs::write(&path, b"").unwrap();
        let store = SqliteStore::open(SqliteConfig::new(&path)).await.unwrap();
        store.create_run(&new_run("run_a"), &[]).await.unwrap();
        assert!(matches!(
            SqliteStore::open(SqliteConfig::new(dir.path())).await,
            Err(StoreError::Io { .. })
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_processes_creating_the_same_database_at_once_both_succeed() {
        for round in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(".sluice/sluice.db");
            let open = |path: PathBuf| {
                tokio::spawn(async move { SqliteStore::open(SqliteConfig::new(path)).await })
            };
            let (a, b) = tokio::join!(open(path.clone()), open(path.clone()));
            let (a, b) = (a.unwrap(), b.unwrap());
            assert!(a.is_ok() && b.is_ok(), "round {round}: {a:?} {b:?}");
        }
    }
}
