//! The guarded state changes of step runs, one transaction per [`WriteBatch`].
//!
//! Every change is an `UPDATE … WHERE state IN (the states it may come from)`, the states
//! from the table in [`Transition`]; a row that does not match is explained (missing, wrong state, changed request) and the whole batch is rolled
//! back, so a batch is never half applied. [`StepStore`](crate::store::StepStore) in `steps.rs`
//! exposes these. On SQLite, `batch.rs` writes the common batches with multi-row statements
//! first ([`commit_batched`](super::dialect::commit_batched)).
//!
//! Where SQLite serialises whole write transactions, Postgres locks rows: every transaction
//! that changes steps first locks their run's row ([`lock_runs`]; a batch does it with its
//! lease fence, which also holds off any lease change until the batch commits), so writers of
//! one run take turns and cannot deadlock on step rows. A guarded `UPDATE` is then checked
//! against the committed row, so two processes can never both move one step out of the same
//! state.
//!
//! Items of a shared step are also fenced by their claims: every engine update carries
//! [`claimed!`], so it commits only while its writer's claim on the row holds (or, for the
//! run's holder, while nobody claims the row). A helper, which holds no run, only checks (on
//! Postgres: share-locks) the run's row (see [`fence`]).

use sqlx::Row;

use super::codec::{is_foreign_key_violation, json_text, parse_step_state, request_text};
use super::dialect::{Conn, Db, Store, Ts, commit_batched, lock_runs, opt_ts, sql, ts};
use crate::digest::{changed_fields, request_digest};
use crate::ids::{ItemKey, RunId, StepId};
use crate::store::amount::AmountColumns;
use crate::store::attempt::NewAttempt;
use crate::store::batch::WriteBatch;
use crate::store::claim::{claim_lost, claimed};
use crate::store::error::StoreError;
use crate::store::operator::{RESET_FAILED, clear_redrive};
use crate::store::run::Lease;
use crate::store::step::{
    Attention, Checkpoint, Dispatch, Outcome, RetryLater, Skip, StepKey, StepResult, StepState,
    Waiting,
};
use crate::store::transition::{Transition, guarded};

/// Who writes a step row under the claim fence: the lease's owner (holding the run or only
/// its claims), at `now`.
pub(in crate::store) type Writer<'a> = (&'a Lease, &'a Ts);

/// Why a guarded update matched no row: the step does not exist, the writer's claim does not
/// cover it (`writer`: an engine's write; operators write without claims), or its state does
/// not allow becoming `to`.
pub(in crate::store) async fn refusal(
    conn: &mut Conn,
    key: &StepKey,
    to: StepState,
    writer: Option<Writer<'_>>,
) -> StoreError {
    let row = sqlx::query(
        "SELECT state, claim_owner, claim_expires_at FROM step_runs \
         WHERE run_id = $1 AND step_id = $2 AND item_key = $3",
    )
    .bind(&key.run_id)
    .bind(&key.step_id)
    .bind(&key.item_key)
    .fetch_optional(&mut *conn)
    .await;
    let row = match row {
        Ok(Some(row)) => row,
        Ok(None) => return StoreError::StepNotFound { key: key.clone() },
        Err(error) => return error.into(),
    };
    if let Some((lease, now)) = writer {
        let claim = match (row.try_get("claim_owner"), row.try_get("claim_expires_at")) {
            (Ok(owner), Ok(expires_at)) => (owner, expires_at),
            (Err(error), _) | (_, Err(error)) => return error.into(),
        };
        if let Some(lost) = claim_lost::<Ts>(key, lease, claim, now.to_owned()) {
            return lost;
        }
    }
    let state = row.try_get::<String, _>("state");
    match state
        .map_err(StoreError::from)
        .and_then(|s| parse_step_state(&s))
    {
        Ok(from) => StoreError::InvalidTransition {
            key: key.clone(),
            from,
            to,
        },
        Err(error) => error,
    }
}

/// An engine's guarded update of one row, its own parameters bound: what [`update_row`] runs.
type RowUpdate = sqlx::query::Query<'static, Db, <Db as sqlx::Database>::Arguments>;

