//! Torture: three `sluice serve` workers share one payroll's payment step while workers are
//! killed with SIGKILL and started again at once under the same name. Whatever the kills did,
//! once the run is over (and, if it failed, after `sluice retry RUN --failed`, as an operator
//! would), every payee is paid exactly once, and the run's record agrees with the sandbox's
//! ledger: no item recorded `failed` whose money moved, none `succeeded` that was not paid.
//!
//! Every Whalestack commit waits a second in the sandbox, so that a transfer (create →
//! checkpoint → commit) spends most of its time committing: a killed worker leaves
//! checkpointed, uncommitted transfers behind, and two workers that both read one back as
//! `PENDING_API_COMMIT` both send its commit. The kills come in two parts: random workers at
//! random moments, then, in the step's end phase, the worst moment on purpose (see
//! [`kill_the_holder_taking_over`]).
//!
//! The random kills come from a seed, printed with the summary line; `SLUICE_TORTURE_SEED`
//! replays them (the workers' own timing is never quite the same).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rust_decimal::Decimal;
use sluice::ids::RunId;
use sluice::sandbox::{FaultRule, Faults};
use sluice::store::{
    Access, Durability, RunRecord, RunStatus, SqliteConfig, SqliteStore, StepRecord, StepState,
    Store, is_postgres_url, open_store,
};

use super::harness::{Harness, Payee, text};
use super::postgres::{TestSchema, sluice_on};
use super::workers::{stop, wait_for, worker};

const RUN: &str = "run_torture";

/// The workers, started again under the same names after each kill.
const NAMES: [&str; 3] = ["t1", "t2", "t3"];

/// Payees in the payroll.
const PAYEES: usize = 300;

/// How long every transfer commit waits in the sandbox before it is handled.
const COMMIT_LATENCY: &str = "1s";

/// How many random kills, at most: fewer if the end phase comes first.
const RANDOM_KILLS: usize = 8;

/// A random kill comes this long after the one before, plus up to as long again.
const KILL_EVERY: Duration = Duration::from_millis(500);

/// The step's end phase: at most this many payees left to pay, which is less than the three
/// workers run at once, so every open item is claimed or in doubt, and idle workers claim the
/// items of a dead one as soon as its claims expire.
const END_PHASE: usize = 40;

