//! Why a sandbox could not start.

use std::net::SocketAddr;
use std::path::PathBuf;

/// A sandbox failed to start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The listening socket could not be bound.
    #[error("cannot listen on `{addr}`")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is unusable.
    #[error("invalid sandbox configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// A faults file could not be read.
    #[error("cannot read the faults file `{path}`")]
    FaultsRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A faults file is not valid YAML for [`super::Faults`].
    #[error("invalid faults file `{path}`")]
    FaultsParse {
        /// The file.
        path: PathBuf,
        /// The YAML error.
        #[source]
        source: serde_yaml::Error,
    },
}
