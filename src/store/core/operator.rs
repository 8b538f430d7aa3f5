//! [`OperatorStore`]: each decision is applied to the steps and recorded (who, when, why, how
//! many steps changed) in one transaction.
//!
//! On Postgres the transaction starts by locking the run's row, so decisions on one run (from
//! two operators, or an operator and a worker's status change) are applied one after the other,
//! each seeing what the previous one did, as with SQLite's single writer.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;

use super::codec::{get_count, get_opt_json, json_text, parse_run_status, ts_text};
use super::dialect::{Conn, Store, Ts, get_ts, notify, sql, ts};
use super::notifications::enqueue;
use super::transitions::{refusal, reset_failed};
use crate::approval::{Approval, Refusal, Tally, Waiting};
use crate::ids::{ItemKey, RunId};
use crate::store::error::StoreError;
use crate::store::notice::StoreNotice;
use crate::store::operator::{ActionKind, OperatorAction, OperatorRecord, RESOLVE_RETRY};
use crate::store::run::RunStatus;
use crate::store::step::StepKey;
use crate::store::traits::OperatorStore;
use crate::store::transition::{Transition, guarded};

/// Approval ([`Transition::Approve`]) or resolution as done
/// ([`Transition::ResolveSucceeded`]) of one step run.
const SUCCEED: &str = "UPDATE step_runs SET state = {to}, output_json = $1, \
     provider_ref = COALESCE($2, provider_ref), error_class = NULL, error_message = NULL, \
     next_attempt_at = NULL, updated_at = $3 \
     WHERE run_id = $4 AND step_id = $5 AND item_key = $6 AND {guard}";

impl Store {
    async fn apply_inner(&self, action: &OperatorAction) -> Result<OperatorRecord, StoreError> {
        let at = self.now();
        let now = &ts(at);
        let mut tx = self.begin_write().await?;
        let status_sql = concat!("SELECT status FROM runs WHERE id = $1", sql!(lock_run));
        let status: String = sqlx::query(status_sql)
            .bind(&action.run_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::RunNotFound {
                run_id: action.run_id.clone(),
            })?
            .try_get("status")?;
        let status = parse_run_status(&status)?;

        let changed = match &action.kind {
            ActionKind::Cancel => cancel(&mut tx, action, status, now).await?,
            ActionKind::Retry => {
                reset_failed(
                    &mut tx,
                    &action.run_id,
                    action.step_id.as_ref(),
                    action.item_key.as_ref(),
                    now,
                )
                .await?
            }
            ActionKind::Approve => approve(&mut tx, action, at, now).await?,
            ActionKind::Deny => deny(&mut tx, action, status, now).await?,
            ActionKind::ResolveSucceeded { provider_ref } => {
                let key = single_key(action)?;
                let output = json!({
                    "id": provider_ref,
                    "resolved_by": action.actor,
                    "reason": action.reason,
                });
                succeed(
                    &mut tx,
                    Transition::ResolveSucceeded,
                    &key,
                    Some(provider_ref),
                    &output,
                    now,
                )
                .await?
            }
            ActionKind::ResolveRetry => resolve_retry(&mut tx, action, now).await?,
            ActionKind::ResolveSkip => resolve_skip(&mut tx, action, now).await?,
            ActionKind::Resume if status.is_finished() => {
                return Err(StoreError::InvalidAction {
                    run_id: action.run_id.clone(),
                    action: action.kind.as_str(),
                    problem: "the run has already finished",
                });
            }
            ActionKind::Resume => 0,
            ActionKind::DismissDiscrepancy { .. } => {
                return Err(StoreError::InvalidAction {
                    run_id: action.run_id.clone(),
                    action: action.kind.as_str(),
                    problem: "a discrepancy is dismissed by its id",
                });
            }
        };

        if changed > 0 && !matches!(action.kind, ActionKind::Cancel | ActionKind::Deny) {
            // The run can make progress again: let a worker or `sluice resume` pick it up.
            let reopened = sqlx::query(
                "UPDATE runs SET status = 'pending', error = NULL, finished_at = NULL, \
                 notified_status = NULL, updated_at = $1 \
                 WHERE id = $2 AND status IN ('failed', 'needs_attention', 'waiting', \
                 'compensation_failed')",
            )
            .bind(now)
            .bind(&action.run_id)
            .execute(&mut *tx)
            .await?;
            if reopened.rows_affected() == 1 {
                let free = StoreNotice::RunFree {
                    run_id: action.run_id.clone(),
                };
                notify(&mut tx, &free).await?;
            }
        }

        let id = record(&mut tx, action, changed, now).await?;
        tx.commit().await?;
        Ok(OperatorRecord {
            id,
            action: action.clone(),
            at,
            steps_changed: changed,
        })
    }

