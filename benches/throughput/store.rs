//! The checkpoint store alone: the three writes of a two-phase item (dispatch, checkpoint,
//! result) in batches of 1, 16 and 64, one batch at a time, on a fresh database. What a
//! write costs here bounds what the engine can do per item; the difference between batch
//! sizes is the price of a transaction (the round trips to SQLite's connection thread and
//! the commit), the rest is SQLite's own work on the rows.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value, json};
use sluice::ids::{ItemKey, RunId, StepId};
use sluice::providers::{Call, IdempotencyKey, Outcome, Provider};
use sluice::store::{
    AttemptOperation, AttemptOutcome, Checkpoint, Dispatch, Durability, NewAttempt, NewRun,
    NewStep, Outcome as StoreOutcome, RunStore, SqliteConfig, SqliteStore, StepKey, StepResult,
    StepStore, WriteBatch, idempotency_key,
};

use crate::e2e::{Sync, db_bytes, fresh_db};
use crate::stub::Stub;

/// One store-only measurement.
#[derive(Debug, Clone, Serialize)]
pub struct StoreRun {
    /// Items written.
    pub items: usize,
    /// Durability.
    pub sync: Sync,
    /// Items per batch (per transaction).
    pub batch: usize,
    /// The dispatches' batch, per item.
    pub dispatch_us: f64,
    /// The checkpoints' batch, per item.
    pub checkpoint_us: f64,
    /// The results' batch, with the attempt and a transfer's output, per item.
    pub result_us: f64,
    /// The three, per item.
    pub total_us: f64,
    /// The database file plus its WAL after the run.
    pub db_mib: f64,
}

/// Writes `items` items through the store in batches of `batch`.
///
/// # Errors
/// When the store fails.
pub async fn run(
    work: &std::path::Path,
    items: usize,
    sync: Sync,
    batch: usize,
) -> Result<StoreRun, String> {
    let e = |e: sluice::store::StoreError| e.to_string();
    let db = fresh_db(work, &format!("store-{items}-{}-b{batch}", sync.env()))?;
    let durability = match sync {
        Sync::Full => Durability::Full,
        Sync::Normal => Durability::Normal,
    };
    let store = SqliteStore::open(SqliteConfig::new(&db).durability(durability))
        .await
        .map_err(e)?;
    let run_id = RunId::from("store_bench");
    let pay = StepId::from("pay");
    let (run, steps, keys) = pay_run(&run_id, items);
    store.create_run(&run, &steps).await.map_err(e)?;
    let lease = store
        .acquire_lease(&run_id, "bench", Duration::from_secs(3600))
        .await
        .map_err(e)?;
    let stub = Stub::default();
    let (mut dispatch, mut checkpoint, mut result) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for chunk in keys.chunks(batch) {
        let mut writes = Vec::with_capacity(chunk.len());
        for k in chunk {
            let idk = idempotency_key(&run_id, &pay, k);
            let request = json!({
                "network": "SEPA", "asset": "EURC", "amount": "1592.36",
                "target_account": format!("{k} EUR"), "note": format!("Payroll {run_id} {k}"),
            });
            let with: Map<String, Value> = request.as_object().cloned().unwrap_or_default();
            let key = IdempotencyKey::new(idk.clone()).map_err(|e| e.to_string())?;
            let call = Call {
                action: "transfer",
                with: &with,
                key: &key,
                checkpoint: None,
            };
            let Ok(Outcome::Continue {
                checkpoint: cp,
                output,
            }) = stub.execute(&call).await
            else {
                return Err("the stub answers a create with a checkpoint".into());
            };
            writes.push((k, idk, request, cp, output.to_json()));
        }
        let d: Vec<Dispatch> = writes
            .iter()
            .map(|(k, idk, request, _, _)| Dispatch {
                step_id: "pay".into(),
                item_key: (*k).clone(),
                idempotency_key: idk.clone(),
                request: request.clone(),
            })
            .collect();
        let d = WriteBatch::from(d);
        let started = Instant::now();
        store.commit_batch(&lease, &d).await.map_err(e)?;
        dispatch += started.elapsed();
        let c: Vec<Checkpoint> = writes
            .iter()
            .map(|(k, _, _, cp, _)| Checkpoint {
                key: StepKey::item(&run_id, &pay, *k),
                provider_ref: "tr_bench".into(),
                checkpoint: cp.clone(),
            })
            .collect();
        let c = WriteBatch::from(c);
        let started = Instant::now();
        store.commit_batch(&lease, &c).await.map_err(e)?;
        checkpoint += started.elapsed();
        let now = chrono::Utc::now();
        let r: Vec<StepResult> = writes
            .into_iter()
            .map(|(k, idk, _, _, output)| StepResult {
                key: StepKey::item(&run_id, &pay, k),
                outcome: StoreOutcome::Succeeded {
                    output,
                    provider_ref: Some("tr_bench".into()),
                },
                attempt: Some(NewAttempt {
                    key: StepKey::item(&run_id, &pay, k),
                    attempt_no: 1,
                    operation: AttemptOperation::Commit,
                    idempotency_key: idk,
                    request_digest: None,
                    started_at: now,
                    finished_at: Some(now),
                    outcome: AttemptOutcome::Ok,
                    error: None,
                    http_status: None,
                }),
            })
            .collect();
        let r = WriteBatch::from(r);
        let started = Instant::now();
        store.commit_batch(&lease, &r).await.map_err(e)?;
        result += started.elapsed();
    }
    store.close().await;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / items as f64;
    Ok(StoreRun {
        items,
        sync,
        batch,
        dispatch_us: per(dispatch),
        checkpoint_us: per(checkpoint),
        result_us: per(result),
        total_us: per(dispatch + checkpoint + result),
        db_mib: db_bytes(&db) as f64 / (1024.0 * 1024.0),
    })
}

/// A run of `payroll` whose `pay` step has `items` items keyed `E0000001`…, not yet created,
/// with its step rows and the items' keys: what the store and console benches write to.
pub fn pay_run(run_id: &RunId, items: usize) -> (NewRun, Vec<NewStep>, Vec<ItemKey>) {
    let keys: Vec<ItemKey> = (1..=items)
        .map(|i| ItemKey::from(format!("E{i:07}")))
        .collect();
    let mut steps = vec![NewStep::step("pay")];
    steps.extend(keys.iter().map(|k| NewStep::item("pay", k)));
    let run = NewRun {
        id: run_id.clone(),
        workflow_name: "payroll".into(),
        workflow_path: "workflows/payroll.yaml".into(),
        workflow_hash: String::new(),
        inputs_hash: String::new(),
        inputs: json!({}),
        plan_hash: None,
        scheduled_for: None,
        started_by: "bench".into(),
        notify: Vec::new(),
        lease: None,
    };
    (run, steps, keys)
}
