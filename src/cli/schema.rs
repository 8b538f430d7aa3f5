//! `sluice schema`: prints the JSON Schema of workflow files.

use std::path::PathBuf;
use std::process::ExitCode;

use super::exit;
use crate::spec::schema::workflow_schema;

/// Print the JSON Schema of workflow files (the one checked in as
/// `schemas/workflow.schema.json`), for editors and CI linters.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice schema > schemas/workflow.schema.json
  sluice schema --out my-schema.json")]
pub struct SchemaArgs {
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `schema`.
pub fn run(args: &SchemaArgs) -> ExitCode {
    let schema = workflow_schema();
    match &args.out {
        Some(path) => match std::fs::write(path, schema) {
            Ok(()) => exit::code(exit::SUCCESS),
            Err(e) => {
                eprintln!("error: cannot write `{}`: {e}", path.display());
                exit::code(exit::FAILED)
            }
        },
        None => {
            super::print_stdout(&schema);
            exit::code(exit::SUCCESS)
        }
    }
}
