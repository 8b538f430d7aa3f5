//! [`ScheduleStore`]: a slot is a row keyed by workflow and instant, inserted with
//! `ON CONFLICT DO NOTHING`, so exactly one claimer across processes sees it inserted.
//!
//! On Postgres a second claimer racing the first waits on the primary key until the first
//! transaction ends: it conflicts if the first committed, and claims the slot itself if the
//! first rolled back (say, its run could not be created), so a slot fires once, never zero
//! times for a failed attempt.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::dialect::{Conn, Store, Ts, get_ts, ts};
use super::runs::insert_run;
use crate::ids::RunId;
use crate::store::error::StoreError;
use crate::store::run::{NewRun, RunStatus};
use crate::store::schedule::SlotRecord;
use crate::store::step::NewStep;
use crate::store::traits::ScheduleStore;

/// Inserts the slot row unless it exists; `true` if this call inserted it.
async fn insert_slot(
    conn: &mut Conn,
    workflow: &str,
    slot: DateTime<Utc>,
    run_id: &RunId,
    now: &Ts,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "INSERT INTO schedule_slots (workflow_name, slot_at, run_id, claimed_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (workflow_name, slot_at) DO NOTHING",
    )
    .bind(workflow)
    .bind(ts(slot))
    .bind(run_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
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
        let claimed = insert_slot(&mut tx, workflow, slot, run_id, &now).await?;
        tx.commit().await?;
        Ok(claimed)
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
        if !insert_slot(&mut tx, workflow, slot, &run.id, &ts(now)).await? {
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
        let mut tx = self.begin_write().await?;
        if !insert_slot(&mut tx, workflow, slot, &run.id, &ts(now)).await? {
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
        tx.commit().await?;
        Ok(true)
    }

    async fn last_slot_inner(&self, workflow: &str) -> Result<Option<SlotRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT workflow_name, slot_at, run_id, claimed_at FROM schedule_slots \
             WHERE workflow_name = $1 ORDER BY slot_at DESC LIMIT 1",
        )
        .bind(workflow)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SlotRecord {
                workflow_name: row.try_get("workflow_name")?,
                slot_at: get_ts(&row, "slot_at")?,
                run_id: row.try_get("run_id")?,
                claimed_at: get_ts(&row, "claimed_at")?,
            })
        })
        .transpose()
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
}
