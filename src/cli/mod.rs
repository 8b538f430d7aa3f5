//! The `sluice` command line: one file per command; this module parses and dispatches.

mod check;
mod common;
#[cfg(feature = "console")]
mod console;
mod events;
mod exit;
mod graph;
mod migrate;
mod notifications;
mod operator;
mod payments;
mod plan;
mod prune;
mod reconcile;
mod report;
mod resume;
mod retry;
mod run;
mod runs;
mod sandbox;
mod schedule;
mod schema;
mod serve;
mod settle;
mod status;
mod validate;
mod workers;
mod workflow;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub use report::render_plain;

/// sluice: declarative payment workflows, planned for review, run exactly once.
#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about = "Declarative payment workflows: validate, plan, run and resume without paying twice",
    after_help = "Examples:
  sluice run workflows/settlement-sweep.yaml --sandbox
  sluice run workflows/payroll.yaml --sandbox --input payees=@workflows/data/payroll.csv
  sluice status RUN
  sluice validate workflows/*.yaml
  sluice sandbox                     # the four providers on 127.0.0.1:8788
  sluice serve                       # webhooks on 127.0.0.1:8787; resumes runs

Exit status: 0 success, 1 run failed, 2 invalid workflow or usage, 3 needs attention."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check workflow files and report every problem with its line and column.
    Validate(validate::ValidateArgs),
    /// Check each provider block's credentials with one cheap authenticated call.
    Check(check::CheckArgs),
    /// Show what a run would send, for review, without sending anything.
    Plan(plan::PlanArgs),
    /// Run a workflow, checkpointing every step and item.
    Run(run::RunArgs),
    /// Continue a run from its checkpoints.
    Resume(resume::ResumeArgs),
    /// Show a run's steps, items, errors and what to do next.
    Status(status::StatusArgs),
    /// Report a run's payments for finance: one row each, with totals per asset and state.
    Report(payments::ReportArgs),
    /// Compare payments with the providers' own records, read-only.
    Reconcile(reconcile::ReconcileArgs),
    /// Learn which of a run's committed payments settled or failed after commit.
    Settle(settle::SettleArgs),
    /// List runs.
    Runs(runs::RunsArgs),
    /// Approve a waiting approval step.
    Approve(operator::ApproveArgs),
    /// Deny a waiting approval step: it fails, and the run with it.
    Deny(operator::DenyArgs),
    /// Decide what happened to a step or item that needs attention.
    Resolve(operator::ResolveArgs),
    /// Dismiss an open reconciliation discrepancy, with a reason.
    Dismiss(operator::DismissArgs),
    /// List the notifications runs sent or owe, or deliver the due ones now.
    Notifications(notifications::NotificationsArgs),
    /// Cancel a run.
    Cancel(operator::CancelArgs),
    /// Re-run only what failed, keeping every success.
    Retry(retry::RetryArgs),
    /// Delete finished runs older than a date, keeping an audit row per payment if asked.
    Prune(prune::PruneArgs),
    /// Draw a workflow's step graph as Mermaid or Graphviz dot.
    Graph(graph::GraphArgs),
    /// Print the JSON Schema of workflow files.
    Schema(schema::SchemaArgs),
    /// Show when scheduled workflows fire next.
    Schedule(schedule::ScheduleArgs),
    /// Run a local emulator of the four payment providers.
    Sandbox(sandbox::SandboxArgs),
    /// Apply pending schema migrations to the checkpoint database.
    Migrate(migrate::MigrateArgs),
    /// Receive webhooks, serve `/healthz` and `/metrics`, and claim and continue runs.
    Serve(serve::ServeArgs),
    /// List the `serve` workers sharing the database and the runs each one holds.
    Workers(workers::WorkersArgs),
    /// List received webhook events, or redeliver one (`events replay ID`).
    Events(events::EventsArgs),
    /// Serve the operator console for a database (`serve` serves it too).
    #[cfg(feature = "console")]
    Console(console::ConsoleArgs),
}

/// Runs the command line and returns the process exit code (README, *Commands*).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Schedule(args) => schedule::run(&args),
        command => {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return exit::code(exit::FAILED);
                }
            };
            let result = runtime.block_on(async move {
                match command {
                    Command::Check(args) => check::run(&args).await,
                    Command::Plan(args) => plan::run(&args),
                    Command::Run(args) => run::run(&args).await,
                    Command::Resume(args) => resume::run(&args).await,
                    Command::Status(args) => status::run(&args).await,
                    Command::Report(args) => payments::run(&args).await,
                    Command::Reconcile(args) => reconcile::run(&args).await,
                    Command::Settle(args) => settle::run(&args).await,
                    Command::Runs(args) => runs::run(&args).await,
                    Command::Approve(args) => operator::approve(&args).await,
                    Command::Deny(args) => operator::deny(&args).await,
                    Command::Notifications(args) => notifications::run(&args).await,
                    Command::Resolve(args) => operator::resolve(&args).await,
                    Command::Cancel(args) => operator::cancel(&args).await,
                    Command::Dismiss(args) => operator::dismiss(&args).await,
                    Command::Retry(args) => retry::run(&args).await,
                    Command::Prune(args) => prune::run(&args).await,
                    Command::Migrate(args) => migrate::run(&args).await,
                    Command::Sandbox(args) => {
                        sandbox::run(args).await.map(|()| exit::code(exit::SUCCESS))
                    }
                    Command::Serve(args) => serve::run(&args).await,
                    Command::Workers(args) => workers::run(&args).await,
                    Command::Events(args) => events::run(&args).await,
                    #[cfg(feature = "console")]
                    Command::Console(args) => console::run(&args).await,
                    Command::Validate(_)
                    | Command::Graph(_)
                    | Command::Schema(_)
                    | Command::Schedule(_) => {
                        unreachable!("handled without a runtime")
                    }
                }
            });
            match result {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {}", error_chain(e.as_ref()));
                    exit::code(usage_or_failure(&e))
                }
            }
        }
    }
}

/// Refusals that mean "nothing ran" (a run held by another process, an unknown run, a
/// database that is not sluice's) exit 2; anything else that went wrong exits 1.
fn usage_or_failure(e: &anyhow::Error) -> u8 {
    use crate::store::StoreError;
    let store = e
        .chain()
        .find_map(|c| c.downcast_ref::<StoreError>())
        .or_else(|| {
            e.chain()
                .find_map(|c| c.downcast_ref::<crate::engine::EngineError>())
                .and_then(|ee| match ee {
                    crate::engine::EngineError::Store(s) => Some(s),
                    _ => None,
                })
        });
    match store {
        Some(
            StoreError::Leased { .. }
            | StoreError::RunNotFound { .. }
            | StoreError::StepNotFound { .. }
            | StoreError::NotADatabase { .. }
            | StoreError::ForeignDatabase { .. }
            | StoreError::NewerSchema { .. }
            | StoreError::InvalidAction { .. }
            | StoreError::ApprovalRefused { .. }
            | StoreError::DiscrepancyNotOpen { .. }
            | StoreError::RunExists { .. },
        ) => exit::INVALID,
        _ => exit::FAILED,
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("sluice=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour())
        .with_target(false);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.without_time().compact().init(),
    }
}

/// Colour only on a terminal, and never with `NO_COLOR`.
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Writes `text` to stdout; a closed pipe (`sluice graph … | head`) is not an error.
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to stdout: {e}");
    }
}

/// An error and its causes on one line: `cannot read `x`: No such file or directory`.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
