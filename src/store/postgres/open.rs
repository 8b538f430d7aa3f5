//! Opening a Postgres store: configuration, recognising the schema before touching it,
//! migrating it under a lock, and the connection pool with its timeouts.
//!
//! Everything lives in the connection's current schema (the first schema of `search_path`; a
//! URL selects another with `?options[search_path]=NAME`). Before anything is written, one
//! connection takes an advisory lock for that database and `search_path`, so that processes
//! starting together migrate one at a time, and inspects the schema. Someone else's tables and
//! a schema from a newer sluice are refused with a typed error and left untouched; only an
//! empty schema or a sluice schema (recognised by its `sluice_schema` table) is migrated.
//!
//! Errors name the database by its URL without the password (see [`redact_url`]).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Row};

use super::dialect::{is_full, is_read_only};
use crate::spec::secret::Secret;
use crate::store::clock::{Clock, SystemClock};
use crate::store::error::StoreError;
use crate::store::open::SchemaVersions;
use crate::store::{Access, Durability};

/// The table whose row marks a schema as sluice's (Postgres has no `application_id`).
const MARKER_TABLE: &str = "sluice_schema";
/// sqlx's bookkeeping of applied migrations.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// The schema migrations, embedded at build time. Locking is sluice's own (see
/// [`prepare_schema`]), which also covers the inspection before migrating.
fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    migrator.set_locking(false);
    migrator
}

/// The newest schema version this build knows.
pub fn schema_version() -> i64 {
    migrator().iter().map(|m| m.version).max().unwrap_or(0)
}

/// How to open a [`PostgresStore`].
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// `postgres://user@host:port/database`, with any parameter sqlx accepts (`sslmode`,
    /// `host=/run/postgresql` for a Unix socket, `options[search_path]=NAME` for a schema).
    /// It may carry a password, so it is kept as a secret; `PGPASSWORD` and `~/.pgpass` work
    /// too and keep the password out of the URL altogether.
    pub url: Secret,
    /// How hard each commit insists on reaching the disk.
    pub durability: Durability,
    /// Read-write or read-only.
    pub access: Access,
    /// Connections in the pool. Every store call holds one connection for one short
    /// transaction, so a few go a long way; keep the sum over all processes well under the
    /// server's `max_connections`.
    pub max_connections: u32,
    /// How long a store call waits for a free connection before failing.
    pub acquire_timeout: Duration,
    /// The server cancels any statement running longer than this (`statement_timeout`).
    pub statement_timeout: Duration,
    /// How long a write waits for a row another process is writing (`lock_timeout`), like
    /// SQLite's busy timeout.
    pub lock_timeout: Duration,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
}

impl PostgresConfig {
    /// Read-write, full durability, 8 connections, a 10 s wait for a connection, a 30 s
    /// statement timeout, a 5 s lock timeout, the system clock.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: Secret::new(url),
            durability: Durability::Full,
            access: Access::ReadWrite,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(5),
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

    /// The database as errors and messages name it: the URL without its password.
    pub fn location(&self) -> String {
        redact_url(self.url.expose())
    }

    /// The connection options every connection of the store uses.
    fn connect_options(&self) -> Result<PgConnectOptions, StoreError> {
        let options =
            PgConnectOptions::from_str(self.url.expose()).map_err(|source| StoreError::Open {
                path: self.location().into(),
                source,
            })?;
        let mut settings = vec![
            ("statement_timeout", millis(self.statement_timeout)),
            ("lock_timeout", millis(self.lock_timeout)),
            // A transaction left open by a stuck process must not hold its row locks forever.
            ("idle_in_transaction_session_timeout", "60000".to_owned()),
        ];
        if self.durability == Durability::Normal {
            // The commit returns before the WAL reaches the disk: a crash of the server may lose
            // the last commits, a crash of sluice does not. The same bargain as SQLite's NORMAL.
            settings.push(("synchronous_commit", "off".to_owned()));
        }
        if self.access == Access::ReadOnly {
            settings.push(("default_transaction_read_only", "on".to_owned()));
        }
        Ok(options.application_name("sluice").options(settings))
    }
}

/// A duration as the milliseconds Postgres settings take (`0` would mean "no limit", so at
/// least 1).
fn millis(duration: Duration) -> String {
    duration.as_millis().clamp(1, i32::MAX as u128).to_string()
}

