//! The `sluice` command line: one file per command; this module parses and dispatches.

mod exit;
mod graph;
mod report;
mod schema;
mod validate;
mod workflow;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use report::render_plain;

/// sluice: declarative payment workflows, planned for review, run exactly once.
#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about = "Declarative payment workflows: validate, plan, run and resume without paying twice",
    after_help = "Examples:
  sluice validate workflows/*.yaml
  sluice graph workflows/settlement-sweep.yaml --format mermaid
  sluice schema > schemas/workflow.schema.json

Exit status: 0 success, 1 run failed, 2 invalid workflow or usage, 3 needs attention."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check workflow files and report every problem with its line and column.
    Validate(validate::ValidateArgs),
    /// Draw a workflow's step graph as Mermaid or Graphviz dot.
    Graph(graph::GraphArgs),
    /// Print the JSON Schema of workflow files.
    Schema(schema::SchemaArgs),
}

/// Runs the command line and returns the process exit code (DESIGN.md §9).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Schema(args) => schema::run(args),
    }
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
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
