//! How values are written to and read back from columns on both backends: JSON as text
//! (numbers keep their exact text), enums by name (an unknown name is corrupt, except an error
//! class, whose set is open), times through the dialect's `get_ts`, and rows decoded into the
//! store's records; and how database errors are named.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde_json::Value;
use sqlx::Row;

use super::dialect::{DbRow, Store, get_opt_ts, get_ts};
use crate::ids::{ItemKey, RunId, StepId};
use crate::sensitive;
use crate::store::attempt::{AttemptRecord, NewAttempt};
use crate::store::class::ErrorClass;
use crate::store::error::StoreError;
use crate::store::event::{EventRecord, NewEvent};
use crate::store::run::{Lease, RunRecord, RunStatus};
use crate::store::step::{StepError, StepKey, StepRecord, StepState};

/// Times are truncated to microseconds, the precision both backends store, so a value handed
/// back to the caller equals the one read later.
pub(in crate::store) fn truncate(time: DateTime<Utc>) -> DateTime<Utc> {
    time.trunc_subsecs(6)
}

/// `2025-01-31T09:00:00.000000Z`: fixed width, so comparing the text compares the instants.
/// SQLite stores times so; both backends write them so inside JSON (an approval's
/// `approved_at`).
pub(in crate::store) fn ts_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl Store {
    /// "Now", from the store's clock, at the precision times are stored with.
    pub(in crate::store) fn now(&self) -> DateTime<Utc> {
        truncate(self.clock.now())
    }

    /// The result of a store call, a read-only refusal named as such: what every trait
    /// method returns.
    pub(in crate::store) async fn classified<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        call.await.map_err(|e| self.classify(e))
    }
}

/// Whether the error is a UNIQUE or PRIMARY KEY violation.
pub(in crate::store) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// Whether the error is a FOREIGN KEY violation.
pub(in crate::store) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}

pub(in crate::store) fn json_text(
    column: &'static str,
    value: &Value,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Json { column, source })
}

/// The stored text of a rendered request: its card data masked ([`sensitive`]), so no card
/// number or verification code is ever written to the store. Its digest is taken of the
/// real request, so a changed card still changes it.
pub(in crate::store) fn request_text(value: &Value) -> Result<String, StoreError> {
    json_text("request_json", &sensitive::mask_value(value))
}

fn get_json(row: &DbRow, column: &'static str) -> Result<Value, StoreError> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|source| StoreError::Json { column, source })
}

pub(in crate::store) fn get_opt_json(
    row: &DbRow,
    column: &'static str,
) -> Result<Option<Value>, StoreError> {
    row.try_get::<Option<String>, _>(column)?
        .map(|text| {
            serde_json::from_str(&text).map_err(|source| StoreError::Json { column, source })
        })
        .transpose()
}

pub(in crate::store) fn parse_step_state(text: &str) -> Result<StepState, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt {
        column: "state",
        value: text.to_owned(),
    })
}

/// A run's `status` column, [`StoreError::Corrupt`] unless it is a [`RunStatus`].
pub(in crate::store) fn parse_run_status(text: &str) -> Result<RunStatus, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt {
        column: "status",
        value: text.to_owned(),
    })
}

/// A column holding a closed set of names (`T`'s `as_str`).
fn get_named<T: std::str::FromStr>(row: &DbRow, column: &'static str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|_| StoreError::Corrupt {
        column,
        value: text,
    })
}

fn get_error(
    row: &DbRow,
    class_column: &'static str,
    message_column: &'static str,
) -> Result<Option<StepError>, StoreError> {
    let class: Option<String> = row.try_get(class_column)?;
    let message: Option<String> = row.try_get(message_column)?;
    Ok(class.map(|class| {
        let Ok(class) = class.parse::<ErrorClass>();
        StepError {
            class,
            message: message.unwrap_or_default(),
        }
    }))
}

/// A non-negative count column.
pub(in crate::store) fn get_count(row: &DbRow, column: &'static str) -> Result<u64, StoreError> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        column,
        value: value.to_string(),
    })
}

fn get_u32(row: &DbRow, column: &'static str) -> Result<u32, StoreError> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| StoreError::Corrupt {
        column,
        value: value.to_string(),
    })
}

/// The columns [`run_from_row`] reads, as a literal for `concat!` (SQL stays `&'static str`).
macro_rules! run_columns {
    () => {
        "id, workflow_name, workflow_path, workflow_hash, \
    inputs_hash, inputs_json, plan_hash, status, created_at, updated_at, finished_at, \
    lease_owner, lease_expires_at, scheduled_for, started_by, error"
    };
}
pub(in crate::store) use run_columns;

/// [`run_columns`] without the inputs (read as JSON `null`): lists of runs never need them, and
/// a run's inputs can be megabytes.
macro_rules! listed_run_columns {
    () => {
        "id, workflow_name, workflow_path, workflow_hash, \
    inputs_hash, 'null' AS inputs_json, plan_hash, status, created_at, updated_at, finished_at, \
    lease_owner, lease_expires_at, scheduled_for, started_by, error"
    };
}
pub(in crate::store) use listed_run_columns;

