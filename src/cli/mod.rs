//! The `sluice` command line: one file per command; this module parses and dispatches.

use std::process::ExitCode;

/// Runs the command line and returns the process exit code (DESIGN.md §9).
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
