//! What the shared store code (`src/store/core`) needs from SQLite, and the few statements
//! that have no common form: times as fixed-width text, no row locks (SQLite lets one writer
//! in at a time, through `BEGIN IMMEDIATE`), no notices, multi-row `VALUES` inserts, inputs
//! in their own table, step rows read a page at a time, and the multi-row batch path.

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, SqlitePool};
use tokio::sync::mpsc;

use super::ops::codec::{step_columns, step_from_row, ts_text};
use crate::ids::{RunId, StepId};
use crate::store::error::StoreError;
use crate::store::notice::StoreNotice;
use crate::store::step::{NewStep, StepRecord, StepState};

pub(super) use super::SqliteStore as Store;
pub(super) use super::batch::commit_batched;
pub(super) use sqlx::Sqlite as Db;
pub(super) use sqlx::SqliteConnection as Conn;
pub(super) use sqlx::sqlite::SqliteRow as DbRow;

/// A time as bound and compared in SQL: fixed-width UTC text, so text order is time order.
pub(super) type Ts = String;

/// The pieces of SQL that differ between the backends, as literals for `concat!`.
macro_rules! sql {
    // Text compares byte by byte already.
    (by_bytes) => {
        ""
    };
    // One writer at a time: no claimer can pass over another's rows.
    (skip_locked) => {
        ""
    };
    // A step row, in a condition and in a select list: its `rowid`.
    (row_key) => {
        "rowid"
    };
    (row_key_select) => {
        "rowid"
    };
    // A run's inputs live in `run_inputs`, read only with the run.
    (runs_with_inputs) => {
        "runs JOIN run_inputs ON run_inputs.run_id = runs.id"
    };
    (inputs_column) => {
        ""
    };
    (inputs_parameter) => {
        ""
    };
    // One writer at a time: nothing to lock before reading a run or changing its steps.
    (share_run) => {
        ""
    };
    (lock_run) => {
        ""
    };
}
pub(super) use sql;

/// Whether the run's row holds its inputs (else `runs::insert_run_row` writes `run_inputs`).
pub(super) const INPUTS_IN_RUN_ROW: bool = false;

/// Step rows per `INSERT`: 7 parameters each keeps a statement well under SQLite's limit of
/// 32,766 parameters, and large enough that 100,000 items take 200 statements.
const STEP_ROWS_PER_INSERT: usize = 500;

impl Store {
    /// The pool every write goes through (one connection: see [`SqliteStore`](super::SqliteStore)).
    pub(super) fn writer(&self) -> &SqlitePool {
        &self.writer
    }
}

/// The SQLite result code for "database is locked" (by another connection).
pub(super) const SQLITE_BUSY: i32 = 5;
/// The SQLite result code for "database table is locked".
pub(super) const SQLITE_LOCKED: i32 = 6;
/// The SQLite result code for "attempt to write a readonly database".
const SQLITE_READONLY: i32 = 8;
/// The SQLite result code for "database or disk is full".
const SQLITE_FULL: i32 = 13;
/// The SQLite result code for "file is not a database".
pub(super) const SQLITE_NOTADB: i32 = 26;

/// The primary SQLite result code of a database error, if it is one.
pub(super) fn sqlite_code(error: &sqlx::Error) -> Option<i32> {
    let code = error.as_database_error()?.code()?;
    code.parse::<i32>().ok().map(|code| code & 0xff)
}

/// Whether SQLite refused a write because the file or connection is read-only.
pub(super) fn is_read_only(error: &sqlx::Error) -> bool {
    sqlite_code(error) == Some(SQLITE_READONLY)
}

/// Whether SQLite refused a write because the disk is full.
pub(super) fn is_full(error: &sqlx::Error) -> bool {
    sqlite_code(error) == Some(SQLITE_FULL)
}

/// A time as bound: fixed-width text ([`ts_text`]).
pub(super) fn ts(time: DateTime<Utc>) -> Ts {
    ts_text(time)
}

/// A nullable time as bound.
pub(super) fn opt_ts(time: Option<DateTime<Utc>>) -> Option<Ts> {
    time.map(ts)
}

/// Reads a time back from its text.
pub(super) fn parse_ts(column: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.to_utc())
        .map_err(|_| StoreError::Corrupt {
            column,
            value: text.to_owned(),
        })
}

/// A time column.
pub(super) fn get_ts(row: &DbRow, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
    parse_ts(column, &row.try_get::<String, _>(column)?)
}

/// A nullable time column.
pub(super) fn get_opt_ts(
    row: &DbRow,
    column: &'static str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    row.try_get::<Option<String>, _>(column)?
        .map(|text| parse_ts(column, &text))
        .transpose()
}

/// Nothing to lock: the write transaction already excludes every other writer.
pub(super) async fn lock_runs<'a>(
    _conn: &mut Conn,
    _run_ids: impl IntoIterator<Item = &'a str>,
) -> Result<(), StoreError> {
    Ok(())
}