    async fn list_inner(&self, run_id: &RunId) -> Result<Vec<OperatorRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, run_id, step_id, item_key, action, provider_ref, actor, reason, at, \
             steps_changed FROM operator_actions WHERE run_id = $1 ORDER BY id",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let name: String = row.try_get("action")?;
                let provider_ref = row.try_get("provider_ref")?;
                let kind = ActionKind::from_stored(&name, provider_ref).map_err(|_| {
                    StoreError::Corrupt {
                        column: "action",
                        value: name,
                    }
                })?;
                let at: DateTime<Utc> = get_ts(row, "at")?;
                Ok(OperatorRecord {
                    id: row.try_get("id")?,
                    action: OperatorAction {
                        run_id: row.try_get("run_id")?,
                        step_id: row.try_get("step_id")?,
                        item_key: row.try_get("item_key")?,
                        kind,
                        actor: row.try_get("actor")?,
                        reason: row.try_get("reason")?,
                        groups: Vec::new(),
                    },
                    at,
                    steps_changed: get_count(row, "steps_changed")?,
                })
            })
            .collect()
    }
}

/// Writes the `operator_actions` row of `action`, which changed `changed` step runs, and
/// returns its id.
pub(super) async fn record(
    conn: &mut Conn,
    action: &OperatorAction,
    changed: u64,
    now: &Ts,
) -> Result<i64, StoreError> {
    let provider_ref = match &action.kind {
        ActionKind::ResolveSucceeded { provider_ref }
        | ActionKind::DismissDiscrepancy { provider_ref } => Some(provider_ref.as_str()),
        _ => None,
    };
    Ok(sqlx::query(
        "INSERT INTO operator_actions (run_id, step_id, item_key, action, provider_ref, \
         actor, reason, at, steps_changed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING id",
    )
    .bind(&action.run_id)
    .bind(&action.step_id)
    .bind(&action.item_key)
    .bind(action.kind.as_str())
    .bind(provider_ref)
    .bind(&action.actor)
    .bind(&action.reason)
    .bind(now)
    .bind(i64::try_from(changed).unwrap_or(i64::MAX))
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?)
}

/// The step run an action names: its step, and its item or `""`.
fn single_key(action: &OperatorAction) -> Result<StepKey, StoreError> {
    let step_id = action
        .step_id
        .as_ref()
        .ok_or_else(|| StoreError::InvalidAction {
            run_id: action.run_id.clone(),
            action: action.kind.as_str(),
            problem: "it needs a step",
        })?;
    Ok(StepKey::item(
        &action.run_id,
        step_id,
        action.item_key.clone().unwrap_or_default(),
    ))
}

/// Counts an approval against the policy its waiting row holds: refused with
/// [`StoreError::ApprovalRefused`], kept in the row while the policy is short of approvals
/// (no step changes), or the last one needed, and the step succeeds with every approver in
/// its output. A step that is not waiting is refused as before.
async fn approve(
    conn: &mut Conn,
    action: &OperatorAction,
    at: DateTime<Utc>,
    now: &Ts,
) -> Result<u64, StoreError> {
    let key = single_key(action)?;
    let approval = Approval {
        by: action.actor.clone(),
        reason: action.reason.clone(),
        at: ts_text(at),
    };
    let Some((mut waiting, starter)) = waiting_approval(conn, &key).await? else {
        let output = json!({
            "approved_by": action.actor,
            "reason": action.reason,
            "approved_at": approval.at,
        });
        return succeed(conn, Transition::Approve, &key, None, &output, now).await;
    };
    let tally = waiting
        .approve(starter.as_deref(), approval, &action.groups)
        .map_err(|refusal| refused(&key, refusal))?;
    if tally == Tally::Short {
        sqlx::query(
            "UPDATE step_runs SET request_json = $1, updated_at = $2 \
             WHERE run_id = $3 AND step_id = $4 AND item_key = $5 AND state = 'waiting'",
        )
        .bind(json_text("request_json", &json!(waiting))?)
        .bind(now)
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&key.item_key)
        .execute(&mut *conn)
        .await?;
        return Ok(0);
    }
    let output = json!({
        "approved": true,
        "approved_by": action.actor,
        "reason": action.reason,
        "approved_at": ts_text(at),
        "approvals": waiting.approvals,
    });
    succeed(conn, Transition::Approve, &key, None, &output, now).await
}

