//! The Postgres store: many `sluice` processes, on many machines, sharing one database
//! (`--db postgres://…`).
//!
//! It runs the same store operations as the SQLite store (the shared modules of
//! `src/store/core`, compiled here over `dialect.rs`), with the same statements, guards and
//! errors; what differs stays in here: row-level locking instead of one writer (see
//! `dialect::lock_runs`), `FOR UPDATE SKIP LOCKED` for workers claiming runs and items,
//! `UNNEST` to insert a run's step rows in one statement, TIMESTAMPTZ times, `NOTIFY`
//! (`notify.rs`), and the `sluice_schema` table that marks a schema as sluice's. Schema
//! choices are explained in `migrations/postgres/`.

#[path = "../core/claims.rs"]
mod claims;
#[path = "../core/codec.rs"]
mod codec;
mod dialect;
#[path = "../core/events.rs"]
mod events;
mod notify;
mod open;
#[path = "../core/operator.rs"]
mod operator;
#[path = "../core/runs.rs"]
mod runs;
#[path = "../core/schedule.rs"]
mod schedule;
#[path = "../core/steps.rs"]
mod steps;
#[path = "../core/transitions.rs"]
mod transitions;
#[path = "../core/workers.rs"]
mod workers;

#[cfg(test)]
pub(crate) mod testing;

pub use open::{PostgresConfig, PostgresStore, redact_url, schema_version};
