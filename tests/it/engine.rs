//! The engine end to end: the real binary, a real SQLite file, the sandbox over HTTP.

mod harness;
mod runs;
#[cfg(feature = "failpoints")]
mod crash;