/// The Postgres implementation of [`Store`](crate::store::Store): many processes, on many
/// machines, sharing one database.
#[derive(Clone)]
pub struct PostgresStore {
    pub(super) pool: PgPool,
    pub(super) location: String,
    pub(super) clock: Arc<dyn Clock>,
}

impl fmt::Debug for PostgresStore {
    // The pool's options hold the password; show only where the store is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects, and (read-write) creates or migrates the schema as needed.
    ///
    /// # Errors
    /// [`StoreError::ForeignDatabase`] and [`StoreError::NewerSchema`] without modifying
    /// anything; [`StoreError::Missing`] for a read-only open of an empty schema;
    /// [`StoreError::OutdatedSchema`] for a read-only open of an older one;
    /// [`StoreError::ReadOnly`] when the server refuses writes (a standby);
    /// [`StoreError::Open`] when the URL is malformed or the server cannot be reached;
    /// [`StoreError::Migrate`] when a migration fails.
    pub async fn open(config: PostgresConfig) -> Result<Self, StoreError> {
        let location = config.location();
        let options = config.connect_options()?;
        prepare_schema(&config, &options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(|source| open_error(&location, source))?;
        Ok(Self {
            pool,
            location,
            clock: config.clock,
        })
    }

    /// Brings the schema up to date without opening a pool (`sluice migrate`).
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub async fn migrate(config: PostgresConfig) -> Result<SchemaVersions, StoreError> {
        let options = config.connect_options()?;
        prepare_schema(&config, &options).await
    }

    /// The database, as errors name it: its URL without the password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Names a read-only or full-disk refusal as such; passes every other error through.
    pub(super) fn classify(&self, error: StoreError) -> StoreError {
        match error {
            StoreError::Database(source) if is_read_only(&source) => StoreError::ReadOnly {
                path: self.location.clone().into(),
            },
            StoreError::Database(source) if is_full(&source) => StoreError::Full {
                path: self.location.clone().into(),
            },
            other => other,
        }
    }

    /// Starts a transaction (read committed: every change is a guarded `UPDATE`, and rows a
    /// concurrent transaction changed are re-checked against the guard before being written).
    pub(super) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

fn open_error(location: &str, source: sqlx::Error) -> StoreError {
    if is_read_only(&source) {
        StoreError::ReadOnly {
            path: location.into(),
        }
    } else {
        StoreError::Open {
            path: location.into(),
            source,
        }
    }
}

/// What the schema turned out to hold before migrating.
enum Found {
    /// Nothing sluice needs to protect: no tables, or only sqlx's empty bookkeeping table.
    Empty,
    /// A sluice schema at this version.
    Sluice(i64),
}

/// On one dedicated connection: waits for other processes preparing the same schema, refuses
/// what is not sluice's or is newer, and (read-write) applies the pending migrations.
async fn prepare_schema(
    config: &PostgresConfig,
    options: &PgConnectOptions,
) -> Result<SchemaVersions, StoreError> {
    let location = config.location();
    // Migrations may take as long as they take, and waiting for another migrator is expected.
    let options = options
        .clone()
        .options([("statement_timeout", "0"), ("lock_timeout", "0")]);
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(|source| open_error(&location, source))?;
    let result = prepare_on(&mut conn, config, &location).await;
    // Closing ends the session, which also releases the advisory lock.
    let _ = conn.close().await;
    result
}

async fn prepare_on(
    conn: &mut PgConnection,
    config: &PostgresConfig,
    location: &str,
) -> Result<SchemaVersions, StoreError> {
    let database_error = |source| open_error(location, source);
    let supported = schema_version();
    if config.access == Access::ReadWrite {
        sqlx::query(
            "SELECT pg_advisory_lock(hashtextextended('sluice schema ' || current_database() \
             || ' ' || current_setting('search_path'), 0))",
        )
        .execute(&mut *conn)
        .await
        .map_err(database_error)?;
    }
    let found = inspect(conn, location).await.map_err(|error| match error {
        StoreError::Database(source) => database_error(source),
        other => other,
    })?;
    let before = match found {
        Found::Empty => 0,
        Found::Sluice(version) => version,
    };
    match config.access {
        Access::ReadWrite => {
            if before < supported {
                // `run_direct` is what `run` calls; `run`'s `Acquire` bound is not general
                // enough for a future that must be `Send` (sqlx's own note on `run_direct`).
                migrator()
                    .run_direct(None, &mut *conn, false)
                    .await
                    .map_err(|source| match source {
                        sqlx::migrate::MigrateError::Execute(e) if is_read_only(&e) => {
                            StoreError::ReadOnly {
                                path: location.into(),
                            }
                        }
                        source => StoreError::Migrate {
                            path: location.into(),
                            source,
                        },
                    })?;
            }
            Ok(SchemaVersions {
                before,
                after: supported,
            })
        }
        Access::ReadOnly => match found {
            Found::Empty => Err(StoreError::Missing {
                path: location.into(),
            }),
            Found::Sluice(found) if found < supported => Err(StoreError::OutdatedSchema {
                path: location.into(),
                found,
                expected: supported,
            }),
            Found::Sluice(found) => Ok(SchemaVersions {
                before: found,
                after: found,
            }),
        },
    }
}

async fn inspect(conn: &mut PgConnection, location: &str) -> Result<Found, StoreError> {
    let tables: Vec<String> = sqlx::query(
        "SELECT tablename::text AS name FROM pg_catalog.pg_tables \
         WHERE schemaname = current_schema() ORDER BY tablename",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| row.try_get("name"))
    .collect::<Result<_, _>>()?;
    let has = |name: &str| tables.iter().any(|t| t == name);

    let (found, applied) = if has(MIGRATIONS_TABLE) {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) AS found, COUNT(*) AS applied FROM _sqlx_migrations",
        )
        .fetch_one(&mut *conn)
        .await?;
        (
            row.try_get::<i64, _>("found")?,
            row.try_get::<i64, _>("applied")?,
        )
    } else {
        (0, 0)
    };
    if applied == 0 && tables.iter().all(|t| t == MIGRATIONS_TABLE) {
        // sqlx creates its bookkeeping table before the first migration; empty, it is a
        // sluice schema whose first migration failed or has yet to run.
        return Ok(Found::Empty);
    }
    let marked = has(MARKER_TABLE)
        && sqlx::query("SELECT 1 FROM sluice_schema WHERE application = 'sluice'")
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
    if !marked {
        return Err(StoreError::ForeignDatabase {
            path: location.into(),
            tables: tables.into_iter().take(5).collect(),
        });
    }
    let supported = schema_version();
    if found > supported {
        return Err(StoreError::NewerSchema {
            path: location.into(),
            found,
            supported,
        });
    }
    Ok(Found::Sluice(found))
}