pub(in crate::store) fn run_from_row(row: &DbRow) -> Result<RunRecord, StoreError> {
    let id: RunId = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    let status = parse_run_status(&status)?;
    let lease = match (
        row.try_get::<Option<String>, _>("lease_owner")?,
        get_opt_ts(row, "lease_expires_at")?,
    ) {
        (Some(owner), Some(expires_at)) => Some(Lease::of_run(id.clone(), owner, expires_at)),
        _ => None,
    };
    Ok(RunRecord {
        workflow_name: row.try_get("workflow_name")?,
        workflow_path: row.try_get("workflow_path")?,
        workflow_hash: row.try_get("workflow_hash")?,
        inputs_hash: row.try_get("inputs_hash")?,
        inputs: get_json(row, "inputs_json")?,
        plan_hash: row.try_get("plan_hash")?,
        status,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
        finished_at: get_opt_ts(row, "finished_at")?,
        lease,
        scheduled_for: get_opt_ts(row, "scheduled_for")?,
        started_by: row.try_get("started_by")?,
        error: row.try_get("error")?,
        id,
    })
}

/// The columns [`step_from_row`] reads, as a literal for `concat!` (SQL stays `&'static str`).
macro_rules! step_columns {
    () => {
        "run_id, step_id, item_key, seq, state, idempotency_key, \
    request_digest, request_json, provider_ref, checkpoint_json, output_json, error_class, \
    error_message, skip_reason, attempts, next_attempt_at, deadline_at, event_id, updated_at"
    };
}
pub(in crate::store) use step_columns;

pub(in crate::store) fn step_from_row(row: &DbRow) -> Result<StepRecord, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(StepRecord {
        key: StepKey {
            run_id: row.try_get("run_id")?,
            step_id: row.try_get("step_id")?,
            item_key: row.try_get("item_key")?,
        },
        seq: row.try_get("seq")?,
        state: parse_step_state(&state)?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_digest: row.try_get("request_digest")?,
        request: get_opt_json(row, "request_json")?,
        provider_ref: row.try_get("provider_ref")?,
        checkpoint: get_opt_json(row, "checkpoint_json")?,
        output: get_opt_json(row, "output_json")?,
        error: get_error(row, "error_class", "error_message")?,
        skip_reason: row.try_get("skip_reason")?,
        attempts: get_u32(row, "attempts")?,
        next_attempt_at: get_opt_ts(row, "next_attempt_at")?,
        deadline_at: get_opt_ts(row, "deadline_at")?,
        event_id: row.try_get("event_id")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

/// The columns [`attempt_from_row`] reads, as a literal for `concat!` (SQL stays `&'static str`).
macro_rules! attempt_columns {
    () => {
        "id, run_id, step_id, item_key, attempt_no, operation, \
    idempotency_key, request_digest, started_at, finished_at, outcome, error_class, \
    error_message, http_status"
    };
}
pub(in crate::store) use attempt_columns;

pub(in crate::store) fn attempt_from_row(row: &DbRow) -> Result<AttemptRecord, StoreError> {
    let http_status = row
        .try_get::<Option<i64>, _>("http_status")?
        .map(|status| {
            u16::try_from(status).map_err(|_| StoreError::Corrupt {
                column: "http_status",
                value: status.to_string(),
            })
        })
        .transpose()?;
    Ok(AttemptRecord {
        id: row.try_get("id")?,
        attempt: NewAttempt {
            key: StepKey {
                run_id: row.try_get("run_id")?,
                step_id: row.try_get("step_id")?,
                item_key: row.try_get("item_key")?,
            },
            attempt_no: get_u32(row, "attempt_no")?,
            operation: get_named(row, "operation")?,
            idempotency_key: row.try_get("idempotency_key")?,
            request_digest: row.try_get("request_digest")?,
            started_at: get_ts(row, "started_at")?,
            finished_at: get_opt_ts(row, "finished_at")?,
            outcome: get_named(row, "outcome")?,
            error: get_error(row, "error_class", "error_message")?,
            http_status,
        },
    })
}

/// The columns [`event_from_row`] reads, as a literal for `concat!` (SQL stays `&'static str`).
macro_rules! event_columns {
    () => {
        "id, provider, dedupe_key, event_type, object_id, \
    payload, signature_ok, received_at, matched_run_id, matched_step_id, matched_item_key"
    };
}
pub(in crate::store) use event_columns;

pub(in crate::store) fn event_from_row(row: &DbRow) -> Result<EventRecord, StoreError> {
    let matched = match (
        row.try_get::<Option<RunId>, _>("matched_run_id")?,
        row.try_get::<Option<StepId>, _>("matched_step_id")?,
        row.try_get::<Option<ItemKey>, _>("matched_item_key")?,
    ) {
        (Some(run_id), Some(step_id), item_key) => Some(StepKey {
            run_id,
            step_id,
            item_key: item_key.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(EventRecord {
        id: row.try_get("id")?,
        event: NewEvent {
            provider: row.try_get("provider")?,
            dedupe_key: row.try_get("dedupe_key")?,
            event_type: row.try_get("event_type")?,
            object_id: row.try_get("object_id")?,
            payload: row.try_get("payload")?,
            signature_ok: row.try_get("signature_ok")?,
        },
        received_at: get_ts(row, "received_at")?,
        matched,
    })
}
