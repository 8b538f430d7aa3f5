//! `sluice resume RUN`: continues a run from its checkpoints.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use serde_json::{Map, Value};

use super::common::{DbArgs, SandboxFlag, build_providers, finish, notify_run, read_inputs};
use super::{exit, workflow};
use crate::engine::{Engine, EngineError, EngineOptions};
use crate::ids::RunId;
use crate::plan::CompiledWorkflow;
use crate::plan::fingerprint::{inputs_hash, workflow_hash};
use crate::plan::inputs::resolve;
use crate::store::RunRecord;

/// Continue a run from its checkpoints: nothing that succeeded or was skipped runs again;
/// a request whose answer was lost is looked up at the provider before anything is resent.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice resume run_0193f0c2a1b4e5d6c7b8a9f0
  sluice resume run_0193f0c2a1b4e5d6c7b8a9f0 --allow-changed   # the workflow file was edited
  sluice resume run_0193f0c2a1b4e5d6c7b8a9f0 -i cards=@cards.json   # inputs with card data

Exit status: 0 succeeded, 1 failed, 2 invalid, 3 needs attention or waiting.")]
pub struct ResumeArgs {
    /// The run.
    #[arg(value_name = "RUN")]
    pub run_id: RunId,
    /// Run the rest with the workflow file as it is now, even though it changed since the
    /// run started (requests already sent are still checked against what was sent).
    #[arg(long)]
    pub allow_changed: bool,
    /// The inputs the run started with, given again: needed only by a run whose inputs carry
    /// card data, which is stored masked. Inputs that differ from the run's are not used.
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// Read the workflow from this file instead of the path the run started from.
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<PathBuf>,
    /// Most steps and items in flight at once.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
    #[command(flatten)]
    pub sandbox: SandboxFlag,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs `resume`.
///
/// # Errors
/// An unknown run, a changed workflow without `--allow-changed`, a store failure.
pub async fn run(args: &ResumeArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    let record = store.load_run(&args.run_id).await?;
    if record.status == crate::store::RunStatus::Succeeded {
        // A cron job or CI step that resumes a run it already finished has nothing to do.
        println!("run {} already succeeded; nothing to do", record.id);
        return Ok(exit::code(exit::SUCCESS));
    }
    let path = args
        .workflow
        .clone()
        .unwrap_or_else(|| PathBuf::from(&record.workflow_path));
    let Ok((loaded, compiled)) = workflow::load_and_compile(&path).map_err(workflow::report_io)
    else {
        return Ok(exit::code(exit::INVALID));
    };
    let found = workflow_hash(&loaded.source.text);
    if found != record.workflow_hash && !args.allow_changed {
        let e = EngineError::WorkflowChanged {
            run_id: record.id.clone(),
            path: path.display().to_string(),
            expected: record.workflow_hash[..12].to_string(),
            found: found[..12].to_string(),
        };
        eprintln!("error: {e}");
        return Ok(exit::code(exit::INVALID));
    }
    if compiled.config.name != record.workflow_name {
        bail!(
            "`{}` is workflow `{}`, but run `{}` belongs to `{}`",
            path.display(),
            compiled.config.name,
            record.id,
            record.workflow_name
        );
    }
    let sandbox = args.sandbox.start().await?;
    let providers = build_providers(&compiled.config, sandbox.as_ref())?;
    let engine = Engine::new(
        store.clone(),
        EngineOptions {
            concurrency: args.concurrency,
            max_poll: sandbox
                .as_ref()
                .map(|_| std::time::Duration::from_millis(200)),
            ..EngineOptions::default()
        },
    );
    if let Some(inputs) = given_inputs(&args.inputs, &compiled, &record)? {
        engine.hold_inputs(&record.id, inputs);
    }
    println!("run {} resumed", record.id);
    let report = match engine
        .execute(&record.id, Arc::new(compiled), providers)
        .await
    {
        Err(e @ EngineError::InputsHeld { .. }) => {
            eprintln!("error: {e}");
            return Ok(exit::code(exit::INVALID));
        }
        other => other?,
    };
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    notify_run(store, &record.id).await;
    Ok(finish(&report))
}

/// The inputs given again (`--input`), when they are the ones `run` started with; a note
/// when they are not, since the run goes on with its own.
///
/// # Errors
/// An input file that cannot be read, or inputs that do not fit the workflow.
fn given_inputs(
    args: &[String],
    compiled: &CompiledWorkflow,
    run: &RunRecord,
) -> Result<Option<Map<String, Value>>> {
    if args.is_empty() {
        return Ok(None);
    }
    let inputs = resolve(&compiled.config.inputs, &read_inputs(args)?).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow!(lines.join("\n"))
    })?;
    if inputs_hash(&inputs) == run.inputs_hash {
        return Ok(Some(inputs));
    }
    eprintln!(
        "note: the inputs given are not the ones run {} started with; it goes on with its own",
        run.id
    );
    Ok(None)
}
