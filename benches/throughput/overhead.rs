//! The engine's own cost per item: `workflows/payroll.yaml` through `Engine::create` and
//! `Engine::execute` on a fresh SQLite database, against the in-process [`Stub`], so that
//! what remains is rendering, scheduling and the checkpoints of the write protocol
//! (dispatch, two-phase checkpoint, result: three durable writes per item).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sluice::engine::{Engine, EngineOptions, RunSource};
use sluice::ids::RunId;
use sluice::plan::inputs::{Given, resolve};
use sluice::plan::{CompiledWorkflow, compile};
use sluice::providers::Provider;
use sluice::spec::load_file;
use sluice::store::{Durability, RunStatus, SqliteConfig, SqliteStore};

use crate::data::Payroll;
use crate::e2e::{Sync, WORKFLOW, db_bytes, fresh_db};
use crate::stub::Stub;

/// One engine-only run.
#[derive(Debug, Clone, Serialize)]
pub struct OverheadRun {
    /// Payees.
    pub items: usize,
    /// Durability.
    pub sync: Sync,
    /// Concurrency.
    pub concurrency: u32,
    /// `Engine::create`: rendering keys and inserting every row.
    pub create_s: f64,
    /// `Engine::execute`: the batch itself.
    pub execute_s: f64,
    /// (create + execute) / items.
    pub us_per_item: f64,
    /// Items per second over create + execute.
    pub items_per_s: f64,
    /// Provider calls the stub answered.
    pub calls: u64,
    /// The database file plus its WAL after the run.
    pub db_mib: f64,
}

/// Runs the payroll of `payroll` through the engine against the stub.
///
/// # Errors
/// When the workflow, the inputs, the store or the run fail.
pub async fn run(
    root: &Path,
    work: &Path,
    payroll: &Payroll,
    sync: Sync,
    concurrency: u32,
) -> Result<OverheadRun, String> {
    let loaded = load_file(&root.join(WORKFLOW)).map_err(|e| e.to_string())?;
    let compiled = compile(&loaded).map_err(|d| format!("{d:?}"))?;
    let text = std::fs::read_to_string(&payroll.path).map_err(|e| e.to_string())?;
    let given = BTreeMap::from([
        (
            "payees".to_string(),
            Given::File {
                path: payroll.path.display().to_string(),
                text,
            },
        ),
        (
            "budget".to_string(),
            Given::Literal(payroll.total.to_string()),
        ),
    ]);
    let inputs = resolve(&compiled.config.inputs, &given).map_err(|e| format!("{e:?}"))?;

    let name = format!("overhead-{}-{}-c{concurrency}", payroll.rows, sync.env());
    let db = fresh_db(work, &name)?;
    let (store, engine) = engine_on(&db, sync, concurrency).await?;
    let stub = Arc::new(Stub::default());
    let providers: HashMap<String, Arc<dyn Provider>> =
        HashMap::from([("ws".to_string(), stub.clone() as Arc<dyn Provider>)]);

    let source = RunSource {
        path: WORKFLOW,
        text: &loaded.source.text,
        inputs,
        run_id: Some(RunId::from(&name)),
        scheduled_for: None,
        plan_hash: None,
        started_by: "bench".into(),
    };
    let timed = timed_run(&engine, compiled, source, providers).await;
    store.close().await;
    let Timed { create, total } = timed?;
    let total_s = total.as_secs_f64();
    Ok(OverheadRun {
        items: payroll.rows,
        sync,
        concurrency,
        create_s: create.as_secs_f64(),
        execute_s: (total - create).as_secs_f64(),
        us_per_item: total_s * 1e6 / payroll.rows as f64,
        items_per_s: payroll.rows as f64 / total_s,
        calls: stub.calls(),
        db_mib: db_bytes(&db) as f64 / (1024.0 * 1024.0),
    })
}

/// The wall times of one run through the engine.
pub struct Timed {
    /// `Engine::create`: rendering keys and inserting every row.
    pub create: Duration,
    /// `Engine::create` + `Engine::execute`.
    pub total: Duration,
}

/// Creates and executes one run from `source`, timed, and requires it to succeed.
///
/// # Errors
/// When the run cannot be created, fails to execute, or does not end `succeeded`.
pub async fn timed_run(
    engine: &Engine,
    compiled: CompiledWorkflow,
    source: RunSource<'_>,
    providers: HashMap<String, Arc<dyn Provider>>,
) -> Result<Timed, String> {
    let started = Instant::now();
    let run_id = engine
        .create(&compiled, source)
        .await
        .map_err(|e| e.to_string())?;
    let create = started.elapsed();
    let report = engine
        .execute(&run_id, Arc::new(compiled), providers)
        .await
        .map_err(|e| e.to_string())?;
    let total = started.elapsed();
    if report.status != RunStatus::Succeeded {
        return Err(format!(
            "the run `{run_id}` ended {:?}: {:?}",
            report.status, report.messages
        ));
    }
    Ok(Timed { create, total })
}

/// An in-process engine on a fresh SQLite file at `sync`, running `concurrency` items at a
/// time without a progress bar: what the in-process parts of the benchmark measure. The store
/// is returned too, to be closed once the run is read back.
pub async fn engine_on(
    db: &Path,
    sync: Sync,
    concurrency: u32,
) -> Result<(SqliteStore, Engine), String> {
    let durability = match sync {
        Sync::Full => Durability::Full,
        Sync::Normal => Durability::Normal,
    };
    let store = SqliteStore::open(SqliteConfig::new(db).durability(durability))
        .await
        .map_err(|e| e.to_string())?;
    let engine = Engine::new(
        Arc::new(store.clone()),
        EngineOptions {
            concurrency: Some(concurrency),
            progress: false,
            ..EngineOptions::default()
        },
    );
    Ok((store, engine))
}
