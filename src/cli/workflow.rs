//! Loading and compiling a workflow file for a command, printing any diagnostics.

use std::path::Path;

use crate::plan::{CompiledWorkflow, compile};
use crate::spec::{LoadError, Loaded, load_file};

use super::report;

/// Why a command could not get a compiled workflow; the diagnostics are already printed.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// The file could not be read.
    #[error(transparent)]
    Io(LoadError),
    /// The file has errors, printed to stderr.
    #[error("`{0}` is invalid")]
    Diagnostics(String),
}

/// Loads and compiles `path`, printing errors and warnings to stderr.
///
/// # Errors
/// [`Invalid`] when the file cannot be read or has errors.
pub fn load_and_compile(path: &Path) -> Result<(Loaded, CompiledWorkflow), Invalid> {
    let loaded = match load_file(path) {
        Ok(l) => l,
        Err(LoadError::Invalid(failure)) => {
            report::eprint(&failure.source, &failure.diagnostics);
            return Err(Invalid::Diagnostics(failure.source.name));
        }
        Err(e) => return Err(Invalid::Io(e)),
    };
    match compile(&loaded) {
        Ok(compiled) => {
            report::eprint(&loaded.source, &compiled.warnings);
            Ok((loaded, compiled))
        }
        Err(diagnostics) => {
            report::eprint(&loaded.source, &diagnostics);
            Err(Invalid::Diagnostics(loaded.source.name))
        }
    }
}

/// Prints an unreadable file's error; diagnostics were printed already. For
/// `load_and_compile(..).map_err(report_io)`.
pub fn report_io(e: Invalid) -> Invalid {
    if let Invalid::Io(io) = &e {
        eprintln!("error: {}", super::error_chain(io));
    }
    e
}
