//! What the shared store code (`src/store/core`) needs from Postgres, and the few statements
//! that have no common form: TIMESTAMPTZ times, row locks where SQLite has one writer (the
//! run's row first, see [`lock_runs`]; `FOR UPDATE SKIP LOCKED` for claimers), `NOTIFY`,
//! `UNNEST` to insert a run's step rows, inputs in the run's row, byte-wise collation.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, QueryBuilder, Row};
use tokio::sync::mpsc;

use super::ops::codec::{step_columns, step_from_row};
use crate::ids::{RunId, StepId};
use crate::store::batch::WriteBatch;
use crate::store::error::StoreError;
use crate::store::notice::StoreNotice;
use crate::store::run::Lease;
use crate::store::step::{NewStep, StepRecord, StepState};

pub(super) use super::PostgresStore as Store;
pub(super) use super::notify::notify;
pub(super) use sqlx::PgConnection as Conn;
pub(super) use sqlx::Postgres as Db;
pub(super) use sqlx::postgres::PgRow as DbRow;

/// A time as bound and compared in SQL: TIMESTAMPTZ.
pub(super) type Ts = DateTime<Utc>;

/// The pieces of SQL that differ between the backends, as literals for `concat!`.
macro_rules! sql {
    // Ids and names compare byte by byte, as in SQLite, whatever the database's collation.
    (by_bytes) => {
        " COLLATE \"C\""
    };
    // Claimers pass over rows another transaction is claiming or writing, instead of waiting.
    (skip_locked) => {
        " FOR UPDATE SKIP LOCKED"
    };
    // A step row, in a condition and in a select list: its primary key.
    (row_key) => {
        "(run_id, step_id, item_key)"
    };
    (row_key_select) => {
        "run_id, step_id, item_key"
    };
    // A run's row holds its inputs.
    (runs_with_inputs) => {
        "runs"
    };
    (inputs_column) => {
        ", inputs_json"
    };
    (inputs_parameter) => {
        ", $13"
    };
    // Before changing a run's steps: share-lock its row (a helper), or lock it (see
    // [`lock_runs`]).
    (share_run) => {
        " FOR SHARE"
    };
    (lock_run) => {
        " FOR NO KEY UPDATE"
    };
}
pub(super) use sql;

/// Whether the run's row holds its inputs (else `runs::insert_run_row` writes `run_inputs`).
pub(super) const INPUTS_IN_RUN_ROW: bool = true;

/// Step rows per `INSERT … SELECT FROM UNNEST`: one statement carries five arrays, whatever
/// their length, so this only bounds the size of one message to the server.
const STEP_ROWS_PER_INSERT: usize = 10_000;

impl Store {
    /// The pool writes go through: the one pool.
    pub(super) fn writer(&self) -> &PgPool {
        &self.pool
    }
}

/// SQLSTATE `read_only_sql_transaction`: a write in a read-only session or on a standby.
const READ_ONLY_SQL_TRANSACTION: &str = "25006";
/// SQLSTATE `disk_full`.
const DISK_FULL: &str = "53100";

/// Whether Postgres refused a write because the session or the server is read-only.
pub(super) fn is_read_only(error: &sqlx::Error) -> bool {
    let code = error.as_database_error().and_then(|e| e.code());
    code.as_deref() == Some(READ_ONLY_SQL_TRANSACTION)
}

/// Whether PostgreSQL refused a write because its disk is full.
pub(super) fn is_full(error: &sqlx::Error) -> bool {
    let code = error.as_database_error().and_then(|e| e.code());
    code.as_deref() == Some(DISK_FULL)
}

/// A time as bound: as it is.
pub(super) fn ts(time: DateTime<Utc>) -> Ts {
    time
}

/// A nullable time as bound: as it is.
pub(super) fn opt_ts(time: Option<DateTime<Utc>>) -> Option<Ts> {
    time
}

