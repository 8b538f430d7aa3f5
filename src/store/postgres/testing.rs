//! A schema of its own for each Postgres test, in the database `SLUICE_TEST_POSTGRES` names,
//! so tests run in parallel without seeing each other.
//!
//! Without `SLUICE_TEST_POSTGRES` a test prints a note and passes without checking anything
//! (a developer's plain `cargo test`), except under `CI`, where it fails: CI must never skip
//! them silently. `scripts/test.sh` starts a throwaway server and sets the variable.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};

use super::PostgresConfig;

/// The variable naming the test server's database.
const URL_VAR: &str = "SLUICE_TEST_POSTGRES";

/// A fresh, empty schema; [`drop`](Self::drop) removes it with everything in it.
pub(crate) struct TestSchema {
    url: String,
    schema: String,
    admin: PgPool,
}

/// Whether this is a CI run, where skipping the Postgres tests is a failure.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| !matches!(ci.as_str(), "" | "0" | "false"))
}

impl TestSchema {
    /// Creates the schema, or returns `None` (after printing why) when no test server is set.
    ///
    /// # Panics
    /// Under CI without a test server, or when the server cannot be used.
    pub(crate) async fn create() -> Option<Self> {
        let base = match std::env::var(URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ if under_ci() => panic!(
                "{URL_VAR} is not set, so the Postgres tests cannot run; CI runs them through \
                 scripts/test.sh, which starts a server"
            ),
            _ => {
                eprintln!(
                    "note: {URL_VAR} is not set; skipping this Postgres test \
                     (scripts/test.sh starts a throwaway server)"
                );
                return None;
            }
        };
        let schema = format!("sluice_test_{:016x}", rand::random::<u64>());
        let options: PgConnectOptions = base
            .parse()
            .unwrap_or_else(|e| panic!("{URL_VAR} is not a Postgres URL: {e}"));
        let admin = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.options([("search_path", &schema)]))
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {URL_VAR}: {e}"));
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        Some(Self {
            url: format!("{base}{separator}options[search_path]={schema}"),
            schema,
            admin,
        })
    }

    /// The store's configuration for this schema: the URL selects it through `search_path`.
    pub(crate) fn config(&self) -> PostgresConfig {
        PostgresConfig {
            max_connections: 4,
            ..PostgresConfig::new(&self.url)
        }
    }

    /// The schema's name.
    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }

    /// A pool whose connections work in the schema.
    pub(crate) fn admin(&self) -> &PgPool {
        &self.admin
    }

    /// Runs statements in the schema, as another application would.
    pub(crate) async fn execute(&self, sql: &str) {
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
            .execute(&self.admin)
            .await
            .unwrap();
    }

    /// The schema's tables, by name.
    pub(crate) async fn tables(&self) -> Vec<String> {
        sqlx::query(
            "SELECT tablename::text AS name FROM pg_catalog.pg_tables WHERE schemaname = $1 \
             ORDER BY tablename",
        )
        .bind(&self.schema)
        .fetch_all(&self.admin)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get("name"))
        .collect()
    }

    /// Removes the schema and everything in it. A test that panics leaves its schema behind,
    /// for a look at what it wrote.
    pub(crate) async fn drop(self) {
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.schema
        )))
        .execute(&self.admin)
        .await
        .unwrap();
        self.admin.close().await;
    }
}
