//! `sluice run FILE`: validates, creates a run with every step and item checkpointed, and
//! executes it.

mod receiver;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use super::common::{DbArgs, SandboxFlag, build_providers, finish, notify_run, read_inputs};
use super::operator::operator_name;
use super::resume::ResumeArgs;
use super::{exit, workflow};
use crate::engine::{Engine, EngineError, EngineOptions, RunSource};
use crate::ids::RunId;
use crate::plan::inputs::resolve;
use crate::store::StoreError;
use receiver::RunReceiver;

/// Run a workflow: every step and item is checkpointed before anything is sent, so a run
/// killed at any moment resumes (`sluice resume RUN`) without paying twice.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice run workflows/settlement-sweep.yaml --sandbox
  sluice run workflows/payroll.yaml --sandbox --input payees=@workflows/data/payroll.csv
  sluice run workflows/payroll.yaml --input payees=@payroll.csv --input budget=30000.00
  sluice run workflows/settlement-sweep.yaml --listen 127.0.0.1:9000   # webhooks to /webhooks/ws
  sluice run --plan plan.json        # exactly the plan reviewed with `sluice plan --out plan.json`

Exit status: 0 succeeded, 1 failed, 2 invalid workflow or inputs, 3 needs attention or waiting.")]
pub struct RunArgs {
    /// The workflow file (with `--plan`, the one the plan records unless given).
    #[arg(value_name = "FILE", required_unless_present = "plan")]
    pub file: Option<PathBuf>,
    /// An input: `name=value`, or `name=@file` to read a file (CSV, JSON).
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// Use this run id instead of a generated one (a second run with the same id is refused,
    /// unless `--resume`).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<RunId>,
    /// With `--run-id`: if that run exists, continue it as `sluice resume` would (so a job
    /// can simply be started again after a crash; the run keeps the inputs it started with);
    /// otherwise start it.
    #[arg(long, requires = "run_id", conflicts_with = "plan")]
    pub resume: bool,
    /// Most steps and items in flight at once (overrides the workflow's `concurrency`).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
    /// Where to receive webhooks when the workflow awaits them (`none`: only poll). Default
    /// 127.0.0.1:8787, or a free port with `--sandbox`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Run exactly this reviewed plan (`sluice plan --out`), with the inputs it recorded;
    /// refused when the workflow, an input or a provider block changed since.
    #[arg(long, value_name = "PLAN", conflicts_with_all = ["inputs", "sandbox"])]
    pub plan: Option<PathBuf>,
    /// Create the run and leave it to the `sluice serve` workers on the same database: prints
    /// the run id and exits. A worker claims it at its next scan (`serve --rescan`).
    #[arg(long, conflicts_with_all = ["sandbox", "resume", "listen", "concurrency"])]
    pub detach: bool,
    /// Who starts the run (default `$USER`): shown by `status` and `runs`, and refused as an
    /// approver by approvals that forbid self-approval.
    #[arg(long = "as", value_name = "NAME")]
    pub starter: Option<String>,
    #[command(flatten)]
    pub sandbox: SandboxFlag,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs `run`.
///
/// # Errors
/// Unexpected failures (store, network setup); invalid input is reported and exits 2.
pub async fn run(args: &RunArgs) -> Result<ExitCode> {
    if let (true, Some(run_id)) = (args.resume, &args.run_id) {
        let exists = match args.db.open().await?.load_run(run_id).await {
            Ok(_) => true,
            Err(StoreError::RunNotFound { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        if exists {
            return super::resume::run(&ResumeArgs {
                run_id: run_id.clone(),
                inputs: args.inputs.clone(),
                allow_changed: false,
                workflow: args.file.clone(),
                concurrency: args.concurrency,
                sandbox: args.sandbox.clone(),
                db: args.db.clone(),
            })
            .await;
        }
    }
    let (file, loaded, compiled, inputs, plan_hash) = match &args.plan {
        Some(plan) => match super::plan::verify(plan, args.file.as_deref())? {
            Ok(v) => (v.path, v.loaded, v.compiled, v.inputs, Some(v.plan_hash)),
            Err(code) => return Ok(code),
        },
        None => {
            let file = args
                .file
                .clone()
                .expect("clap requires FILE without --plan");
            let Ok((loaded, compiled)) =
                workflow::load_and_compile(&file).map_err(workflow::report_io)
            else {
                return Ok(exit::code(exit::INVALID));
            };
            let given = match read_inputs(&args.inputs) {
                Ok(given) => given,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return Ok(exit::code(exit::INVALID));
                }
            };
            match resolve(&compiled.config.inputs, &given) {
                Ok(inputs) => (file, loaded, compiled, inputs, None),
                Err(errors) => {
                    for e in errors {
                        eprintln!("error: {e}");
                    }
                    return Ok(exit::code(exit::INVALID));
                }
            }
        }
    };
    let store = args.db.open().await?;
    let path = file.display().to_string();
    let source = RunSource {
        path: &path,
        text: &loaded.source.text,
        inputs,
        run_id: args.run_id.clone(),
        scheduled_for: None,
        plan_hash,
        started_by: operator_name(args.starter.as_deref()),
    };
    if args.detach {
        let engine = Engine::new(store, EngineOptions::default());
        let run_id = match create(engine.enqueue(&compiled, source).await)? {
            Ok(id) => id,
            Err(code) => return Ok(code),
        };
        println!(
            "run {run_id} created; a `sluice serve` worker on this database runs it (`sluice status {run_id}`)"
        );
        return Ok(exit::code(exit::SUCCESS));
    }
    let mut receiver =
        RunReceiver::bind(args.listen.as_deref(), &compiled, args.sandbox.sandbox).await?;
    let sandbox = (args.sandbox)
        .start_with_webhooks(receiver.sandbox_urls(&compiled))
        .await?;
    let providers = build_providers(&compiled.config, sandbox.as_ref())?;
    let wakeups = receiver.start(store.clone(), &providers, &compiled)?;
    let engine = Engine::new(
        store.clone(),
        EngineOptions {
            wakeups,
            concurrency: args.concurrency,
            max_poll: sandbox
                .as_ref()
                .map(|_| std::time::Duration::from_millis(200)),
            ..EngineOptions::default()
        },
    );
    let run_id = match create(engine.create(&compiled, source).await)? {
        Ok(id) => id,
        Err(code) => return Ok(code),
    };
    println!("run {run_id} started ({} steps)", compiled.steps.len());
    let report = engine
        .execute(&run_id, Arc::new(compiled), providers)
        .await?;
    receiver.shutdown().await;
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    notify_run(store, &run_id).await;
    Ok(finish(&report))
}

/// The id of a run just created; a bad `for_each` list (duplicate keys) is reported as invalid
/// input.
fn create(created: Result<RunId, EngineError>) -> Result<Result<RunId, ExitCode>> {
    match created {
        Ok(id) => Ok(Ok(id)),
        Err(e @ (EngineError::ForEach { .. } | EngineError::DetachedCards)) => {
            eprintln!("error: {e}");
            Ok(Err(exit::code(exit::INVALID)))
        }
        Err(e) => Err(e.into()),
    }
}
