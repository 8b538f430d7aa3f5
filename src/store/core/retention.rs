//! `prune_runs`: deleting finished runs and, when asked, keeping an audit row per payment.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sqlx::Row;

use super::codec::get_opt_json;
use super::dialect::{Conn, Store, get_opt_ts, get_ts, opt_ts, ts};
use crate::store::error::StoreError;
use crate::store::retention::{Prune, Pruned};

impl Store {
    pub(in crate::store) async fn prune_runs_inner(
        &self,
        prune: &Prune,
    ) -> Result<Pruned, StoreError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT id, workflow_name, finished_at FROM runs \
             WHERE status IN ('succeeded', 'failed', 'cancelled', 'compensated') AND finished_at < $1 \
               AND (lease_owner IS NULL OR lease_expires_at < $2) ORDER BY id",
        )
        .bind(ts(prune.finished_before))
        .bind(ts(now))
        .fetch_all(&mut *tx)
        .await?;
        let mut pruned = Pruned::default();
        for row in &rows {
            let run = FinishedRun {
                id: row.try_get("id")?,
                workflow: row.try_get("workflow_name")?,
                finished_at: get_opt_ts(row, "finished_at")?,
            };
            if prune.keep_audit {
                pruned.audited += audit_run(&mut tx, &run, now).await?;
            }
            delete_run(&mut tx, &run.id).await?;
            pruned.runs += 1;
        }
        tx.commit().await?;
        Ok(pruned)
    }
}

/// A run about to be pruned.
struct FinishedRun {
    id: String,
    workflow: String,
    finished_at: Option<DateTime<Utc>>,
}

/// Deletes a run and everything kept of it: its steps (their attempts cascade), the events
/// matched to it, then the run (its inputs, operator actions and shared steps cascade).
async fn delete_run(conn: &mut Conn, run_id: &str) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM attempts WHERE run_id = $1",
        "DELETE FROM step_runs WHERE run_id = $1",
        "DELETE FROM events WHERE matched_run_id = $1",
        "DELETE FROM runs WHERE id = $1",
    ] {
        sqlx::query(sql).bind(run_id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes one audit row per step run of `run` that went to a provider (it has an
/// idempotency key); returns how many.
async fn audit_run(
    conn: &mut Conn,
    run: &FinishedRun,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let actions = operator_actions(conn, &run.id).await?;
    let steps = sqlx::query(
        "SELECT step_id, item_key, idempotency_key, state, provider_ref, request_json, \
         output_json FROM step_runs WHERE run_id = $1 AND idempotency_key IS NOT NULL \
         ORDER BY seq",
    )
    .bind(&run.id)
    .fetch_all(&mut *conn)
    .await?;
    for step in &steps {
        let step_id: String = step.try_get("step_id")?;
        let item_key: String = step.try_get("item_key")?;
        let (amount, asset) = amount_of(
            get_opt_json(step, "output_json")?.as_ref(),
            get_opt_json(step, "request_json")?.as_ref(),
        );
        let own: Vec<&Value> = actions
            .iter()
            .filter(|(step, item, _)| {
                step.as_deref().is_none_or(|s| s == step_id)
                    && item
                        .as_deref()
                        .is_none_or(|i| i.is_empty() || i == item_key)
            })
            .map(|(.., action)| action)
            .collect();
        sqlx::query(
            "INSERT INTO payment_audit (run_id, step_id, item_key, workflow_name, \
             idempotency_key, amount, asset, provider_ref, final_state, operator_actions, \
             finished_at, pruned_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&run.id)
        .bind(&step_id)
        .bind(&item_key)
        .bind(&run.workflow)
        .bind(step.try_get::<String, _>("idempotency_key")?)
        .bind(amount)
        .bind(asset)
        .bind(step.try_get::<Option<String>, _>("provider_ref")?)
        .bind(step.try_get::<String, _>("state")?)
        .bind(Value::from(own.into_iter().cloned().collect::<Vec<_>>()).to_string())
        .bind(opt_ts(run.finished_at))
        .bind(ts(now))
        .execute(&mut *conn)
        .await?;
    }
    Ok(steps.len() as u64)
}

/// The run's operator actions: the step and item each names (none: the whole run) and what
/// the audit row keeps of it.
async fn operator_actions(
    conn: &mut Conn,
    run_id: &str,
) -> Result<Vec<(Option<String>, Option<String>, Value)>, StoreError> {
    let rows = sqlx::query(
        "SELECT step_id, item_key, action, provider_ref, actor, reason, at \
         FROM operator_actions WHERE run_id = $1 ORDER BY id",
    )
    .bind(run_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let at: DateTime<Utc> = get_ts(row, "at")?;
            let action = json!({
                "action": row.try_get::<String, _>("action")?,
                "provider_ref": row.try_get::<Option<String>, _>("provider_ref")?,
                "actor": row.try_get::<String, _>("actor")?,
                "reason": row.try_get::<Option<String>, _>("reason")?,
                "at": at.to_rfc3339(),
            });
            Ok((row.try_get("step_id")?, row.try_get("item_key")?, action))
        })
        .collect()
}

/// The amount and its asset or currency: from the provider's answer as recorded, else from
/// the request.
fn amount_of(output: Option<&Value>, request: Option<&Value>) -> (Option<String>, Option<String>) {
    let text = |map: &Map<String, Value>, keys: &[&str]| {
        keys.iter()
            .find_map(|k| map.get(*k).filter(|v| !v.is_null()))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
    };
    let from = |value: Option<&Value>| {
        let map = value?.as_object()?;
        let amount = text(map, &["amount", "source_amount"])?;
        Some((amount, text(map, &["asset", "currency", "source_asset"])))
    };
    match from(output).or_else(|| from(request)) {
        Some((amount, asset)) => (Some(amount), asset),
        None => (None, None),
    }
}
