//! The operator console on a large batch: a run whose `pay` step has N items (100,000 by
//! default) written through the store's own write protocol (dispatch with the request,
//! result with its provider call; most succeeded, some failed, a few in doubt), then the
//! pages an operator opens, fetched over HTTP from the console served on loopback: the
//! step's first items page, a page deep into the step, the page filtered by state, a key
//! search, the CSV export and the run's page. Each is the median of a few fetches after
//! one that warms the database's cache.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;
use serde_json::json;
use sluice::console::{Access, Console, Users, app};
use sluice::ids::{RunId, StepId};
use sluice::store::{
    AttemptOperation, AttemptOutcome, Attention, Dispatch, Durability, ErrorClass, NewAttempt,
    Outcome, SqliteConfig, SqliteStore, StepError, StepKey, StepResult, Store, WriteBatch,
    idempotency_key,
};
use sluice::webhooks::{Listening, bind};

use crate::e2e::fresh_db;
use crate::store::pay_run;

/// Fetches timed per page, after the warm-up.
const FETCHES: usize = 5;
/// Items per transaction while building the run.
const BATCH: usize = 2_000;

/// One page, timed.
#[derive(Debug, Clone, Serialize)]
pub struct ConsolePage {
    /// Items of the step.
    pub items: usize,
    /// Which page (`items`, `items?state=failed`, …).
    pub page: String,
    /// The median of the timed fetches, in milliseconds.
    pub median_ms: f64,
    /// The slowest of them.
    pub max_ms: f64,
    /// The answer's size.
    pub bytes: usize,
}

/// Builds a run of `items` items in a fresh database under `work` and times its pages.
///
/// # Errors
/// When the store or a fetch fails, or a page does not answer 200.
pub async fn run(work: &std::path::Path, items: usize) -> Result<Vec<ConsolePage>, String> {
    let db = fresh_db(work, &format!("console-{items}"))?;
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(SqliteConfig::new(&db).durability(Durability::Normal))
            .await
            .map_err(|e| e.to_string())?,
    );
    let run_id = RunId::from("run_console_bench");
    let built = Instant::now();
    build(&*store, &run_id, items)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!(
        "console: built a run of {items} items in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("a loopback address");
    let access = Access::new(Users::default(), None, loopback, "bench");
    let listener = bind(loopback).await.map_err(|e| e.to_string())?;
    let site = Listening::start(listener, app(Console::new(store.clone(), access, None)))
        .map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| e.to_string())?;
    let base = format!("http://{}/runs/{run_id}", site.addr());
    let deep = items * 9 / 10;
    let pages = [
        ("run".to_owned(), String::new()),
        ("items".to_owned(), "/steps/pay/items".to_owned()),
        (
            format!("items after {deep}"),
            format!("/steps/pay/items?after={}", deep + 1),
        ),
        (
            "items?state=failed".to_owned(),
            "/steps/pay/items?state=failed".to_owned(),
        ),
        (
            "items?key=E00500".to_owned(),
            "/steps/pay/items?key=E00500".to_owned(),
        ),
        ("items.csv".to_owned(), "/steps/pay/items.csv".to_owned()),
    ];
    let mut out = Vec::new();
    for (page, path) in pages {
        let url = format!("{base}{path}");
        let mut times = Vec::with_capacity(FETCHES);
        let mut bytes = 0;
        for i in 0..=FETCHES {
            let started = Instant::now();
            let answer = client.get(&url).send().await.map_err(|e| e.to_string())?;
            let status = answer.status();
            let body = answer.bytes().await.map_err(|e| e.to_string())?;
            let took = started.elapsed();
            if !status.is_success() {
                return Err(format!("`{url}` answered {status}"));
            }
            bytes = body.len();
            if i > 0 {
                times.push(took.as_secs_f64() * 1e3);
            }
        }
        times.sort_by(f64::total_cmp);
        out.push(ConsolePage {
            items,
            page,
            median_ms: times[times.len() / 2],
            max_ms: times[times.len() - 1],
            bytes,
        });
    }
    site.shutdown().await;
    Ok(out)
}

/// A run with one `pay` step of `items` items: every item dispatched with its amount,
/// then 97 % succeeded, 2.9 % failed and 0.1 % in doubt, with their provider calls.
async fn build(
    store: &dyn Store,
    run_id: &RunId,
    items: usize,
) -> Result<(), sluice::store::StoreError> {
    let pay = StepId::from("pay");
    let (run, steps, keys) = pay_run(run_id, items);
    store.create_run(&run, &steps).await?;
    let lease = store
        .acquire_lease(run_id, "bench", Duration::from_secs(3600))
        .await?;
    for (chunk_no, chunk) in keys.chunks(BATCH).enumerate() {
        let dispatches: Vec<Dispatch> = chunk
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let n = chunk_no * BATCH + i;
                let asset = if n.is_multiple_of(10) { "USDC" } else { "EURC" };
                Dispatch {
                    step_id: pay.clone(),
                    item_key: k.clone(),
                    idempotency_key: idempotency_key(run_id, &pay, k),
                    request: json!({
                        "network": "SEPA", "asset": asset,
                        "amount": format!("{}.{:02}", 100 + n % 4_900, n % 100),
                        "target_account": format!("{k} EUR"), "note": format!("Payroll {k}"),
                    }),
                }
            })
            .collect();
        store
            .commit_batch(&lease, &WriteBatch::from(dispatches))
            .await?;
        let now = Utc::now();
        let mut results = Vec::new();
        let mut doubts = Vec::new();
        for (i, k) in chunk.iter().enumerate() {
            let n = chunk_no * BATCH + i;
            let key = StepKey::item(run_id, &pay, k);
            if n % 1_000 == 999 {
                doubts.push(Attention {
                    key,
                    message: "the answer was lost and the lookup could not tell".into(),
                });
                continue;
            }
            let failed = n % 34 == 33;
            let outcome = if failed {
                Outcome::Failed(StepError::new(
                    ErrorClass::Rejected,
                    "`wst` rejected the request (HTTP 400, `insufficient_funds`)",
                ))
            } else {
                Outcome::Succeeded {
                    output: json!({ "id": format!("tr_{n}"), "state": "PROCESSING" }),
                    provider_ref: Some(format!("tr_{n}")),
                }
            };
            results.push(StepResult {
                key: key.clone(),
                outcome,
                attempt: Some(NewAttempt {
                    key,
                    attempt_no: 1,
                    operation: AttemptOperation::Execute,
                    idempotency_key: idempotency_key(run_id, &pay, k),
                    request_digest: None,
                    started_at: now,
                    finished_at: Some(now),
                    outcome: if failed {
                        AttemptOutcome::Rejected
                    } else {
                        AttemptOutcome::Ok
                    },
                    error: None,
                    http_status: Some(if failed { 400 } else { 201 }),
                }),
            });
        }
        let mut batch = WriteBatch::from(results);
        batch.attention = doubts;
        store.commit_batch(&lease, &batch).await?;
    }
    store.release_lease(&lease).await
}