/// Nothing to send: SQLite has no notices; workers poll.
pub(super) async fn notify(_conn: &mut Conn, _notice: &StoreNotice) -> Result<(), StoreError> {
    Ok(())
}

/// No notices to listen for: workers scan.
pub(super) async fn listen(
    _store: &Store,
) -> Result<Option<mpsc::UnboundedReceiver<StoreNotice>>, StoreError> {
    Ok(None)
}

/// Inserts a run's step rows, `seq` in the given order, with multi-row `VALUES`.
pub(super) async fn insert_step_rows(
    conn: &mut Conn,
    run_id: &RunId,
    steps: &[NewStep],
    now: &Ts,
) -> Result<(), StoreError> {
    let mut seq: i64 = 0;
    for chunk in steps.chunks(STEP_ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO step_runs (run_id, step_id, item_key, seq, state, skip_reason, \
             updated_at) ",
        );
        insert.push_values(chunk, |mut row, step| {
            let state = match step.skip_reason {
                Some(_) => StepState::Skipped,
                None => StepState::Pending,
            };
            row.push_bind(run_id)
                .push_bind(&step.step_id)
                .push_bind(&step.item_key)
                .push_bind(seq)
                .push_bind(state.as_str())
                .push_bind(&step.skip_reason)
                .push_bind(now);
            seq += 1;
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rows per page when a run's step runs are read in pages.
const PAGE_ROWS: i64 = 2_000;

/// Every step run of a run (or of one step of it), read a page at a time inside one read
/// transaction (one snapshot): the rows of a 100,000-item run as SQLite hands them over
/// take several times the memory of the records made from them, so only one page of them
/// exists at a time.
pub(super) async fn load_steps(
    store: &Store,
    run_id: &RunId,
    step_id: Option<&StepId>,
) -> Result<Vec<StepRecord>, StoreError> {
    let mut tx = store.pool.begin().await?;
    // A step's rows are one run of `seq` (a step's items follow its own row): read only
    // that range, through the `(run_id, seq)` index, into a vector sized once (grown a
    // page at a time, 50 MB of records would be copied and reallocated a dozen times).
    let range = match step_id {
        None => sqlx::query(
            "SELECT MIN(seq) AS first, MAX(seq) AS last, COUNT(*) AS n FROM step_runs \
             WHERE run_id = $1",
        )
        .bind(run_id),
        Some(step_id) => sqlx::query(
            "SELECT MIN(seq) AS first, MAX(seq) AS last, COUNT(*) AS n FROM step_runs \
             WHERE run_id = $1 AND step_id = $2",
        )
        .bind(run_id)
        .bind(step_id),
    }
    .fetch_one(&mut *tx)
    .await?;
    let Some(first) = range.try_get::<Option<i64>, _>("first")? else {
        return Ok(Vec::new());
    };
    let (mut after, last) = (first - 1, range.try_get::<i64, _>("last")?);
    let count = usize::try_from(range.try_get::<i64, _>("n")?).unwrap_or(0);
    let mut records = Vec::with_capacity(count);
    loop {
        let rows = sqlx::query(concat!(
            "SELECT ",
            step_columns!(),
            " FROM step_runs WHERE run_id = $1 AND seq > $2 AND seq <= $4 \
             AND ($5 IS NULL OR step_id = $5) ORDER BY seq LIMIT $3"
        ))
        .bind(run_id)
        .bind(after)
        .bind(PAGE_ROWS)
        .bind(last)
        .bind(step_id)
        .fetch_all(&mut *tx)
        .await?;
        let Some(row) = rows.last() else { break };
        after = row.try_get("seq")?;
        for row in &rows {
            records.push(step_from_row(row)?);
        }
        if rows.len() < PAGE_ROWS as usize {
            break;
        }
    }
    tx.rollback().await?;
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::ops::codec::truncate;

    #[test]
    fn times_are_fixed_width_so_text_order_is_time_order() {
        let a = parse_ts("t", "2025-01-31T09:00:00Z").unwrap();
        let b = parse_ts("t", "2025-01-31T09:00:00.5+00:00").unwrap();
        assert_eq!(ts(a), "2025-01-31T09:00:00.000000Z");
        assert_eq!(ts(b), "2025-01-31T09:00:00.500000Z");
        assert!(ts(a) < ts(b));
        let at = parse_ts("t", "2025-03-07T09:10:00.1234567Z").unwrap();
        assert_eq!(ts(truncate(at)), "2025-03-07T09:10:00.123456Z");
        assert_eq!(parse_ts("t", &ts(b)).unwrap(), b);
        assert!(matches!(
            parse_ts("created_at", "yesterday"),
            Err(StoreError::Corrupt {
                column: "created_at",
                ..
            })
        ));
    }
}
