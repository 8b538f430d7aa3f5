//! The Postgres rows: payroll runs created with `sluice run --detach` on one Postgres
//! database, executed by 1, 2 and 4 `sluice serve` workers sharing it. With several runs, each
//! worker takes an equal share of the runs (`--max-runs` = runs / workers; otherwise the first
//! worker to scan would claim them all, and no slot is left for helping). With one run, its
//! holder shares the payment step and the other workers claim its items; with a provider
//! latency (as real providers answer in tens of milliseconds, not the loopback sandbox's
//! fraction of one), a worker is bound by how many items it has in flight, which is what
//! sharing multiplies. Measures the wall time from the workers' start to the last run's
//! success.
//!
//! Needs a Postgres server: `SLUICE_BENCH_POSTGRES` names a database the benchmark may create
//! schemas in (`bench/run.sh` starts a throwaway one, with fsync on, when PostgreSQL is
//! installed). Without it the row is skipped with a note.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use sluice::sandbox::{FaultRule, Faults};
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgPool;

use crate::data::Payroll;
use crate::e2e::{Cli, Sync, WORKFLOW};

/// Worker counts of the row.
pub const WORKERS: &[usize] = &[1, 2, 4];

/// One configuration: `workers` workers, `runs` runs of `items_per_run` payees each.
#[derive(Debug, Clone, Serialize)]
pub struct WorkersRun {
    /// `sluice serve` processes.
    pub workers: usize,
    /// Runs executed.
    pub runs: usize,
    /// Payees in all runs.
    pub items: usize,
    /// The latency added to every provider call, in milliseconds.
    pub latency_ms: u64,
    /// From the workers' start to the last run's success.
    pub wall_s: f64,
    /// Payees paid per second.
    pub items_per_s: f64,
    /// HTTP requests per second.
    pub calls_per_s: f64,
}

/// Runs the row: for each worker count, a fresh schema, `runs` detached runs of `payroll`,
/// and the workers until every run succeeded, every provider call `latency` late.
///
/// # Errors
/// When a command fails or the runs do not finish within ten minutes.
pub async fn run(
    cli: &Cli<'_>,
    base_url: &str,
    payroll: &Payroll,
    (runs, latency): (usize, Duration),
    calls_per_item: f64,
) -> Result<Vec<WorkersRun>, String> {
    // Workers are signalled directly, so they run without the `/usr/bin/time` wrapper.
    let cli = &Cli {
        bin: cli.bin.clone(),
        root: cli.root.clone(),
        work: cli.work.clone(),
        sandbox: cli.sandbox,
        time_v: false,
    };
    let admin = PgPool::connect(base_url)
        .await
        .map_err(|e| format!("cannot connect to SLUICE_BENCH_POSTGRES: {e}"))?;
    let mut rows = Vec::new();
    for &workers in WORKERS {
        let max_runs = (runs / workers).max(1);
        let schema = format!("sluice_bench_{workers}_{:08x}", rand::random::<u32>());
        sql(&admin, &format!("CREATE SCHEMA {schema}")).await?;
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options[search_path]={schema}");
        let row = measure(
            cli,
            &admin,
            &url,
            &schema,
            payroll,
            (runs, latency),
            (workers, max_runs),
            calls_per_item,
        )
        .await;
        sql(&admin, &format!("DROP SCHEMA {schema} CASCADE")).await?;
        rows.push(row?);
    }
    admin.close().await;
    Ok(rows)
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    cli: &Cli<'_>,
    admin: &PgPool,
    url: &str,
    schema: &str,
    payroll: &Payroll,
    (runs, latency): (usize, Duration),
    (workers, max_runs): (usize, usize),
    calls_per_item: f64,
) -> Result<WorkersRun, String> {
    cli.sandbox.reset();
    if !latency.is_zero() {
        let rule = format!("latency={}ms@*", latency.as_millis());
        let rule = rule.parse::<FaultRule>().map_err(|e| e.to_string())?;
        cli.sandbox.set_faults(Faults {
            routes: vec![rule],
            webhooks: Vec::new(),
        });
    }
    for i in 0..runs {
        let run_id = format!("bench_w{workers}_{runs}_{i}");
        let budget = format!("budget={}", payroll.total);
        let payees = format!("payees=@{}", payroll.path.display());
        let args = [
            "run", WORKFLOW, "--run-id", &run_id, "--input", &payees, "--input", &budget,
            "--detach",
        ];
        let mut cmd = cli.command(&args, None, Sync::Full, "sluice=warn");
        cmd.env("SLUICE_DB", url);
        let out = cmd.output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "`sluice run --detach` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let started = Instant::now();
    let max_runs = max_runs.to_string();
    let mut children: Vec<Child> = (0..workers)
        .map(|w| {
            let name = format!("bench-{w}");
            let args = [
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--name",
                &name,
                "--rescan",
                "100ms",
                "--max-runs",
                &max_runs,
            ];
            let mut cmd = cli.command(&args, None, Sync::Full, "sluice=warn");
            cmd.env("SLUICE_DB", url)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            cmd.spawn().map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let query = format!("SELECT count(*) FROM {schema}.runs WHERE status = 'succeeded'");
    let finished = loop {
        let done: i64 = sqlx::query_scalar(AssertSqlSafe(query.clone()))
            .fetch_one(admin)
            .await
            .map_err(|e| e.to_string())?;
        if done as usize == runs {
            break Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(600) {
            break Err(format!("{done} of {runs} runs succeeded in ten minutes"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for child in &mut children {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    let wall = finished?.as_secs_f64();
    let items = runs * payroll.rows;
    Ok(WorkersRun {
        workers,
        runs,
        items,
        latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        wall_s: wall,
        items_per_s: items as f64 / wall,
        calls_per_s: calls_per_item * items as f64 / wall,
    })
}

/// Runs one statement built by the benchmark itself (schema names it generated).
async fn sql(admin: &PgPool, statement: &str) -> Result<(), String> {
    sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))
        .execute(admin)
        .await
        .map(drop)
        .map_err(|e| format!("`{statement}`: {e}"))
}
