//! The engine on a shared Postgres database, through the real binary with
//! `SLUICE_DB=postgres://…`: a payroll interrupted right after dispatching resumes and pays
//! every payee exactly once; `sluice migrate` on both backends, refusing a newer schema.
//!
//! The Postgres tests need `SLUICE_TEST_POSTGRES` (set by `scripts/test.sh`): without it they
//! print a note and pass, except under `CI`, where they fail.

use std::process::Output;

use sluice::sandbox::Faults;
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgPool;

use super::harness::{Harness, text};

/// A fresh schema in the test database, dropped by [`TestSchema::drop`].
pub(crate) struct TestSchema {
    pub url: String,
    schema: String,
    pub admin: PgPool,
}

impl TestSchema {
    pub async fn create() -> Option<TestSchema> {
        let base = match std::env::var("SLUICE_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").is_ok_and(|ci| !matches!(ci.as_str(), "" | "0" | "false")) => {
                panic!("SLUICE_TEST_POSTGRES is not set under CI; run scripts/test.sh")
            }
            _ => {
                eprintln!("note: SLUICE_TEST_POSTGRES is not set; skipping this Postgres test");
                return None;
            }
        };
        let schema = format!("sluice_it_{:016x}", rand::random::<u64>());
        let admin = PgPool::connect(&base)
            .await
            .expect("the test server answers");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        Some(TestSchema {
            url: format!("{base}{separator}options[search_path]={schema}"),
            schema,
            admin,
        })
    }

    /// The schema's name, to qualify tables in queries on [`Self::admin`].
    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub async fn drop(self) {
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

/// `sluice ARGS` against the sandbox, with `db` as the checkpoint database.
pub(super) async fn sluice_on(
    h: &Harness,
    db: &str,
    args: &[&str],
    failpoints: Option<&str>,
) -> Output {
    let mut cmd = h.command(args, failpoints);
    cmd.env("SLUICE_DB", db);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payroll_on_postgres_interrupted_after_dispatch_resumes_and_pays_once() {
    let Some(db) = TestSchema::create().await else {
        return;
    };
    let h = Harness::start(Faults::default()).await;
    let (csv, payees) = h.payroll(60);
    let args = Harness::payroll_run("run_pg", &csv);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // The 6th dispatch commit returns an error right after committing: requests in doubt.
    let failpoint = cfg!(feature = "failpoints").then_some("after_dispatch=5*off->return");
    let out = sluice_on(&h, &db.url, &args, failpoint).await;
    if failpoint.is_some() {
        assert!(
            text(&out).contains("failpoint `after_dispatch` hit"),
            "{}",
            text(&out)
        );
        let out = sluice_on(&h, &db.url, &["resume", "run_pg"], None).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    } else {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    h.assert_paid_exactly_once(&payees);

    let status = sluice_on(&h, &db.url, &["status", "run_pg"], None).await;
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(shown.contains("run run_pg (payroll): succeeded"), "{shown}");
    assert!(shown.contains("60 items: 60 succeeded"), "{shown}");
    let runs = sluice_on(&h, &db.url, &["runs"], None).await;
    assert!(
        String::from_utf8_lossy(&runs.stdout).contains("run_pg"),
        "{}",
        text(&runs)
    );
    // Nothing was written to the SQLite default.
    assert!(!h.db().exists());
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_applies_pending_migrations_once_and_refuses_a_newer_schema() {
    let sqlite_schema = sluice::store::sqlite::schema_version();
    let postgres_schema = sluice::store::postgres::schema_version();
    let h = Harness::start(Faults::default()).await;
    let sqlite = h.db().display().to_string();
    let first = sluice_on(&h, &sqlite, &["migrate"], None).await;
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(
        String::from_utf8_lossy(&first.stdout),
        format!("migrated `{sqlite}` from schema version 0 to {sqlite_schema}\n")
    );
    let again = sluice_on(&h, &sqlite, &["migrate"], None).await;
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        format!("`{sqlite}` is at schema version {sqlite_schema}, up to date\n")
    );

    let Some(db) = TestSchema::create().await else {
        return;
    };
    let url = db.url.replace("postgres://", "postgresql://");
    let first = sluice_on(&h, &url, &["migrate"], None).await;
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(
        String::from_utf8_lossy(&first.stdout)
            .contains(&format!("from schema version 0 to {postgres_schema}")),
        "{}",
        text(&first)
    );
    sqlx::raw_sql(AssertSqlSafe(format!(
        "INSERT INTO {}._sqlx_migrations (version, description, success, checksum, \
         execution_time) VALUES (9999, 'from the future', true, '\\x00', 0)",
        db.schema
    )))
    .execute(&db.admin)
    .await
    .unwrap();
    for args in [
        &["migrate"][..],
        &["runs"],
        &["serve", "--listen", "127.0.0.1:0"],
    ] {
        let out = sluice_on(&h, &url, args, None).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains(&format!(
                "has schema version 9999, newer than the {postgres_schema} this sluice supports"
            )),
            "{}",
            text(&out)
        );
    }
    db.drop().await;
}