/// Runs `query`, the guarded update of `change` on `key`, binding its last parameters (the
/// row's key, then the writer's claim fence, as [`claimed!`] reads them), and fails with
/// [`refusal`] unless it changed exactly one row.
async fn update_row(
    conn: &mut Conn,
    query: RowUpdate,
    key: &StepKey,
    change: Transition,
    writer: Writer<'_>,
) -> Result<(), StoreError> {
    let lease = writer.0;
    let result = query
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&key.item_key)
        .bind(&lease.owner)
        .bind(lease.holds_run())
        .execute(&mut *conn)
        .await?;
    if result.rows_affected() == 1 {
        Ok(())
    } else {
        Err(refusal(conn, key, change.to(), Some(writer)).await)
    }
}

pub(in crate::store) async fn insert_attempt(
    conn: &mut Conn,
    attempt: &NewAttempt,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO attempts (run_id, step_id, item_key, attempt_no, operation, \
         idempotency_key, request_digest, started_at, finished_at, outcome, error_class, \
         error_message, http_status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&attempt.key.run_id)
    .bind(&attempt.key.step_id)
    .bind(&attempt.key.item_key)
    .bind(i64::from(attempt.attempt_no))
    .bind(attempt.operation.as_str())
    .bind(&attempt.idempotency_key)
    .bind(&attempt.request_digest)
    .bind(ts(attempt.started_at))
    .bind(opt_ts(attempt.finished_at))
    .bind(attempt.outcome.as_str())
    .bind(attempt.error.as_ref().map(|e| e.class.as_str()))
    .bind(attempt.error.as_ref().map(|e| e.message.as_str()))
    .bind(attempt.http_status.map(i64::from))
    .execute(&mut *conn)
    .await
    .map_err(|error| {
        if is_foreign_key_violation(&error) {
            StoreError::StepNotFound {
                key: attempt.key.clone(),
            }
        } else {
            error.into()
        }
    })?;
    Ok(())
}

/// The fence of a batch: only the current, unexpired holder of the run's lease may write its
/// steps (and so let requests out). Stamps the run's `updated_at` when it holds; on Postgres
/// that `UPDATE` locks the run's row, which every transaction that changes the run's steps
/// does first (see [`lock_runs`]).
///
/// An [`items`](Lease::items) lease holds no run: each row it writes is fenced by its claim
/// instead ([`claimed!`]); the run must still exist ([`share_run`]).
async fn fence(conn: &mut Conn, lease: &Lease, now: &Ts) -> Result<(), StoreError> {
    if !lease.holds_run() {
        if share_run(conn, &lease.run_id).await? {
            return Ok(());
        }
        return Err(StoreError::RunNotFound {
            run_id: lease.run_id.clone(),
        });
    }
    let held = sqlx::query(
        "UPDATE runs SET updated_at = $1 \
         WHERE id = $2 AND lease_owner = $3 AND lease_expires_at > $1",
    )
    .bind(now)
    .bind(&lease.run_id)
    .bind(&lease.owner)
    .execute(&mut *conn)
    .await?;
    if held.rows_affected() == 1 {
        return Ok(());
    }
    let row = sqlx::query("SELECT lease_owner FROM runs WHERE id = $1")
        .bind(&lease.run_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::RunNotFound {
            run_id: lease.run_id.clone(),
        })?;
    Err(StoreError::LeaseLost {
        run_id: lease.run_id.clone(),
        owner: lease.owner.clone(),
        holder: row
            .try_get::<Option<String>, _>("lease_owner")?
            .filter(|holder| *holder != lease.owner),
    })
}

/// Whether the run exists, read before a helper (a worker holding only claims on its items)
/// changes its step rows. On Postgres this share-locks the run's row: helpers' transactions
/// then take turns with the holder's fence `UPDATE` and with operator actions, which lock the
/// run's row first (see [`lock_runs`]), so they cannot deadlock with a cancel on the step
/// rows; helpers do not block each other.
pub(in crate::store) async fn share_run(
    conn: &mut Conn,
    run_id: &RunId,
) -> Result<bool, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT id FROM runs WHERE id = $1",
        sql!(share_run)
    ))
    .bind(run_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// `failed → pending` for a run, optionally narrowed to a step and an item.
pub(in crate::store) async fn reset_failed(
    conn: &mut Conn,
    run_id: &RunId,
    step_id: Option<&StepId>,
    item_key: Option<&ItemKey>,
    now: &Ts,
) -> Result<u64, StoreError> {
    let result = sqlx::query(guarded!(Transition::RetryFailed, RESET_FAILED))
        .bind(now)
        .bind(run_id)
        .bind(step_id)
        .bind(item_key)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected())
}

