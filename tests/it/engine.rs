//! The engine end to end: the real binary, a real SQLite file, the sandbox over HTTP.

mod approvals;
mod breaker;
#[cfg(feature = "failpoints")]
mod crash;
pub(crate) mod harness;
mod http;
mod operator;
pub(crate) mod postgres;
mod reconcile;
mod runs;
mod saga;
pub(crate) mod settlement;
mod storage;
mod torture;
mod workers;
