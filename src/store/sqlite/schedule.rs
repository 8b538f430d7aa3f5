//! [`ScheduleStore`] on SQLite: a slot is a row keyed by workflow and instant, inserted with
//! `ON CONFLICT DO NOTHING`, so exactly one claimer across processes sees it inserted.

use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection};

use super::SqliteStore;
use super::codec::{parse_ts, ts};
use super::runs::insert_run;
use crate::store::error::StoreError;
use crate::store::run::{NewRun, RunStatus};
use crate::store::schedule::SlotRecord;
use crate::store::step::NewStep;
use crate::store::traits::ScheduleStore;

/// Inserts the slot row unless it exists; `true` if this call inserted it.
async fn insert_slot(
    conn: &mut SqliteConnection,
    workflow: &str,
    slot: DateTime<Utc>,
    run_id: &str,
    now: &str,
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

impl SqliteStore {
    async fn claim_slot_inner(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run_id: &str,
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
                slot_at: parse_ts("slot_at", &row.try_get::<String, _>("slot_at")?)?,
                run_id: row.try_get("run_id")?,
                claimed_at: parse_ts("claimed_at", &row.try_get::<String, _>("claimed_at")?)?,
            })
        })
        .transpose()
    }
}

#[async_trait::async_trait]
impl ScheduleStore for SqliteStore {
    async fn claim_slot(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run_id: &str,
    ) -> Result<bool, StoreError> {
        let result = self.claim_slot_inner(workflow, slot, run_id).await;
        result.map_err(|e| self.classify(e))
    }

    async fn start_slot_run(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run: &NewRun,
        steps: &[NewStep],
    ) -> Result<bool, StoreError> {
        let result = self.start_slot_run_inner(workflow, slot, run, steps).await;
        result.map_err(|e| self.classify(e))
    }

    async fn fail_slot_run(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run: &NewRun,
        error: &str,
    ) -> Result<bool, StoreError> {
        let result = self.fail_slot_run_inner(workflow, slot, run, error).await;
        result.map_err(|e| self.classify(e))
    }

    async fn last_slot(&self, workflow: &str) -> Result<Option<SlotRecord>, StoreError> {
        let result = self.last_slot_inner(workflow).await;
        result.map_err(|e| self.classify(e))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::store::sqlite::SqliteConfig;
    use crate::store::sqlite::testing::{new_run, store_in, t0};
    use crate::store::traits::{RunStore, StepStore};

    #[tokio::test]
    async fn a_slot_is_claimed_once_across_two_handles() {
        let dir = tempfile::tempdir().unwrap();
        let (first, clock) = store_in(&dir).await;
        let second = SqliteStore::open(SqliteConfig::new(first.path()).clock(clock))
            .await
            .unwrap();
        let slot = t0();
        assert!(
            first
                .claim_slot("payroll", slot, "run_payroll_1")
                .await
                .unwrap()
        );
        assert!(
            !second
                .claim_slot("payroll", slot, "run_payroll_1")
                .await
                .unwrap()
        );
        assert!(
            !first
                .claim_slot("payroll", slot, "run_other")
                .await
                .unwrap()
        );
        // Another slot, or another workflow's same instant, is free.
        let next = slot + TimeDelta::weeks(1);
        assert!(
            second
                .claim_slot("payroll", next, "run_payroll_2")
                .await
                .unwrap()
        );
        assert!(
            second
                .claim_slot("sweep", slot, "run_sweep_1")
                .await
                .unwrap()
        );

        let last = first.last_slot("payroll").await.unwrap().unwrap();
        assert_eq!(
            (last.slot_at, last.run_id.as_str(), last.claimed_at),
            (next, "run_payroll_2", t0())
        );
        assert_eq!(first.last_slot("nightly").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_slot_run_is_created_with_its_claim_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        let run = NewRun {
            scheduled_for: Some(t0()),
            ..new_run("run_payroll_20250307T0900Z")
        };
        let steps = [NewStep::step("fund"), NewStep::item("pay", "e1")];
        assert!(
            store
                .start_slot_run("payroll", t0(), &run, &steps)
                .await
                .unwrap()
        );
        assert!(
            !store
                .start_slot_run("payroll", t0(), &run, &steps)
                .await
                .unwrap()
        );
        assert_eq!(
            store.load_run(&run.id).await.unwrap().scheduled_for,
            Some(t0())
        );
        assert_eq!(store.load_steps(&run.id).await.unwrap().len(), 2);

        // A run that cannot be created leaves the slot unclaimed.
        let next = t0() + TimeDelta::weeks(1);
        let error = store
            .start_slot_run("payroll", next, &run, &steps)
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::RunExists { .. }), "{error:?}");
        assert_eq!(
            store.last_slot("payroll").await.unwrap().unwrap().slot_at,
            t0()
        );
    }

    #[tokio::test]
    async fn a_slot_that_cannot_start_is_claimed_with_a_failed_run() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        let run = NewRun {
            scheduled_for: Some(t0()),
            ..new_run("sched_payroll_20250307T090000Z")
        };
        let error = "cannot read `payroll/2025-03-07.csv` for input `payees`";
        assert!(
            store
                .fail_slot_run("payroll", t0(), &run, error)
                .await
                .unwrap()
        );
        let record = store.load_run(&run.id).await.unwrap();
        assert_eq!(
            (record.status, record.error.as_deref(), record.finished_at),
            (RunStatus::Failed, Some(error), Some(t0()))
        );
        assert!(store.load_steps(&run.id).await.unwrap().is_empty());
        // Fired already: by a failure, or by a run.
        assert!(
            !store
                .fail_slot_run("payroll", t0(), &run, error)
                .await
                .unwrap()
        );
        assert!(
            !store
                .start_slot_run("payroll", t0(), &run, &[])
                .await
                .unwrap()
        );
        assert_eq!(
            store.last_slot("payroll").await.unwrap().unwrap().run_id,
            run.id
        );
    }
}