/// Denies a waiting approval: a reason is required, and an approver list, when the policy
/// has one, applies (the starter may deny: stopping money needs no second pair of eyes).
/// The step fails, and the run with it unless a process holds it (which then fails it).
async fn deny(
    conn: &mut Conn,
    action: &OperatorAction,
    status: RunStatus,
    now: &Ts,
) -> Result<u64, StoreError> {
    let key = single_key(action)?;
    let Some(reason) = action.reason.as_deref().filter(|r| !r.trim().is_empty()) else {
        return Err(StoreError::InvalidAction {
            run_id: action.run_id.clone(),
            action: action.kind.as_str(),
            problem: "a denial needs a reason",
        });
    };
    if let Some((waiting, _)) = waiting_approval(conn, &key).await? {
        waiting
            .may_decide(&action.actor, &action.groups)
            .map_err(|refusal| refused(&key, refusal))?;
    }
    let message = format!("denied by {}: {reason}", action.actor);
    let sql = guarded!(
        Transition::Deny,
        "UPDATE step_runs SET state = {to}, error_class = 'approval', error_message = $1, \
         next_attempt_at = NULL, updated_at = $2 \
         WHERE run_id = $3 AND step_id = $4 AND item_key = $5 AND {guard}"
    );
    let result = sqlx::query(sql)
        .bind(&message)
        .bind(now)
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&key.item_key)
        .execute(&mut *conn)
        .await?;
    if result.rows_affected() == 0 {
        return Err(refusal(conn, &key, Transition::Deny.to(), None).await);
    }
    if matches!(
        status,
        RunStatus::Pending | RunStatus::Waiting | RunStatus::NeedsAttention
    ) {
        let error = format!("step `{}` {message}", key.step_id);
        sqlx::query(
            "UPDATE runs SET status = 'failed', error = $1, finished_at = $2, updated_at = $2 \
             WHERE id = $3",
        )
        .bind(&error)
        .bind(now)
        .bind(&key.run_id)
        .execute(&mut *conn)
        .await?;
        enqueue(conn, &key.run_id, RunStatus::Failed, Some(&error), now).await?;
    }
    Ok(result.rows_affected())
}

/// The approval a waiting row asks for, and who started the run; `None` when the row is not
/// a waiting approval (the guarded update then says why).
async fn waiting_approval(
    conn: &mut Conn,
    key: &StepKey,
) -> Result<Option<(Waiting, Option<String>)>, StoreError> {
    let row = sqlx::query(
        "SELECT s.request_json, r.started_by FROM step_runs s JOIN runs r ON r.id = s.run_id \
         WHERE s.run_id = $1 AND s.step_id = $2 AND s.item_key = $3 AND s.state = 'waiting'",
    )
    .bind(&key.run_id)
    .bind(&key.step_id)
    .bind(&key.item_key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let Some(waiting) = get_opt_json(&row, "request_json")?
        .as_ref()
        .and_then(Waiting::from_request)
    else {
        return Ok(None);
    };
    Ok(Some((waiting, row.try_get("started_by")?)))
}

fn refused(key: &StepKey, refusal: Refusal) -> StoreError {
    StoreError::ApprovalRefused {
        run_id: key.run_id.clone(),
        step_id: key.step_id.clone(),
        refusal,
    }
}

/// Runs [`SUCCEED`] for `change` on one step run.
async fn succeed(
    conn: &mut Conn,
    change: Transition,
    key: &StepKey,
    provider_ref: Option<&String>,
    output: &serde_json::Value,
    now: &Ts,
) -> Result<u64, StoreError> {
    let sql = match change {
        Transition::Approve => guarded!(Transition::Approve, SUCCEED),
        _ => guarded!(Transition::ResolveSucceeded, SUCCEED),
    };
    let result = sqlx::query(sql)
        .bind(json_text("output_json", output)?)
        .bind(provider_ref)
        .bind(now)
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&key.item_key)
        .execute(&mut *conn)
        .await?;
    if result.rows_affected() == 0 {
        return Err(refusal(conn, key, change.to(), None).await);
    }
    Ok(result.rows_affected())
}