/// Applies `batch` row by row inside the caller's write transaction, fence first: the path
/// that names a refusal exactly (the multi-row path in `batch.rs` falls back to it).
pub(in crate::store) async fn apply_rows(
    conn: &mut Conn,
    lease: &Lease,
    batch: &WriteBatch,
    now: &Ts,
) -> Result<(), StoreError> {
    fence(conn, lease, now).await?;
    dispatch_rows(conn, lease, &batch.dispatches, now).await?;
    checkpoint_rows(conn, &batch.checkpoints, (lease, now)).await?;
    result_rows(conn, &batch.results, (lease, now)).await?;
    apply_rest(conn, batch, (lease, now)).await
}

/// The kinds of `batch` that have no multi-row statement (they are rare on the hot path):
/// retries, skips, waits and attention, row by row, in that order.
pub(in crate::store) async fn apply_rest(
    conn: &mut Conn,
    batch: &WriteBatch,
    writer: Writer<'_>,
) -> Result<(), StoreError> {
    retry_rows(conn, &batch.retries, writer).await?;
    skip_rows(conn, &batch.skips, writer).await?;
    waiting_rows(conn, &batch.waiting, writer).await?;
    attention_rows(conn, &batch.attention, writer).await
}

async fn dispatch_rows(
    conn: &mut Conn,
    lease: &Lease,
    batch: &[Dispatch],
    now: &Ts,
) -> Result<(), StoreError> {
    for item in batch {
        let digest = request_digest(&item.request);
        let request = request_text(&item.request)?;
        // A step already dispatching is re-sent only with its key and request.
        let sql = guarded!(
            Transition::Dispatch,
            concat!(
                "UPDATE step_runs SET state = {to}, idempotency_key = $1, ",
                clear_redrive!(),
                "request_digest = $2, request_json = $3, attempts = attempts + 1, \
                 next_attempt_at = NULL, updated_at = $4, \
                 asset = $10, amount_units = $11, amount_scale = $12 \
                 WHERE run_id = $5 AND step_id = $6 AND item_key = $7 AND {guard} \
                   AND (state = 'pending' OR (idempotency_key = $1 AND request_digest = $2))",
                claimed!(8, 4, 9)
            )
        );
        let amount = AmountColumns::of(Some(&item.request));
        let result = sqlx::query(sql)
            .bind(&item.idempotency_key)
            .bind(&digest)
            .bind(request)
            .bind(now)
            .bind(&lease.run_id)
            .bind(&item.step_id)
            .bind(&item.item_key)
            .bind(&lease.owner)
            .bind(lease.holds_run())
            .bind(amount.asset)
            .bind(amount.units)
            .bind(amount.scale)
            .execute(&mut *conn)
            .await?;
        if result.rows_affected() == 0 {
            let key = StepKey::item(&lease.run_id, &item.step_id, &item.item_key);
            return Err(dispatch_refusal(conn, key, item, (lease, now)).await);
        }
    }
    Ok(())
}

async fn checkpoint_rows(
    conn: &mut Conn,
    batch: &[Checkpoint],
    writer: Writer<'_>,
) -> Result<(), StoreError> {
    let now = writer.1;
    for item in batch {
        let sql = guarded!(
            Transition::Checkpoint,
            concat!(
                "UPDATE step_runs SET state = {to}, provider_ref = $1, checkpoint_json = $2, \
                 updated_at = $3 \
                 WHERE run_id = $4 AND step_id = $5 AND item_key = $6 AND {guard}",
                claimed!(7, 3, 8)
            )
        );
        let query = sqlx::query(sql)
            .bind(&item.provider_ref)
            .bind(json_text("checkpoint_json", &item.checkpoint)?)
            .bind(now);
        update_row(conn, query, &item.key, Transition::Checkpoint, writer).await?;
    }
    Ok(())
}

