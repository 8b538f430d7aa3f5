//! `sluice validate FILE...`: checks workflow files without running anything.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{exit, workflow};

/// Check workflow files and report every problem with its line and column.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice validate workflows/payroll.yaml
  sluice validate workflows/*.yaml

Exit status: 0 when every file is valid (warnings allowed), 2 otherwise.")]
pub struct ValidateArgs {
    /// Workflow files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Runs `validate`.
pub fn run(args: &ValidateArgs) -> ExitCode {
    let mut invalid = 0;
    for path in &args.files {
        match workflow::load_and_compile(path) {
            Ok((_, compiled)) => {
                let warnings = compiled.warnings.0.len();
                let note = match warnings {
                    0 => String::new(),
                    1 => ", 1 warning".to_string(),
                    n => format!(", {n} warnings"),
                };
                let steps = match compiled.steps.len() {
                    1 => "1 step".to_string(),
                    n => format!("{n} steps"),
                };
                println!("valid: {} ({steps}{note})", path.display());
            }
            Err(workflow::Invalid::Io(e)) => {
                invalid += 1;
                eprintln!("error: {}", super::error_chain(&e));
            }
            Err(workflow::Invalid::Diagnostics(_)) => invalid += 1,
        }
    }
    if invalid > 0 {
        eprintln!("{invalid} of {} files invalid", args.files.len());
        return exit::code(exit::INVALID);
    }
    exit::code(exit::SUCCESS)
}