/// How long each part of the run may take.
const LIMIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_on_sqlite_pay_once_and_record_what_they_paid() {
    let h = Harness::start(slow_commits()).await;
    torture(&h, &h.db().display().to_string(), "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_on_postgres_pay_once_and_record_what_they_paid() {
    let Some(db) = TestSchema::create().await else {
        return;
    };
    let h = Harness::start(slow_commits()).await;
    torture(&h, &db.url, "postgres").await;
    db.drop().await;
}

fn slow_commits() -> Faults {
    let rule = format!("latency={COMMIT_LATENCY}@POST */transfer/commit");
    Faults {
        routes: vec![rule.parse::<FaultRule>().unwrap()],
        webhooks: Vec::new(),
    }
}

/// The whole scenario on the checkpoint database `db`: workers, payroll, kills, the run's end,
/// a retry if it failed, and the checks.
async fn torture(h: &Harness, db: &str, backend: &str) {
    let started = Instant::now();
    let seed = seed();
    let (csv, payees) = h.payroll(PAYEES);
    let out = sluice_on(h, db, &["migrate"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let store = reader(db).await;
    let mut workers = Workers::start(h, db, &*store).await;
    detach_payroll(h, db, &csv).await;
    let end_phase = async || {
        h.transfers().len() + END_PHASE >= PAYEES || run(&*store).await.status.is_finished()
    };
    kill_at_random(&mut workers, &*store, seed, end_phase).await;
    wait_for(LIMIT, "the step's end phase", end_phase).await;
    kill_the_holder_taking_over(&mut workers, &*store).await;
    let status = wait_until_over(&*store).await;
    workers.stop();

    let at_end = pay_items(&*store).await;
    let failed = at_end
        .iter()
        .filter(|r| r.state == StepState::Failed)
        .count();
    let wrong_at_end = disagreements(&at_end, &payees, &h.paid_by_name());
    let retried = if status == RunStatus::Failed {
        Some(retry(h, db).await)
    } else {
        None
    };
    let paid = h.paid_by_name();
    let twice = payees
        .iter()
        .filter(|p| paid.get(&p.name).is_some_and(|a| a.len() > 1))
        .count();
    let wrong_after = disagreements(&pay_items(&*store).await, &payees, &paid);
    println!(
        "torture on {backend}: seed {seed}, {} kills ({} of the run's holder), run {status} \
         with {failed} item(s) failed ({} of them paid) in {:.1}s, {twice} payee(s) paid \
         more than once after the retry",
        workers.kills,
        workers.holder_kills,
        wrong_at_end.len(),
        started.elapsed().as_secs_f64()
    );

    assert!(
        wrong_at_end.is_empty(),
        "when the run ended {status}, its record disagreed with the ledger (seed {seed}):\n{}",
        wrong_at_end.join("\n")
    );
    h.assert_paid_exactly_once(&payees);
    assert!(
        wrong_after.is_empty(),
        "after the retry, the run's record disagreed with the ledger (seed {seed}):\n{}",
        wrong_after.join("\n")
    );
    if let Some(out) = retried {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
}

/// The random kills' seed: `SLUICE_TORTURE_SEED`, else the clock.
fn seed() -> u64 {
    std::env::var("SLUICE_TORTURE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map_or(1, |d| d.as_nanos() as u64)
        })
}

/// A connection to `db` for the test's own reads; read-only on SQLite, so that it never takes
/// the write lock from the workers.
async fn reader(db: &str) -> Arc<dyn Store> {
    if is_postgres_url(db) {
        return open_store(db, Durability::Normal).await.unwrap();
    }
    let config = SqliteConfig::new(Path::new(db)).access(Access::ReadOnly);
    Arc::new(SqliteStore::open(config).await.unwrap())
}

async fn run(store: &dyn Store) -> RunRecord {
    store.load_run(&RunId::from(RUN)).await.unwrap()
}

/// `sluice run … --detach`: the payroll, for the workers to execute.
async fn detach_payroll(h: &Harness, db: &str, csv: &Path) {
    let mut args = Harness::payroll_run(RUN, csv);
    args.push("--detach".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sluice_on(h, db, &args, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// The workers, each started again under its name as soon as it is killed.
struct Workers<'a> {
    h: &'a Harness,
    db: &'a str,
    children: Vec<Child>,
    kills: usize,
    holder_kills: usize,
}

impl<'a> Workers<'a> {
    /// Starts the workers and waits until all of them report, so that whichever takes the run
    /// finds the others there to share its payment step with.
    async fn start(h: &'a Harness, db: &'a str, store: &dyn Store) -> Workers<'a> {
        let children = NAMES.iter().map(|n| worker(h, db, n).0).collect();
        wait_for(LIMIT, "the workers to report", async || {
            let now = chrono::Utc::now();
            let listed = store.list_workers().await.unwrap_or_default();
            listed.iter().filter(|w| w.is_live(now)).count() == NAMES.len()
        })
        .await;
        Workers {
            h,
            db,
            children,
            kills: 0,
            holder_kills: 0,
        }
    }

    /// `NAME:PID:`, how the lease and claim owners of worker `i` start (one killed before under
    /// the same name is another PID).
    fn owner(&self, i: usize) -> String {
        format!("{}:{}:", NAMES[i], self.children[i].id())
    }

    /// The live worker holding `run`, if any (a killed one may hold it until its lease expires).
    fn holder(&self, run: &RunRecord) -> Option<usize> {
        let lease = run.lease.as_ref()?;
        (0..NAMES.len()).find(|&i| lease.owner.starts_with(&self.owner(i)))
    }

    /// Whether worker `i` claims items now.
    async fn claims(&self, store: &dyn Store, i: usize) -> bool {
        let claims = store.list_claims().await.unwrap_or_default();
        claims.iter().any(|c| c.owner.starts_with(&self.owner(i)))
    }

    /// SIGKILLs worker `i` and starts it again under its name.
    fn kill(&mut self, i: usize, holder: bool) {
        self.children[i].kill().unwrap();
        self.children[i].wait().unwrap();
        self.children[i] = worker(self.h, self.db, NAMES[i]).0;
        self.kills += 1;
        self.holder_kills += usize::from(holder);
    }

    /// Stops every worker with SIGTERM.
    fn stop(&mut self) {
        self.children.iter_mut().for_each(stop);
    }
}

/// SIGKILLs a random worker every [`KILL_EVERY`] to twice that, [`RANDOM_KILLS`] times or
/// until `done`.
async fn kill_at_random(
    workers: &mut Workers<'_>,
    store: &dyn Store,
    seed: u64,
    mut done: impl AsyncFnMut() -> bool,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let every = KILL_EVERY.as_millis() as u64;
    for _ in 0..RANDOM_KILLS {
        tokio::time::sleep(Duration::from_millis(every + rng.random_range(0..=every))).await;
        if done().await {
            return;
        }
        let i = rng.random_range(0..NAMES.len());
        let holder = workers.holder(&run(store).await) == Some(i);
        workers.kill(i, holder);
    }
}

/// The end phase's worst moment: a worker running claimed items is killed; once their claims
/// expire the run's holder claims them in turn, and is killed while it commits them. Its lease
/// and its claims then run out together: the next holder resumes the step with those items
/// `in_flight` in the rows it loads, and an idle worker claims them at the same time. Nothing
/// happens if the run is over first, or the holder never takes the items over.
async fn kill_the_holder_taking_over(workers: &mut Workers<'_>, store: &dyn Store) {
    let mut holder = None;
    wait_for(LIMIT, "a live holder", async || {
        let run = run(store).await;
        holder = workers.holder(&run);
        holder.is_some() || run.status.is_finished()
    })
    .await;
    let Some(holder) = holder else {
        return;
    };
    let others = (0..NAMES.len()).filter(|&i| i != holder);
    let mut helper = others.clone().next().unwrap();
    for i in others {
        if workers.claims(store, i).await {
            helper = i;
        }
    }
    workers.kill(helper, false);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) && !run(store).await.status.is_finished() {
        if workers.claims(store, holder).await {
            workers.kill(holder, true);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the run is over, and returns how it ended: succeeded or failed (kills alone
/// must not leave anything for an operator to decide).
async fn wait_until_over(store: &dyn Store) -> RunStatus {
    let mut status = RunStatus::Pending;
    wait_for(LIMIT, "the run to be over", async || {
        status = run(store).await.status;
        status.is_finished() || status == RunStatus::NeedsAttention
    })
    .await;
    assert!(
        matches!(status, RunStatus::Succeeded | RunStatus::Failed),
        "the run ended {status}"
    );
    status
}

/// `sluice retry RUN --failed`, with no worker running: the failed items are paid now.
async fn retry(h: &Harness, db: &str) -> std::process::Output {
    let args = ["retry", RUN, "--failed", "--as", "ops"];
    sluice_on(h, db, &args, None).await
}

/// The rows of the payment step's items, as the run recorded them.
async fn pay_items(store: &dyn Store) -> Vec<StepRecord> {
    let rows = store.load_steps(&RunId::from(RUN)).await.unwrap();
    rows.into_iter()
        .filter(|r| r.key.step_id == "pay" && !r.key.item_key.is_empty())
        .collect()
}

/// Where the record and the ledger disagree, one line per item: recorded `succeeded` but its
/// payee was not paid, or recorded otherwise (failed above all) although the payee was.
fn disagreements(
    rows: &[StepRecord],
    payees: &[Payee],
    paid: &BTreeMap<String, Vec<Decimal>>,
) -> Vec<String> {
    let by_id: HashMap<&str, &Payee> = payees.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut wrong = Vec::new();
    for row in rows {
        let Some(payee) = by_id.get(row.key.item_key.as_str()) else {
            wrong.push(format!("`{}` is not a payee", row.key.item_key));
            continue;
        };
        let amounts = paid.get(&payee.name).cloned().unwrap_or_default();
        if amounts.is_empty() == (row.state == StepState::Succeeded) {
            let error = row.error.as_ref().map_or("", |e| e.message.as_str());
            wrong.push(format!(
                "`{}` ({}) is {} but was paid {amounts:?}: {error}",
                payee.id, payee.name, row.state
            ));
        }
    }
    wrong
}
