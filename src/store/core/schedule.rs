//! [`ScheduleStore`]: a slot is a row keyed by workflow and instant, inserted with
//! `ON CONFLICT DO NOTHING`, so exactly one claimer across processes sees it inserted.
//!
//! On Postgres a second claimer racing the first waits on the primary key until the first
//! transaction ends: it conflicts if the first committed, and claims the slot itself if the
//! first rolled back (say, its run could not be created), so a slot fires once, never zero
//! times for a failed attempt.
//!
//! Every row says what became of its slot (fired, skipped, missed, failed, and why), and the
//! missed slots of a gap are recorded with the `schedule_missed` notifications they owe in
//! one transaction.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::codec::parse_run_status;
use super::dialect::{Conn, DbRow, Store, Ts, get_ts, ts};
use super::notifications::{enqueue, insert_schedule_notification};
use super::runs::insert_run;
use crate::ids::RunId;
use crate::store::error::StoreError;
use crate::store::run::{NewRun, RunStatus};
use crate::store::schedule::{MissedSlots, SCHEDULE_MISSED_EVENT, SlotRecord, SlotState};
use crate::store::step::NewStep;
use crate::store::traits::ScheduleStore;

/// The columns [`slot_from_row`] reads, of `schedule_slots s LEFT JOIN runs r`.
macro_rules! slot_columns {
    () => {
        "SELECT s.workflow_name, s.slot_at, s.run_id, s.claimed_at, s.outcome, s.reason, \
         r.status AS run_status FROM schedule_slots s LEFT JOIN runs r ON r.id = s.run_id "
    };
}

/// What a slot row records besides its workflow and instant.
struct Claimed<'a> {
    run_id: &'a RunId,
    state: SlotState,
    reason: Option<&'a str>,
}

impl<'a> Claimed<'a> {
    fn fired(run_id: &'a RunId) -> Self {
        Claimed {
            run_id,
            state: SlotState::Fired,
            reason: None,
        }
    }
}

/// Inserts the slot row unless it exists; `true` if this call inserted it.
async fn insert_slot(
    conn: &mut Conn,
    workflow: &str,
    slot: DateTime<Utc>,
    claimed: Claimed<'_>,
    now: &Ts,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "INSERT INTO schedule_slots (workflow_name, slot_at, run_id, claimed_at, outcome, reason) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workflow_name, slot_at) DO NOTHING",
    )
    .bind(workflow)
    .bind(ts(slot))
    .bind(claimed.run_id)
    .bind(now)
    .bind(claimed.state.as_str())
    .bind(claimed.reason)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

fn slot_from_row(row: &DbRow) -> Result<SlotRecord, StoreError> {
    let state: String = row.try_get("outcome")?;
    let run_status: Option<String> = row.try_get("run_status")?;
    Ok(SlotRecord {
        workflow_name: row.try_get("workflow_name")?,
        slot_at: get_ts(row, "slot_at")?,
        run_id: row.try_get("run_id")?,
        claimed_at: get_ts(row, "claimed_at")?,
        state: SlotState::from_stored(&state).ok_or(StoreError::Corrupt {
            column: "outcome",
            value: state,
        })?,
        reason: row.try_get("reason")?,
        run_status: run_status.as_deref().map(parse_run_status).transpose()?,
    })
}

/// The `schedule_missed` notification text for `slots` (oldest first), missed for `reason`.
fn missed_message(slots: &[DateTime<Utc>], reason: &str) -> String {
    let stamp = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    match slots {
        [slot] => format!("slot {} missed: {reason}", stamp(slot)),
        [first, .., last] => format!(
            "{} slots missed, {} to {}: {reason}",
            slots.len(),
            stamp(first),
            stamp(last)
        ),
        [] => reason.to_string(),
    }
}

