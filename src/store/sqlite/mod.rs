//! The SQLite store: the embedded default (`.sluice/sluice.db`), one file, WAL mode.
//!
//! The store operations are the shared modules of `src/store/core`, compiled here over
//! `dialect.rs`. Everything SQLite-specific stays in here: `BEGIN IMMEDIATE` write
//! transactions, the `application_id` that marks a sluice file, fixed-width text timestamps,
//! pragmas, and the multi-row batch path (`batch.rs`). The SQL itself sticks to what Postgres
//! also accepts (`$n` parameters, `ON CONFLICT`, `RETURNING`).

mod batch;
mod dialect;
// The shared operations, compiled over this backend's dialect.
mod open;
#[path = "../core/mod.rs"]
mod ops;

#[cfg(test)]
mod testing;

pub use open::{Access, DEFAULT_DB_PATH, Durability, SqliteConfig, SqliteStore, schema_version};