/// A Postgres URL fit to show: the password in the user info is dropped, and the value of any
/// query parameter whose name mentions a password is replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let rest = rest.split('#').next().unwrap_or_default();
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{user}@{host}")
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.to_ascii_lowercase().contains("pass") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RunId;
    use crate::store::postgres::testing::TestSchema;
    use crate::store::traits::RunStore;

    #[test]
    fn urls_are_shown_without_passwords() {
        for (url, shown) in [
            (
                "postgres://alice:s3cret@db.internal:5432/sluice",
                "postgres://alice@db.internal:5432/sluice",
            ),
            (
                "postgresql://alice:p%40ss@db/sluice?sslmode=require&password=s3cret#x",
                "postgresql://alice@db/sluice?sslmode=require&password=***",
            ),
            (
                "postgres://alice@db/sluice?options[search_path]=ops&sslpassword=k",
                "postgres://alice@db/sluice?options[search_path]=ops&sslpassword=***",
            ),
            (
                "postgres:///sluice?host=/run/postgresql",
                "postgres:///sluice?host=/run/postgresql",
            ),
        ] {
            assert_eq!(redact_url(url), shown);
        }
        let config = PostgresConfig::new("postgres://alice:s3cret@db/sluice");
        assert!(!format!("{config:?}").contains("s3cret"));
        assert_eq!(config.location(), "postgres://alice@db/sluice");
    }

    #[tokio::test]
    async fn creates_the_schema_marks_it_and_finds_it_current_again() {
        let Some(db) = TestSchema::create().await else {
            return;
        };
        let versions = PostgresStore::migrate(db.config()).await.unwrap();
        assert_eq!(
            versions,
            SchemaVersions {
                before: 0,
                after: schema_version()
            }
        );
        let store = PostgresStore::open(db.config()).await.unwrap();
        assert!(!format!("{store:?}").contains("password"));
        store.close().await;
        let again = PostgresStore::migrate(db.config()).await.unwrap();
        assert_eq!(
            (again.before, again.after),
            (schema_version(), schema_version())
        );
        let marker: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT application FROM {}.sluice_schema",
            db.schema()
        )))
        .fetch_one(db.admin())
        .await
        .unwrap();
        assert_eq!(marker, "sluice");
        db.drop().await;
    }

    #[tokio::test]
    async fn someone_elses_schema_is_refused_and_left_untouched() {
        let Some(db) = TestSchema::create().await else {
            return;
        };
        db.execute("CREATE TABLE foo (x INTEGER); INSERT INTO foo VALUES (1)")
            .await;
        let error = PostgresStore::open(db.config()).await.unwrap_err();
        match &error {
            StoreError::ForeignDatabase { tables, .. } => assert_eq!(tables, &["foo"]),
            other => panic!("expected ForeignDatabase, got {other:?}"),
        }
        assert!(error.to_string().contains("tables: foo"), "{error}");
        assert_eq!(db.tables().await, ["foo"]);

        // Another sqlx application's schema.
        let other = TestSchema::create().await.unwrap();
        other
            .execute(
                "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY); \
                 INSERT INTO _sqlx_migrations VALUES (20240101)",
            )
            .await;
        let error = PostgresStore::open(other.config()).await.unwrap_err();
        assert!(
            matches!(error, StoreError::ForeignDatabase { .. }),
            "{error:?}"
        );
        assert_eq!(other.tables().await, ["_sqlx_migrations"]);
        db.drop().await;
        other.drop().await;
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused_and_left_untouched() {
        let Some(db) = TestSchema::create().await else {
            return;
        };
        PostgresStore::open(db.config())
            .await
            .unwrap()
            .close()
            .await;
        db.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (9999, 'from the future', true, '\\x00', 0)",
        )
        .await;
        let tables = db.tables().await;
        for result in [
            PostgresStore::open(db.config()).await.map(|_| ()),
            PostgresStore::migrate(db.config()).await.map(|_| ()),
        ] {
            let error = result.unwrap_err();
            assert!(
                matches!(error, StoreError::NewerSchema { found: 9999, supported, .. } if supported == schema_version()),
                "{error:?}"
            );
        }
        assert_eq!(db.tables().await, tables);
        db.drop().await;
    }

    #[tokio::test]
    async fn read_only_opens_read_and_refuse_writes_clearly() {
        let Some(db) = TestSchema::create().await else {
            return;
        };
        let reader = PostgresStore::open(db.config().access(Access::ReadOnly)).await;
        assert!(
            matches!(reader, Err(StoreError::Missing { .. })),
            "{reader:?}"
        );
        assert!(db.tables().await.is_empty());

        let store = PostgresStore::open(db.config()).await.unwrap();
        store
            .create_run(&crate::store::conformance::fixtures::new_run("run_a"), &[])
            .await
            .unwrap();
        let reader = PostgresStore::open(db.config().access(Access::ReadOnly))
            .await
            .unwrap();
        assert_eq!(
            reader.load_run(&RunId::from("run_a")).await.unwrap().id,
            "run_a"
        );
        let error = reader
            .create_run(&crate::store::conformance::fixtures::new_run("run_b"), &[])
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StoreError::ReadOnly { path } if *path == std::path::Path::new(reader.location())),
            "{error:?}"
        );
        db.drop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn processes_opening_a_new_schema_at_once_all_succeed() {
        let Some(db) = TestSchema::create().await else {
            return;
        };
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let config = db.config();
                tokio::spawn(async move { PostgresStore::open(config).await })
            })
            .collect();
        for open in opens {
            open.await.unwrap().unwrap().close().await;
        }
        db.drop().await;
    }

    #[tokio::test]
    async fn an_unreachable_server_is_an_open_error_without_the_password() {
        // Port 1 on loopback: nothing listens there.
        let config = PostgresConfig::new("postgres://alice:s3cret@127.0.0.1:1/sluice");
        let error = PostgresStore::open(config).await.unwrap_err();
        assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://alice@127.0.0.1:1/sluice"),
            "{shown}"
        );
    }
}
