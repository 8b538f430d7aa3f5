//! What the shared store code (`src/store/core`) needs from Postgres, and the few statements
//! that have no common form: TIMESTAMPTZ times, row locks where SQLite has one writer (the
//! run's row first, see [`lock_runs`]; `FOR UPDATE SKIP LOCKED` for claimers), `NOTIFY`,
//! `UNNEST` to insert a run's step rows, inputs in the run's row, byte-wise collation.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, QueryBuilder, Row};

use tokio::sync::mpsc;

use super::claims::notify_shared;
use super::codec::{
    get_count, is_unique_violation, json_text, step_columns, step_from_row, ts_text,
};
use crate::store::batch::WriteBatch;
use crate::store::clock::ttl_delta;
use crate::store::error::StoreError;
use crate::store::notice::StoreNotice;
use crate::store::run::{Lease, NewRun};
use crate::store::step::{NewStep, StepRecord, StepState};

pub(super) use super::PostgresStore as Store;
pub(super) use super::notify::notify;
pub(super) use sqlx::PgConnection as Conn;
pub(super) use sqlx::Postgres as Db;
pub(super) use sqlx::postgres::PgRow as DbRow;

/// A time as bound and compared in SQL: TIMESTAMPTZ.
pub(super) type Ts = DateTime<Utc>;

/// Ids and names compare byte by byte, as in SQLite, whatever the database's collation.
macro_rules! by_bytes {
    () => {
        " COLLATE \"C\""
    };
}
pub(super) use by_bytes;

/// Claimers pass over rows another transaction is claiming or writing, instead of waiting.
macro_rules! skip_locked {
    () => {
        " FOR UPDATE SKIP LOCKED"
    };
}
pub(super) use skip_locked;

/// Names one step row: its primary key, as a row value (`tuple`) or as a select list.
macro_rules! row_key {
    (tuple) => {
        "(run_id, step_id, item_key)"
    };
    (select) => {
        "run_id, step_id, item_key"
    };
}
pub(super) use row_key;

/// Where a run's row and its inputs are read from: its own row holds them.
macro_rules! runs_with_inputs {
    () => {
        "runs"
    };
}
pub(super) use runs_with_inputs;

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

/// Whether Postgres refused a write because the session or the server is read-only.
pub(super) fn is_read_only(error: &sqlx::Error) -> bool {
    let code = error.as_database_error().and_then(|e| e.code());
    code.as_deref() == Some(READ_ONLY_SQL_TRANSACTION)
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

/// A bound time as it appears inside JSON the store writes: the SQLite store's text.
pub(super) fn json_ts(time: &Ts) -> String {
    ts_text(*time)
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

/// Share-locks a run's row before a helper (a worker holding only claims on its items)
/// changes its step rows; `false` when there is no such run. Helpers' transactions then take
/// turns with the holder's fence `UPDATE` and with operator actions, which lock the run's row
/// first (see [`lock_runs`]), so they cannot deadlock with a cancel on the step rows; helpers
/// do not block each other.
pub(super) async fn share_run(conn: &mut Conn, run_id: &str) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT id FROM runs WHERE id = $1 FOR SHARE")
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// A run's status, read with its row locked (see [`lock_runs`]).
pub(super) const RUN_STATUS_FOR_UPDATE: &str =
    "SELECT status FROM runs WHERE id = $1 FOR NO KEY UPDATE";

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

/// Clears `owner`'s claims on the items of `run_id` and tells the other workers which steps
/// have items to take again. Share-locks the run first, as a helper's batch does: an
/// operator's cancel changes the same rows after locking the run, and would otherwise deadlock
/// with this `UPDATE`.
pub(super) async fn release_claims(
    store: &Store,
    run_id: &str,
    owner: &str,
) -> Result<u64, StoreError> {
    let mut tx = store.begin_write().await?;
    if !share_run(&mut tx, run_id).await? {
        return Ok(0);
    }
    let released = sqlx::query(
        "WITH released AS (UPDATE step_runs SET claim_owner = NULL, claim_expires_at = NULL \
           WHERE claim_owner = $1 AND run_id = $2 RETURNING step_id) \
         SELECT step_id, COUNT(*) AS n FROM released GROUP BY step_id \
         ORDER BY step_id COLLATE \"C\"",
    )
    .bind(owner)
    .bind(run_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut count = 0;
    for row in &released {
        let step_id: String = row.try_get("step_id")?;
        notify_shared(&mut tx, run_id, &step_id).await?;
        count += get_count(row, "n")?;
    }
    tx.commit().await?;
    Ok(count)
}

/// Inserts the run's row, inputs included; [`StoreError::RunExists`] if the id is taken.
pub(super) async fn insert_run_row(
    conn: &mut Conn,
    run: &NewRun,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO runs (id, workflow_name, workflow_path, workflow_hash, inputs_hash, \
         inputs_json, plan_hash, status, created_at, updated_at, scheduled_for, lease_owner, \
         lease_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8, $9, $10, $11)",
    )
    .bind(&run.id)
    .bind(&run.workflow_name)
    .bind(&run.workflow_path)
    .bind(&run.workflow_hash)
    .bind(&run.inputs_hash)
    .bind(json_text("inputs_json", &run.inputs)?)
    .bind(&run.plan_hash)
    .bind(now)
    .bind(run.scheduled_for)
    .bind(run.lease.as_ref().map(|l| &l.owner))
    .bind(run.lease.as_ref().map(|l| now + ttl_delta(l.ttl)))
    .execute(&mut *conn)
    .await;
    match inserted {
        Err(error) if is_unique_violation(&error) => Err(StoreError::RunExists {
            run_id: run.id.clone(),
        }),
        other => other.map(drop).map_err(StoreError::from),
    }
}

/// Inserts a run's step rows, `seq` in the given order, as arrays through `UNNEST`.
pub(super) async fn insert_step_rows(
    conn: &mut Conn,
    run_id: &str,
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
    run_id: &str,
    step_id: Option<&str>,
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

#[cfg(test)]
mod tests {
    use chrono::SubsecRound;

    use super::*;
    use crate::store::postgres::codec::truncate;

    #[test]
    fn times_in_json_have_the_sqlite_stores_fixed_width_form() {
        let at = DateTime::parse_from_rfc3339("2025-03-07T09:10:00.1234567Z")
            .unwrap()
            .to_utc();
        assert_eq!(json_ts(&truncate(at)), "2025-03-07T09:10:00.123456Z");
        assert_eq!(
            json_ts(&truncate(at).trunc_subsecs(0)),
            "2025-03-07T09:10:00.000000Z"
        );
    }
}
