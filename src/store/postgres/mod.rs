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

mod dialect;
// The shared operations, compiled over this backend's dialect.
mod notify;
mod open;
#[path = "../core/mod.rs"]
mod ops;

#[cfg(test)]
pub(crate) mod testing;

pub use open::{PostgresConfig, PostgresStore, redact_url, schema_version};