async fn result_rows(
    conn: &mut Conn,
    batch: &[StepResult],
    writer: Writer<'_>,
) -> Result<(), StoreError> {
    let now = writer.1;
    for item in batch {
        let (query, change) = match &item.outcome {
            Outcome::Succeeded {
                output,
                provider_ref,
            } => {
                let sql = guarded!(
                    Transition::Succeed,
                    concat!(
                        "UPDATE step_runs SET state = {to}, output_json = $1, \
                         provider_ref = COALESCE($2, provider_ref), error_class = NULL, \
                         error_message = NULL, next_attempt_at = NULL, \
                         claim_owner = NULL, claim_expires_at = NULL, updated_at = $3 \
                         WHERE run_id = $4 AND step_id = $5 AND item_key = $6 AND {guard}",
                        claimed!(7, 3, 8)
                    )
                );
                let output = json_text("output_json", output)?;
                let query = sqlx::query(sql).bind(output).bind(provider_ref);
                (query.bind(now), Transition::Succeed)
            }
            Outcome::Failed(error) => {
                let sql = guarded!(
                    Transition::Fail,
                    concat!(
                        "UPDATE step_runs SET state = {to}, error_class = $1, \
                         error_message = $2, next_attempt_at = NULL, \
                         claim_owner = NULL, claim_expires_at = NULL, updated_at = $3 \
                         WHERE run_id = $4 AND step_id = $5 AND item_key = $6 AND {guard}",
                        claimed!(7, 3, 8)
                    )
                );
                let query = sqlx::query(sql)
                    .bind(error.class.as_str())
                    .bind(&error.message);
                (query.bind(now), Transition::Fail)
            }
        };
        update_row(conn, query, &item.key, change, writer).await?;
        if let Some(attempt) = &item.attempt {
            insert_attempt(conn, attempt).await?;
        }
    }
    Ok(())
}

async fn retry_rows(
    conn: &mut Conn,
    batch: &[RetryLater],
    writer: Writer<'_>,
) -> Result<(), StoreError> {
    let now = writer.1;
    for item in batch {
        let sql = guarded!(
            Transition::RetryLater,
            concat!(
                "UPDATE step_runs SET \
                 state = CASE WHEN state = 'dispatching' THEN {to} ELSE state END, \
                 error_class = $1, error_message = $2, next_attempt_at = $3, updated_at = $4 \
                 WHERE run_id = $5 AND step_id = $6 AND item_key = $7 AND {guard}",
                claimed!(8, 4, 9)
            )
        );
        let query = sqlx::query(sql)
            .bind(item.error.class.as_str())
            .bind(&item.error.message)
            .bind(ts(item.next_attempt_at))
            .bind(now);
        update_row(conn, query, &item.key, Transition::RetryLater, writer).await?;
        if let Some(attempt) = &item.attempt {
            insert_attempt(conn, attempt).await?;
        }
    }
    Ok(())
}

async fn waiting_rows(
    conn: &mut Conn,
    batch: &[Waiting],
    writer: Writer<'_>,
) -> Result<(), StoreError> {
    let now = writer.1;
    for item in batch {
        let sql = guarded!(
            Transition::Wait,
            concat!(
                "UPDATE step_runs SET state = {to}, \
                 request_json = COALESCE($1, request_json), \
                 asset = CASE WHEN $1 IS NULL THEN asset ELSE $2 END, \
                 amount_units = CASE WHEN $1 IS NULL THEN amount_units ELSE $3 END, \
                 amount_scale = CASE WHEN $1 IS NULL THEN amount_scale ELSE $4 END, \
                 next_attempt_at = $5, deadline_at = $6, event_id = NULL, updated_at = $7 \
                 WHERE run_id = $8 AND step_id = $9 AND item_key = $10 AND {guard}",
                claimed!(11, 7, 12)
            )
        );
        let amount = AmountColumns::of(item.request.as_ref());
        let query = sqlx::query(sql)
            .bind(item.request.as_ref().map(request_text).transpose()?)
            .bind(amount.asset)
            .bind(amount.units)
            .bind(amount.scale)
            .bind(opt_ts(item.next_check_at))
            .bind(opt_ts(item.deadline_at))
            .bind(now);
        update_row(conn, query, &item.key, Transition::Wait, writer).await?;
    }
    Ok(())
}

