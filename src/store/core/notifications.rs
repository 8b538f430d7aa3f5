//! [`NotificationStore`]: the outbox a run's status changes write to, claimed and recorded
//! by whichever process delivers.
//!
//! A row is added by [`enqueue`], inside the transaction of the status change that causes it,
//! so a process killed after the change still owes the notification and any other process
//! delivers it. Delivering claims rows for a short while (on Postgres passing over rows
//! another claimer holds), and an attempt is recorded only while the claim is still the
//! recorder's.

use std::time::Duration;

use chrono::TimeDelta;
use sqlx::Row;

use super::codec::{get_opt_json, json_text, truncate};
use super::dialect::{Conn, DbRow, Store, get_opt_ts, get_ts, sql, ts};
use crate::ids::RunId;
use crate::store::clock::ttl_delta;
use crate::store::error::StoreError;
use crate::store::notification::{
    Delivery, DeliveryState, MAX_ATTEMPTS, NotificationRecord, NotifyRoute,
};
use crate::store::run::RunStatus;
use crate::store::traits::NotificationStore;

/// The columns [`notification_from_row`] reads, of `notifications n LEFT JOIN runs r`, as a
/// literal for `concat!` (SQL stays `&'static str`).
macro_rules! columns {
    () => {
        "SELECT n.id, n.run_id, COALESCE(r.workflow_name, n.workflow_name) AS workflow_name, \
         n.event, n.step_id, n.message, n.target_json, n.created_at, n.state, n.attempts, \
         n.next_attempt_at, n.last_error, n.delivered_at \
         FROM notifications n LEFT JOIN runs r ON r.id = n.run_id "
    };
}

/// The notify routes `run_id` keeps, on `conn`; `None` when there is no such run.
pub(in crate::store) async fn routes_of(
    conn: &mut Conn,
    run_id: &RunId,
) -> Result<Option<Vec<NotifyRoute>>, StoreError> {
    let row = sqlx::query("SELECT notify_json FROM runs WHERE id = $1")
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    match get_opt_json(&row, "notify_json")? {
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(|_| StoreError::Corrupt {
                column: "notify_json",
                value: run_id.to_string(),
            }),
        None => Ok(Some(Vec::new())),
    }
}

/// Adds a notification of a workflow's schedule (no run) for `target`, on `conn` inside the
/// caller's transaction.
pub(in crate::store) async fn insert_schedule_notification(
    conn: &mut Conn,
    workflow: &str,
    event: &str,
    message: &str,
    target: &serde_json::Value,
    now: &super::dialect::Ts,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notifications (workflow_name, event, message, target_json, created_at, \
         state, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $5)",
    )
    .bind(workflow)
    .bind(event)
    .bind(message)
    .bind(json_text("target_json", target)?)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds the notifications `run_id` owes for reaching `status`, on `conn` inside the caller's
/// transaction: one per route of the run that wants the status, once per status (a run
/// resumed while still waiting does not page again; an operator reopening the run clears
/// the mark, see `reopen`).
pub(in crate::store) async fn enqueue(
    conn: &mut Conn,
    run_id: &RunId,
    status: RunStatus,
    message: Option<&str>,
    now: &super::dialect::Ts,
) -> Result<(), StoreError> {
    if matches!(status, RunStatus::Pending | RunStatus::Running) {
        return Ok(());
    }
    let row = sqlx::query("SELECT notified_status FROM runs WHERE id = $1")
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(()) };
    let notified: Option<String> = row.try_get("notified_status")?;
    if notified.as_deref() == Some(status.as_str()) {
        return Ok(());
    }
    let routes = routes_of(conn, run_id).await?.unwrap_or_default();
    sqlx::query("UPDATE runs SET notified_status = $1 WHERE id = $2")
        .bind(status.as_str())
        .bind(run_id)
        .execute(&mut *conn)
        .await?;
    let wanted: Vec<&NotifyRoute> = routes
        .iter()
        .filter(|r| r.on.iter().any(|e| e == status.as_str()))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let step_id: Option<String> = sqlx::query(
        "SELECT step_id FROM step_runs WHERE run_id = $1 AND state = $2 ORDER BY seq LIMIT 1",
    )
    .bind(run_id)
    .bind(status.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| row.try_get("step_id"))
    .transpose()?;
    let note = RunNote {
        run_id,
        event: status.as_str(),
        step_id: step_id.as_deref(),
        message,
    };
    for route in wanted {
        insert_run_notification(conn, &note, &route.target, now).await?;
    }
    Ok(())
}

/// A notification about a run, before it is addressed to a route.
pub(in crate::store) struct RunNote<'a> {
    /// The run.
    pub run_id: &'a RunId,
    /// The event (`needs_attention`, `reconcile_mismatch`).
    pub event: &'a str,
    /// The step it is about, if one.
    pub step_id: Option<&'a str>,
    /// What happened, in words.
    pub message: Option<&'a str>,
}

/// Adds `note` for every route of its run whose `on:` lists its event, on `conn` inside the
/// caller's transaction: what a payment's operator case (failed after commit, a
/// reconciliation discrepancy) owes each time one is first recorded.
///
/// # Errors
/// [`StoreError::RunNotFound`] when there is no such run.
pub(in crate::store) async fn owe(
    conn: &mut Conn,
    note: &RunNote<'_>,
    now: &super::dialect::Ts,
) -> Result<(), StoreError> {
    let routes = routes_of(conn, note.run_id)
        .await?
        .ok_or_else(|| StoreError::RunNotFound {
            run_id: note.run_id.clone(),
        })?;
    for route in routes
        .iter()
        .filter(|r| r.on.iter().any(|e| e == note.event))
    {
        insert_run_notification(conn, note, &route.target, now).await?;
    }
    Ok(())
}

