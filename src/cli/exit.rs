//! Process exit codes (README, *Commands*).

use std::process::ExitCode;

/// The run (or command) succeeded.
pub const SUCCESS: u8 = 0;
/// The workflow ran and failed.
pub const FAILED: u8 = 1;
/// Invalid workflow, input or usage; nothing ran.
pub const INVALID: u8 = 2;

/// An exit code as the process returns it.
pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
/// The run stopped and needs an operator (an item in doubt, an approval).
pub const NEEDS_ATTENTION: u8 = 3;
