//! sluice's integration tests: one binary, real HTTP on loopback, real SQLite files.

mod cli_validate;
#[cfg(feature = "console")]
mod console;
mod contract;
mod engine;
mod layers;
mod notify;
mod plan;
mod providers;
mod sandbox;
mod schedule;
mod schema;
mod secrets;
mod sensitive;
mod support;
mod webhooks;