async fn resolve_retry(
    conn: &mut Conn,
    action: &OperatorAction,
    now: &Ts,
) -> Result<u64, StoreError> {
    let key = single_key(action)?;
    let result = sqlx::query(guarded!(Transition::ResolveRetry, RESOLVE_RETRY))
        .bind(now)
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&action.item_key)
        .execute(&mut *conn)
        .await?;
    let changed = result.rows_affected();
    settled_count(conn, changed, action, &key, Transition::ResolveRetry).await
}

async fn resolve_skip(
    conn: &mut Conn,
    action: &OperatorAction,
    now: &Ts,
) -> Result<u64, StoreError> {
    let key = single_key(action)?;
    let reason = match &action.reason {
        Some(reason) => format!("skipped by {}: {reason}", action.actor),
        None => format!("skipped by {}", action.actor),
    };
    let sql = guarded!(
        Transition::ResolveSkip,
        "UPDATE step_runs SET state = {to}, skip_reason = $1, next_attempt_at = NULL, \
         updated_at = $2 \
         WHERE run_id = $3 AND step_id = $4 AND ($5 IS NULL OR item_key = $5) AND {guard}"
    );
    let result = sqlx::query(sql)
        .bind(reason)
        .bind(now)
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&action.item_key)
        .execute(&mut *conn)
        .await?;
    let changed = result.rows_affected();
    settled_count(conn, changed, action, &key, Transition::ResolveSkip).await
}

/// The number of step runs changed, or why none could be: the named item's state, or, for a
/// whole step, the state of its first item.
async fn settled_count(
    conn: &mut Conn,
    changed: u64,
    action: &OperatorAction,
    key: &StepKey,
    change: Transition,
) -> Result<u64, StoreError> {
    let to = change.to();
    if changed > 0 {
        return Ok(changed);
    }
    if action.item_key.is_some() {
        return Err(refusal(conn, key, to, None).await);
    }
    let first = sqlx::query(
        "SELECT item_key FROM step_runs WHERE run_id = $1 AND step_id = $2 ORDER BY seq LIMIT 1",
    )
    .bind(&key.run_id)
    .bind(&key.step_id)
    .fetch_optional(&mut *conn)
    .await?;
    match first {
        Some(row) => {
            let item_key: ItemKey = row.try_get("item_key")?;
            let first_key = StepKey::item(&key.run_id, &key.step_id, item_key);
            Err(refusal(conn, &first_key, to, None).await)
        }
        None => Err(StoreError::StepNotFound { key: key.clone() }),
    }
}

async fn cancel(
    conn: &mut Conn,
    action: &OperatorAction,
    status: RunStatus,
    now: &Ts,
) -> Result<u64, StoreError> {
    // Not `is_finished`: a failed run can still be cancelled.
    if matches!(status, RunStatus::Succeeded | RunStatus::Cancelled) {
        return Err(StoreError::InvalidAction {
            run_id: action.run_id.clone(),
            action: action.kind.as_str(),
            problem: "the run has already finished",
        });
    }
    sqlx::query(
        "UPDATE runs SET status = 'cancelled', finished_at = $1, updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(&action.run_id)
    .execute(&mut *conn)
    .await?;
    let why = format!("cancelled by {}", action.actor);
    enqueue(conn, &action.run_id, RunStatus::Cancelled, Some(&why), now).await?;
    let sql = guarded!(
        Transition::Cancel,
        "UPDATE step_runs SET state = {to}, next_attempt_at = NULL, updated_at = $1 \
         WHERE run_id = $2 AND {guard}"
    );
    let result = sqlx::query(sql)
        .bind(now)
        .bind(&action.run_id)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected())
}

#[async_trait::async_trait]
impl OperatorStore for Store {
    async fn apply_operator_action(
        &self,
        action: &OperatorAction,
    ) -> Result<OperatorRecord, StoreError> {
        self.classified(self.apply_inner(action)).await
    }

    async fn list_operator_actions(
        &self,
        run_id: &RunId,
    ) -> Result<Vec<OperatorRecord>, StoreError> {
        self.classified(self.list_inner(run_id)).await
    }
}
