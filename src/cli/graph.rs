//! `sluice graph FILE --format mermaid|dot`: draws a workflow's DAG.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{exit, workflow};
use crate::plan::graph::{GraphFormat, render};

/// Draw a workflow's step graph (dependencies from `needs` and template references).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice graph workflows/settlement-sweep.yaml                 # Mermaid, paste into Markdown
  sluice graph workflows/payroll.yaml --format dot | dot -Tsvg > payroll.svg")]
pub struct GraphArgs {
    /// The workflow file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The drawing format.
    #[arg(long, value_enum, default_value = "mermaid")]
    pub format: GraphFormat,
}

/// Runs `graph`.
pub fn run(args: &GraphArgs) -> ExitCode {
    match workflow::load_and_compile(&args.file) {
        Ok((_, compiled)) => {
            super::print_stdout(&render(&compiled, args.format));
            exit::code(exit::SUCCESS)
        }
        Err(workflow::Invalid::Io(e)) => {
            eprintln!("error: {}", super::error_chain(&e));
            exit::code(exit::INVALID)
        }
        Err(workflow::Invalid::Diagnostics(_)) => exit::code(exit::INVALID),
    }
}