/// A time column.
pub(super) fn get_ts(row: &DbRow, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
    Ok(row.try_get(column)?)
}

/// A nullable time column.
pub(super) fn get_opt_ts(
    row: &DbRow,
    column: &'static str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(row.try_get(column)?)
}

/// Locks the rows of the runs whose steps a transaction is about to change, in id order,
/// before it touches any step row. Every transaction that changes step rows does this first
/// (a batch through its lease fence, operator actions through their run check), so
/// writers of one run's steps take turns, as SQLite's single writer does, and two batches
/// can never each hold a step row the other waits for.
pub(super) async fn lock_runs<'a>(
    conn: &mut Conn,
    run_ids: impl IntoIterator<Item = &'a str>,
) -> Result<(), StoreError> {
    let mut run_ids: Vec<&str> = run_ids.into_iter().collect();
    run_ids.sort_unstable();
    run_ids.dedup();
    if !run_ids.is_empty() {
        sqlx::query("SELECT id FROM runs WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
            .bind(run_ids)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A `LISTEN` connection turning notices back into [`StoreNotice`]s.
pub(super) async fn listen(
    store: &Store,
) -> Result<Option<mpsc::UnboundedReceiver<StoreNotice>>, StoreError> {
    super::notify::listen(&store.pool).await.map(Some)
}

/// No multi-row path: every batch goes row by row, fence first.
pub(super) async fn commit_batched(
    _store: &Store,
    _lease: &Lease,
    _batch: &WriteBatch,
    _now: &Ts,
) -> Result<bool, StoreError> {
    Ok(false)
}

/// Inserts a run's step rows, `seq` in the given order, as arrays through `UNNEST`.
pub(super) async fn insert_step_rows(
    conn: &mut Conn,
    run_id: &RunId,
    steps: &[NewStep],
    now: &Ts,
) -> Result<(), StoreError> {
    let mut seq: i64 = 0;
    for chunk in steps.chunks(STEP_ROWS_PER_INSERT) {
        let mut step_ids = Vec::with_capacity(chunk.len());
        let mut item_keys = Vec::with_capacity(chunk.len());
        let mut seqs = Vec::with_capacity(chunk.len());
        let mut states = Vec::with_capacity(chunk.len());
        let mut skip_reasons = Vec::with_capacity(chunk.len());
        for step in chunk {
            step_ids.push(step.step_id.as_str());
            item_keys.push(step.item_key.as_str());
            seqs.push(seq);
            states.push(match step.skip_reason {
                Some(_) => StepState::Skipped.as_str(),
                None => StepState::Pending.as_str(),
            });
            skip_reasons.push(step.skip_reason.as_deref());
            seq += 1;
        }
        sqlx::query(
            "INSERT INTO step_runs (run_id, step_id, item_key, seq, state, skip_reason, \
             updated_at) \
             SELECT $1, s.step_id, s.item_key, s.seq, s.state, s.skip_reason, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::int8[], $6::text[], $7::text[]) \
               AS s (step_id, item_key, seq, state, skip_reason)",
        )
        .bind(run_id)
        .bind(now)
        .bind(step_ids)
        .bind(item_keys)
        .bind(seqs)
        .bind(states)
        .bind(skip_reasons)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Every step run of a run (or of one step of it), in `seq` order, in one statement (one
/// snapshot).
pub(super) async fn load_steps(
    store: &Store,
    run_id: &RunId,
    step_id: Option<&StepId>,
) -> Result<Vec<StepRecord>, StoreError> {
    let mut query = QueryBuilder::<Db>::new(concat!(
        "SELECT ",
        step_columns!(),
        " FROM step_runs WHERE run_id = "
    ));
    query.push_bind(run_id);
    if let Some(step_id) = step_id {
        query.push(" AND step_id = ").push_bind(step_id);
    }
    query.push(" ORDER BY seq");
    let rows = query.build().fetch_all(&store.pool).await?;
    rows.iter().map(step_from_row).collect()
}
