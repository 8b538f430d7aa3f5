//! [`OperatorStore`] on SQLite: each decision is applied to the steps and recorded (who, when,
//! why, how many steps changed) in one transaction.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Row, SqliteConnection};

use super::SqliteStore;
use super::codec::{json_text, parse_ts, ts};
use super::transitions::{refusal, reset_failed};
use crate::store::error::StoreError;
use crate::store::operator::{ActionKind, OperatorAction, OperatorRecord};
use crate::store::step::{StepKey, StepState};
use crate::store::traits::OperatorStore;

/// Approval: `waiting → succeeded`.
const APPROVE: &str = "UPDATE step_runs SET state = 'succeeded', output_json = $1, \
     provider_ref = COALESCE($2, provider_ref), error_class = NULL, error_message = NULL, \
     next_attempt_at = NULL, updated_at = $3 \
     WHERE run_id = $4 AND step_id = $5 AND item_key = $6 AND state = 'waiting'";

/// Resolution as done: `needs_attention | failed → succeeded`.
const RESOLVE_SUCCEEDED: &str = "UPDATE step_runs SET state = 'succeeded', output_json = $1, \
     provider_ref = COALESCE($2, provider_ref), error_class = NULL, error_message = NULL, \
     next_attempt_at = NULL, updated_at = $3 \
     WHERE run_id = $4 AND step_id = $5 AND item_key = $6 \
       AND state IN ('needs_attention', 'failed')";

impl SqliteStore {
    async fn apply_inner(&self, action: &OperatorAction) -> Result<OperatorRecord, StoreError> {
        let at = self.now();
        let now = ts(at);
        let mut tx = self.begin_write().await?;
        let status: String = sqlx::query("SELECT status FROM runs WHERE id = $1")
            .bind(&action.run_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::RunNotFound {
                run_id: action.run_id.clone(),
            })?
            .try_get("status")?;

        let changed = match &action.kind {
            ActionKind::Cancel => cancel(&mut tx, action, &status, &now).await?,
            ActionKind::Retry => {
                reset_failed(
                    &mut tx,
                    &action.run_id,
                    action.step_id.as_deref(),
                    action.item_key.as_deref(),
                    &now,
                )
                .await?
            }
            ActionKind::Approve => {
                let key = single_key(action)?;
                let output = json!({
                    "approved_by": action.actor,
                    "reason": action.reason,
                    "approved_at": now,
                });
                succeed(&mut tx, APPROVE, &key, None, &output, &now).await?
            }
            ActionKind::ResolveSucceeded { provider_ref } => {
                let key = single_key(action)?;
                let output = json!({
                    "id": provider_ref,
                    "resolved_by": action.actor,
                    "reason": action.reason,
                });
                succeed(
                    &mut tx,
                    RESOLVE_SUCCEEDED,
                    &key,
                    Some(provider_ref),
                    &output,
                    &now,
                )
                .await?
            }
            ActionKind::ResolveRetry => resolve_retry(&mut tx, action, &now).await?,
            ActionKind::ResolveSkip => resolve_skip(&mut tx, action, &now).await?,
        };

        if changed > 0 && action.kind != ActionKind::Cancel {
            // The run can make progress again: let a worker or `sluice resume` pick it up.
            sqlx::query(
                "UPDATE runs SET status = 'pending', error = NULL, finished_at = NULL, \
                 updated_at = $1 \
                 WHERE id = $2 AND status IN ('failed', 'needs_attention', 'waiting')",
            )
            .bind(&now)
            .bind(&action.run_id)
            .execute(&mut *tx)
            .await?;
        }

        let provider_ref = match &action.kind {
            ActionKind::ResolveSucceeded { provider_ref } => Some(provider_ref.as_str()),
            _ => None,
        };
        let id: i64 = sqlx::query(
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
        .bind(&now)
        .bind(i64::try_from(changed).unwrap_or(i64::MAX))
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        tx.commit().await?;
        Ok(OperatorRecord {
            id,
            action: action.clone(),
            at,
            steps_changed: changed,
        })
    }

    async fn list_inner(&self, run_id: &str) -> Result<Vec<OperatorRecord>, StoreError> {
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
                let kind = match name.as_str() {
                    "approve" => ActionKind::Approve,
                    "resolve_succeeded" => ActionKind::ResolveSucceeded {
                        provider_ref: row
                            .try_get::<Option<String>, _>("provider_ref")?
                            .unwrap_or_default(),
                    },
                    "resolve_retry" => ActionKind::ResolveRetry,
                    "resolve_skip" => ActionKind::ResolveSkip,
                    "cancel" => ActionKind::Cancel,
                    "retry" => ActionKind::Retry,
                    _ => {
                        return Err(StoreError::Corrupt {
                            column: "action",
                            value: name,
                        });
                    }
                };
                let at: DateTime<Utc> = parse_ts("at", &row.try_get::<String, _>("at")?)?;
                Ok(OperatorRecord {
                    id: row.try_get("id")?,
                    action: OperatorAction {
                        run_id: row.try_get("run_id")?,
                        step_id: row.try_get("step_id")?,
                        item_key: row.try_get("item_key")?,
                        kind,
                        actor: row.try_get("actor")?,
                        reason: row.try_get("reason")?,
                    },
                    at,
                    steps_changed: u64::try_from(row.try_get::<i64, _>("steps_changed")?)
                        .unwrap_or(0),
                })
            })
            .collect()
    }
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

