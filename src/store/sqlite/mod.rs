//! The SQLite store: the embedded default (`.sluice/sluice.db`), one file, WAL mode.
//!
//! Everything SQLite-specific stays in here: `BEGIN IMMEDIATE` write transactions, the
//! `application_id` that marks a sluice file, fixed-width text timestamps, pragmas. The SQL
//! itself sticks to what Postgres also accepts (`$n` parameters, `ON CONFLICT`, `RETURNING`).

mod batch;
mod claims;
mod codec;
mod events;
mod open;
mod operator;
mod runs;
mod schedule;
mod steps;
mod transitions;
mod workers;

#[cfg(test)]
mod testing;

pub use open::{Access, DEFAULT_DB_PATH, Durability, SqliteConfig, SqliteStore, schema_version};