impl Store {
    async fn claim_slot_inner(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run_id: &RunId,
    ) -> Result<bool, StoreError> {
        let now = ts(self.now());
        let mut tx = self.begin_write().await?;
        let claimed = insert_slot(&mut tx, workflow, slot, Claimed::fired(run_id), &now).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn skip_slot_inner(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run_id: &RunId,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let now = ts(self.now());
        let claimed = Claimed {
            run_id,
            state: SlotState::Skipped,
            reason: Some(reason),
        };
        let mut tx = self.begin_write().await?;
        let inserted = insert_slot(&mut tx, workflow, slot, claimed, &now).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    async fn record_missed_slots_inner(
        &self,
        missed: &MissedSlots,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let now = ts(self.now());
        let mut tx = self.begin_write().await?;
        let mut inserted = Vec::new();
        for (slot, run_id) in &missed.slots {
            let claimed = Claimed {
                run_id,
                state: SlotState::Missed,
                reason: Some(&missed.reason),
            };
            if insert_slot(&mut tx, &missed.workflow_name, *slot, claimed, &now).await? {
                inserted.push(*slot);
            }
        }
        if !inserted.is_empty() {
            let message = missed_message(&inserted, &missed.reason);
            let wanted = missed
                .routes
                .iter()
                .filter(|r| r.on.iter().any(|e| e == SCHEDULE_MISSED_EVENT));
            for route in wanted {
                insert_schedule_notification(
                    &mut tx,
                    &missed.workflow_name,
                    SCHEDULE_MISSED_EVENT,
                    &message,
                    &route.target,
                    &now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn start_slot_run_inner(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run: &NewRun,
        steps: &[NewStep],
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        if !insert_slot(&mut tx, workflow, slot, Claimed::fired(&run.id), &ts(now)).await? {
            return Ok(false);
        }
        insert_run(&mut tx, run, steps, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn fail_slot_run_inner(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run: &NewRun,
        error: &str,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let claimed = Claimed {
            run_id: &run.id,
            state: SlotState::Failed,
            reason: Some(error),
        };
        let mut tx = self.begin_write().await?;
        if !insert_slot(&mut tx, workflow, slot, claimed, &ts(now)).await? {
            return Ok(false);
        }
        insert_run(&mut tx, run, &[], now).await?;
        sqlx::query("UPDATE runs SET status = $1, error = $2, finished_at = $3 WHERE id = $4")
            .bind(RunStatus::Failed.as_str())
            .bind(error)
            .bind(ts(now))
            .bind(&run.id)
            .execute(&mut *tx)
            .await?;
        enqueue(&mut tx, &run.id, RunStatus::Failed, Some(error), &ts(now)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn last_slot_inner(&self, workflow: &str) -> Result<Option<SlotRecord>, StoreError> {
        let row = sqlx::query(concat!(
            slot_columns!(),
            "WHERE s.workflow_name = $1 ORDER BY s.slot_at DESC LIMIT 1"
        ))
        .bind(workflow)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(slot_from_row).transpose()
    }

    async fn list_slots_inner(
        &self,
        workflow: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SlotRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            slot_columns!(),
            "WHERE ($1 IS NULL OR s.workflow_name = $1) \
             ORDER BY s.slot_at DESC, s.workflow_name LIMIT $2"
        ))
        .bind(workflow)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(slot_from_row).collect()
    }
}

#[async_trait::async_trait]
impl ScheduleStore for Store {
    async fn claim_slot(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run_id: &RunId,
    ) -> Result<bool, StoreError> {
        self.classified(self.claim_slot_inner(workflow, slot, run_id))
            .await
    }

    async fn skip_slot(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run_id: &RunId,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.classified(self.skip_slot_inner(workflow, slot, run_id, reason))
            .await
    }

    async fn record_missed_slots(
        &self,
        missed: &MissedSlots,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        self.classified(self.record_missed_slots_inner(missed))
            .await
    }

    async fn start_slot_run(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run: &NewRun,
        steps: &[NewStep],
    ) -> Result<bool, StoreError> {
        self.classified(self.start_slot_run_inner(workflow, slot, run, steps))
            .await
    }

    async fn fail_slot_run(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run: &NewRun,
        error: &str,
    ) -> Result<bool, StoreError> {
        self.classified(self.fail_slot_run_inner(workflow, slot, run, error))
            .await
    }

    async fn last_slot(&self, workflow: &str) -> Result<Option<SlotRecord>, StoreError> {
        self.classified(self.last_slot_inner(workflow)).await
    }

    async fn list_slots(
        &self,
        workflow: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SlotRecord>, StoreError> {
        self.classified(self.list_slots_inner(workflow, limit))
            .await
    }
}