/// Runs [`APPROVE`] or [`RESOLVE_SUCCEEDED`] on one step run.
async fn succeed(
    conn: &mut SqliteConnection,
    sql: &'static str,
    key: &StepKey,
    provider_ref: Option<&String>,
    output: &serde_json::Value,
    now: &str,
) -> Result<u64, StoreError> {
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
        return Err(refusal(conn, key, StepState::Succeeded).await);
    }
    Ok(result.rows_affected())
}

async fn resolve_retry(
    conn: &mut SqliteConnection,
    action: &OperatorAction,
    now: &str,
) -> Result<u64, StoreError> {
    let key = single_key(action)?;
    let result = sqlx::query(
        "UPDATE step_runs SET state = 'pending', error_class = NULL, error_message = NULL, \
         next_attempt_at = NULL, updated_at = $1 \
         WHERE run_id = $2 AND step_id = $3 AND ($4 IS NULL OR item_key = $4) \
           AND state = 'needs_attention'",
    )
    .bind(now)
    .bind(&key.run_id)
    .bind(&key.step_id)
    .bind(&action.item_key)
    .execute(&mut *conn)
    .await?;
    settled_count(
        conn,
        result.rows_affected(),
        action,
        &key,
        StepState::Pending,
    )
    .await
}

async fn resolve_skip(
    conn: &mut SqliteConnection,
    action: &OperatorAction,
    now: &str,
) -> Result<u64, StoreError> {
    let key = single_key(action)?;
    let reason = match &action.reason {
        Some(reason) => format!("skipped by {}: {reason}", action.actor),
        None => format!("skipped by {}", action.actor),
    };
    let result = sqlx::query(
        "UPDATE step_runs SET state = 'skipped', skip_reason = $1, next_attempt_at = NULL, \
         updated_at = $2 \
         WHERE run_id = $3 AND step_id = $4 AND ($5 IS NULL OR item_key = $5) \
           AND state IN ('needs_attention', 'failed')",
    )
    .bind(reason)
    .bind(now)
    .bind(&key.run_id)
    .bind(&key.step_id)
    .bind(&action.item_key)
    .execute(&mut *conn)
    .await?;
    settled_count(
        conn,
        result.rows_affected(),
        action,
        &key,
        StepState::Skipped,
    )
    .await
}

/// The number of step runs changed, or why none could be: the named item's state, or, for a
/// whole step, the state of its first item.
async fn settled_count(
    conn: &mut SqliteConnection,
    changed: u64,
    action: &OperatorAction,
    key: &StepKey,
    to: StepState,
) -> Result<u64, StoreError> {
    if changed > 0 {
        return Ok(changed);
    }
    if action.item_key.is_some() {
        return Err(refusal(conn, key, to).await);
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
            let item_key: String = row.try_get("item_key")?;
            let first_key = StepKey::item(&key.run_id, &key.step_id, item_key);
            Err(refusal(conn, &first_key, to).await)
        }
        None => Err(StoreError::StepNotFound { key: key.clone() }),
    }
}