/// One outbox row: `note` for `target`, due now.
async fn insert_run_notification(
    conn: &mut Conn,
    note: &RunNote<'_>,
    target: &serde_json::Value,
    now: &super::dialect::Ts,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notifications (run_id, event, step_id, message, target_json, \
         created_at, state, attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $6)",
    )
    .bind(note.run_id)
    .bind(note.event)
    .bind(note.step_id)
    .bind(note.message)
    .bind(json_text("target_json", target)?)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The wait after `attempts` failed attempts: 2 s, doubling, at most 5 minutes.
fn backoff(attempts: u32) -> TimeDelta {
    TimeDelta::seconds(1_i64 << attempts.min(8)).min(TimeDelta::minutes(5))
}

fn notification_from_row(row: &DbRow) -> Result<NotificationRecord, StoreError> {
    let state: String = row.try_get("state")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(NotificationRecord {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        workflow_name: row
            .try_get::<Option<String>, _>("workflow_name")?
            .unwrap_or_default(),
        event: row.try_get("event")?,
        step_id: row.try_get("step_id")?,
        message: row.try_get("message")?,
        target: get_opt_json(row, "target_json")?.unwrap_or_default(),
        created_at: get_ts(row, "created_at")?,
        state: DeliveryState::from_stored(&state).ok_or(StoreError::Corrupt {
            column: "state",
            value: state,
        })?,
        attempts: u32::try_from(attempts).unwrap_or_default(),
        next_attempt_at: get_ts(row, "next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        delivered_at: get_opt_ts(row, "delivered_at")?,
    })
}

impl Store {
    async fn claim_notifications_inner(
        &self,
        owner: &str,
        ttl: Duration,
        run_id: Option<&RunId>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let now = self.now();
        let until = truncate(now + ttl_delta(ttl));
        let mut tx = self.begin_write().await?;
        sqlx::query(concat!(
            "UPDATE notifications SET claim_owner = $1, claim_expires_at = $2 \
             WHERE id IN (SELECT id FROM notifications \
               WHERE state = 'pending' AND next_attempt_at <= $3 \
               AND (claim_owner IS NULL OR claim_expires_at <= $3) \
               AND ($4 IS NULL OR run_id = $4) ORDER BY id LIMIT $5",
            sql!(skip_locked),
            ")"
        ))
        .bind(owner)
        .bind(ts(until))
        .bind(ts(now))
        .bind(run_id)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query(concat!(
            columns!(),
            "WHERE n.claim_owner = $1 AND n.claim_expires_at = $2 AND n.state = 'pending' \
             ORDER BY n.id"
        ))
        .bind(owner)
        .bind(ts(until))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(notification_from_row).collect()
    }

    async fn record_delivery_inner(
        &self,
        id: i64,
        owner: &str,
        delivery: &Delivery,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT attempts FROM notifications \
             WHERE id = $1 AND claim_owner = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let attempts = u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or_default() + 1;
        let (state, error, delivered) = match delivery {
            Delivery::Delivered => (DeliveryState::Delivered, None, Some(ts(now))),
            Delivery::Failed(e) if attempts >= MAX_ATTEMPTS => {
                (DeliveryState::Failed, Some(e.as_str()), None)
            }
            Delivery::Failed(e) => (DeliveryState::Pending, Some(e.as_str()), None),
        };
        sqlx::query(
            "UPDATE notifications SET state = $1, attempts = $2, last_error = $3, \
             delivered_at = $4, next_attempt_at = $5, claim_owner = NULL, \
             claim_expires_at = NULL WHERE id = $6",
        )
        .bind(state.as_str())
        .bind(i64::from(attempts))
        .bind(error)
        .bind(delivered)
        .bind(ts(now + backoff(attempts)))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn add_notify_routes_inner(
        &self,
        run_id: &RunId,
        routes: &[NotifyRoute],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let mut kept =
            routes_of(&mut tx, run_id)
                .await?
                .ok_or_else(|| StoreError::RunNotFound {
                    run_id: run_id.clone(),
                })?;
        let before = kept.len();
        for route in routes {
            if !kept.contains(route) {
                kept.push(route.clone());
            }
        }
        if kept.len() > before {
            sqlx::query("UPDATE runs SET notify_json = $1 WHERE id = $2")
                .bind(json_text("notify_json", &serde_json::json!(kept))?)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_notifications_inner(
        &self,
        run_id: Option<&RunId>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            columns!(),
            "WHERE ($1 IS NULL OR n.run_id = $1) ORDER BY n.id DESC LIMIT $2"
        ))
        .bind(run_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(notification_from_row).collect()
    }
}

#[async_trait::async_trait]
impl NotificationStore for Store {
    async fn claim_notifications(
        &self,
        owner: &str,
        ttl: Duration,
        run_id: Option<&RunId>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        self.classified(self.claim_notifications_inner(owner, ttl, run_id, limit))
            .await
    }

    async fn record_delivery(
        &self,
        id: i64,
        owner: &str,
        delivery: &Delivery,
    ) -> Result<bool, StoreError> {
        self.classified(self.record_delivery_inner(id, owner, delivery))
            .await
    }

    async fn list_notifications(
        &self,
        run_id: Option<&RunId>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        self.classified(self.list_notifications_inner(run_id, limit))
            .await
    }

    async fn add_notify_routes(
        &self,
        run_id: &RunId,
        routes: &[NotifyRoute],
    ) -> Result<(), StoreError> {
        self.classified(self.add_notify_routes_inner(run_id, routes))
            .await
    }
}