async fn skip_rows(conn: &mut Conn, batch: &[Skip], writer: Writer<'_>) -> Result<(), StoreError> {
    let now = writer.1;
    for item in batch {
        let sql = guarded!(
            Transition::Skip,
            concat!(
                "UPDATE step_runs SET state = {to}, skip_reason = $1, next_attempt_at = NULL, \
                 claim_owner = NULL, claim_expires_at = NULL, updated_at = $2 \
                 WHERE run_id = $3 AND step_id = $4 AND item_key = $5 AND {guard}",
                claimed!(6, 2, 7)
            )
        );
        let query = sqlx::query(sql).bind(&item.reason).bind(now);
        update_row(conn, query, &item.key, Transition::Skip, writer).await?;
    }
    Ok(())
}

async fn attention_rows(
    conn: &mut Conn,
    batch: &[Attention],
    writer: Writer<'_>,
) -> Result<(), StoreError> {
    let now = writer.1;
    for item in batch {
        let sql = guarded!(
            Transition::Attention,
            concat!(
                "UPDATE step_runs SET state = {to}, error_class = 'needs_attention', \
                 error_message = $1, next_attempt_at = NULL, \
                 claim_owner = NULL, claim_expires_at = NULL, updated_at = $2 \
                 WHERE run_id = $3 AND step_id = $4 AND item_key = $5 AND {guard}",
                claimed!(6, 2, 7)
            )
        );
        let query = sqlx::query(sql).bind(&item.message).bind(now);
        update_row(conn, query, &item.key, Transition::Attention, writer).await?;
    }
    Ok(())
}

impl Store {
    /// [`StepStore::commit_batch`](crate::store::StepStore::commit_batch): on SQLite the
    /// multi-row statements of `batch.rs` when every row matches its guard; else (and always
    /// on Postgres) the batch row by row in one transaction, fence first, which names any
    /// refusal.
    pub(in crate::store) async fn commit_batch_inner(
        &self,
        lease: &Lease,
        batch: &WriteBatch,
    ) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        batch.check_run(lease)?;
        let now = ts(self.now());
        if commit_batched(self, lease, batch, &now).await? {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        apply_rows(&mut tx, lease, batch, &now).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(in crate::store) async fn reset_failed_items_inner(
        &self,
        run_id: &RunId,
        step_id: Option<&StepId>,
    ) -> Result<u64, StoreError> {
        let now = ts(self.now());
        let mut tx = self.begin_write().await?;
        lock_runs(&mut tx, [run_id.as_str()]).await?;
        let count = reset_failed(&mut tx, run_id, step_id, None, &now).await?;
        tx.commit().await?;
        Ok(count)
    }

    pub(in crate::store) async fn record_attempts_inner(
        &self,
        batch: &[NewAttempt],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for attempt in batch {
            insert_attempt(&mut tx, attempt).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Why a dispatch matched no row; for a step already dispatching (under the writer's claim),
/// names what changed.
async fn dispatch_refusal(
    conn: &mut Conn,
    key: StepKey,
    item: &Dispatch,
    writer: Writer<'_>,
) -> StoreError {
    let refused = refusal(conn, &key, Transition::Dispatch.to(), Some(writer)).await;
    if !matches!(
        refused,
        StoreError::InvalidTransition {
            from: StepState::Dispatching,
            ..
        }
    ) {
        return refused;
    }
    let row = sqlx::query(
        "SELECT idempotency_key, request_digest, request_json FROM step_runs \
         WHERE run_id = $1 AND step_id = $2 AND item_key = $3",
    )
    .bind(&key.run_id)
    .bind(&key.step_id)
    .bind(&key.item_key)
    .fetch_one(&mut *conn)
    .await;
    let row = match row {
        Ok(row) => row,
        Err(error) => return error.into(),
    };
    let old_key: Option<String> = row.try_get("idempotency_key").unwrap_or_default();
    let old_request: Option<String> = row.try_get("request_json").unwrap_or_default();
    let old_request = old_request
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(serde_json::Value::Null);
    let old_digest: Option<String> = row.try_get("request_digest").unwrap_or_default();
    let mut differences = if old_digest.as_deref() == Some(request_digest(&item.request).as_str()) {
        Vec::new()
    } else {
        changed_fields(&old_request, &item.request)
    };
    if old_key.as_deref() != Some(item.idempotency_key.as_str()) {
        differences.insert(0, "idempotency_key".to_owned());
    }
    StoreError::RequestChanged { key, differences }
}