async fn cancel(
    conn: &mut SqliteConnection,
    action: &OperatorAction,
    status: &str,
    now: &str,
) -> Result<u64, StoreError> {
    if matches!(status, "succeeded" | "cancelled") {
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
    let result = sqlx::query(
        "UPDATE step_runs SET state = 'cancelled', next_attempt_at = NULL, updated_at = $1 \
         WHERE run_id = $2 AND state IN ('pending', 'waiting')",
    )
    .bind(now)
    .bind(&action.run_id)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

#[async_trait::async_trait]
impl OperatorStore for SqliteStore {
    async fn apply_operator_action(
        &self,
        action: &OperatorAction,
    ) -> Result<OperatorRecord, StoreError> {
        let result = self.apply_inner(action).await;
        result.map_err(|e| self.classify(e))
    }

    async fn list_operator_actions(&self, run_id: &str) -> Result<Vec<OperatorRecord>, StoreError> {
        let result = self.list_inner(run_id).await;
        result.map_err(|e| self.classify(e))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use serde_json::json;

    use super::*;
    use crate::store::run::RunStatus;
    use crate::store::sqlite::testing::{new_run, store_in, t0};
    use crate::store::step::{Attention, NewStep, Outcome, StepError, StepResult, Waiting};
    use crate::store::traits::{RunStore, StepStore};

    fn action(kind: ActionKind, step: Option<&str>, item: Option<&str>) -> OperatorAction {
        OperatorAction {
            run_id: "run_a".into(),
            step_id: step.map(str::to_owned),
            item_key: item.map(str::to_owned),
            kind,
            actor: "alice".into(),
            reason: Some("checked the dashboard".into()),
        }
    }

    async fn run_with_steps(store: &SqliteStore) {
        let steps = [
            NewStep::step("approve"),
            NewStep::item("pay", "e1"),
            NewStep::item("pay", "e2"),
            NewStep::item("pay", "e3"),
            NewStep::step("report"),
        ];
        store.create_run(&new_run("run_a"), &steps).await.unwrap();
    }

    #[tokio::test]
    async fn approval_is_recorded_with_who_when_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let (store, clock) = store_in(&dir).await;
        run_with_steps(&store).await;
        let approve = action(ActionKind::Approve, Some("approve"), None);
        let error = store.apply_operator_action(&approve).await.unwrap_err();
        assert!(matches!(
            error,
            StoreError::InvalidTransition {
                from: StepState::Pending,
                ..
            }
        ));

        let key = StepKey::step("run_a", "approve");
        store
            .mark_waiting(&[Waiting {
                key: key.clone(),
                request: None,
                next_check_at: None,
                deadline_at: None,
            }])
            .await
            .unwrap();
        store
            .set_run_status("run_a", RunStatus::Waiting, None)
            .await
            .unwrap();
        clock.advance(TimeDelta::minutes(10));
        let record = store.apply_operator_action(&approve).await.unwrap();
        assert_eq!(
            (record.steps_changed, record.at),
            (1, t0() + TimeDelta::minutes(10))
        );

        let step = store.load_step(&key).await.unwrap();
        assert_eq!(step.state, StepState::Succeeded);
        assert_eq!(
            step.output,
            Some(json!({
                "approved_by": "alice",
                "reason": "checked the dashboard",
                "approved_at": "2025-03-07T09:10:00.000000Z",
            }))
        );
        assert_eq!(
            store.load_run("run_a").await.unwrap().status,
            RunStatus::Pending
        );
        assert_eq!(
            store.list_operator_actions("run_a").await.unwrap(),
            [record]
        );

        let error = store
            .apply_operator_action(&action(ActionKind::Approve, None, None))
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            StoreError::InvalidAction {
                action: "approve",
                ..
            }
        ));
        let mut unknown = approve.clone();
        unknown.run_id = "run_z".into();
        assert!(matches!(
            store.apply_operator_action(&unknown).await,
            Err(StoreError::RunNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn resolving_items_in_doubt() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        run_with_steps(&store).await;
        let doubt: Vec<Attention> = ["e1", "e2", "e3"]
            .map(|item| Attention {
                key: StepKey::item("run_a", "pay", item),
                message: "lookup could not tell".into(),
            })
            .to_vec();
        store.mark_needs_attention(&doubt).await.unwrap();
        store
            .set_run_status("run_a", RunStatus::NeedsAttention, Some("3 items in doubt"))
            .await
            .unwrap();

        let found = ActionKind::ResolveSucceeded {
            provider_ref: "tr_77".into(),
        };
        let record = store
            .apply_operator_action(&action(found.clone(), Some("pay"), Some("e1")))
            .await
            .unwrap();
        assert_eq!(record.steps_changed, 1);
        let e1 = store
            .load_step(&StepKey::item("run_a", "pay", "e1"))
            .await
            .unwrap();
        assert_eq!(
            (e1.state, e1.provider_ref.as_deref()),
            (StepState::Succeeded, Some("tr_77"))
        );
        assert_eq!(e1.output.unwrap()["resolved_by"], "alice");
        let run = store.load_run("run_a").await.unwrap();
        assert_eq!((run.status, run.error), (RunStatus::Pending, None));

        // Retry without an item: every item of the step still in doubt.
        let record = store
            .apply_operator_action(&action(ActionKind::ResolveRetry, Some("pay"), None))
            .await
            .unwrap();
        assert_eq!(record.steps_changed, 2);
        let pending = store
            .steps_in_state("run_a", &[StepState::Pending])
            .await
            .unwrap();
        assert_eq!(pending.len(), 4);

        // Nothing left in doubt: the refusal names the first item's state.
        let error = store
            .apply_operator_action(&action(ActionKind::ResolveSkip, Some("pay"), None))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StoreError::InvalidTransition { from: StepState::Succeeded, to: StepState::Skipped, key } if key.item_key == "e1"),
            "{error:?}"
        );
        let error = store
            .apply_operator_action(&action(ActionKind::ResolveSkip, Some("nope"), None))
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::StepNotFound { .. }),
            "{error:?}"
        );

        // A failed item can be skipped.
        store
            .record_results(&[StepResult {
                key: StepKey::item("run_a", "pay", "e2"),
                outcome: Outcome::Failed(StepError::new("rejected", "closed account")),
                attempt: None,
            }])
            .await
            .unwrap();
        store
            .apply_operator_action(&action(ActionKind::ResolveSkip, Some("pay"), Some("e2")))
            .await
            .unwrap();
        let e2 = store
            .load_step(&StepKey::item("run_a", "pay", "e2"))
            .await
            .unwrap();
        assert_eq!(e2.state, StepState::Skipped);
        assert_eq!(
            e2.skip_reason.as_deref(),
            Some("skipped by alice: checked the dashboard")
        );
        let kinds: Vec<&str> = store
            .list_operator_actions("run_a")
            .await
            .unwrap()
            .iter()
            .map(|r| r.action.kind.as_str())
            .collect();
        assert_eq!(
            kinds,
            ["resolve_succeeded", "resolve_retry", "resolve_skip"]
        );
    }

    #[tokio::test]
    async fn cancel_keeps_steps_in_doubt_and_retry_redrives_failures() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        run_with_steps(&store).await;
        store
            .record_results(&[StepResult {
                key: StepKey::item("run_a", "pay", "e1"),
                outcome: Outcome::Failed(StepError::new("rejected", "bad iban")),
                attempt: None,
            }])
            .await
            .unwrap();
        store
            .set_run_status("run_a", RunStatus::Failed, Some("pay failed"))
            .await
            .unwrap();
        let record = store
            .apply_operator_action(&action(ActionKind::Retry, None, None))
            .await
            .unwrap();
        assert_eq!(record.steps_changed, 1);
        assert_eq!(
            store.load_run("run_a").await.unwrap().status,
            RunStatus::Pending
        );

        store
            .mark_needs_attention(&[Attention {
                key: StepKey::item("run_a", "pay", "e2"),
                message: "in doubt".into(),
            }])
            .await
            .unwrap();
        let record = store
            .apply_operator_action(&action(ActionKind::Cancel, None, None))
            .await
            .unwrap();
        assert_eq!(record.steps_changed, 4);
        let run = store.load_run("run_a").await.unwrap();
        assert_eq!(run.status, RunStatus::Cancelled);
        assert!(run.finished_at.is_some());
        let e2 = store
            .load_step(&StepKey::item("run_a", "pay", "e2"))
            .await
            .unwrap();
        assert_eq!(e2.state, StepState::NeedsAttention);
        let error = store
            .apply_operator_action(&action(ActionKind::Cancel, None, None))
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            StoreError::InvalidAction {
                action: "cancel",
                ..
            }
        ));
        // Still resolvable after the cancel; the run stays cancelled.
        store
            .apply_operator_action(&action(ActionKind::ResolveSkip, Some("pay"), Some("e2")))
            .await
            .unwrap();
        assert_eq!(
            store.load_run("run_a").await.unwrap().status,
            RunStatus::Cancelled
        );
    }
}
