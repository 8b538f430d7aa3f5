//! [`StepStore`] on SQLite: reading step runs and attempts, and the trait's entry points for
//! the guarded state changes in `transitions.rs`.

use sqlx::{QueryBuilder, Row, Sqlite};

use super::SqliteStore;
use super::codec::{
    attempt_columns, attempt_from_row, parse_step_state, step_columns, step_from_row,
};
use crate::store::attempt::{AttemptRecord, NewAttempt};
use crate::store::batch::WriteBatch;
use crate::store::error::StoreError;
use crate::store::run::Lease;
use crate::store::step::{StepCount, StepKey, StepRecord, StepState};
use crate::store::traits::StepStore;

/// Rows per page when a run's step runs are read in pages.
const PAGE_ROWS: i64 = 2_000;

impl SqliteStore {
    /// Every step run of a run (or of one step of it), read a page at a time inside one read
    /// transaction (one snapshot): the rows of a 100,000-item run as SQLite hands them over
    /// take several times the memory of the records made from them, so only one page of them
    /// exists at a time.
    async fn load_steps_inner(
        &self,
        run_id: &str,
        step_id: Option<&str>,
    ) -> Result<Vec<StepRecord>, StoreError> {
        let mut tx = self.pool.begin().await?;
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

    async fn fetch_steps(
        &self,
        query: &mut QueryBuilder<Sqlite>,
    ) -> Result<Vec<StepRecord>, StoreError> {
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(step_from_row).collect()
    }

    async fn load_step_inner(&self, key: &StepKey) -> Result<StepRecord, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            step_columns!(),
            " FROM step_runs WHERE run_id = $1 AND step_id = $2 AND item_key = $3"
        ))
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&key.item_key)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::StepNotFound { key: key.clone() })?;
        step_from_row(&row)
    }

    async fn count_steps_inner(&self, run_id: &str) -> Result<Vec<StepCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.step_id, s.state, COUNT(*) AS n, f.first FROM step_runs s \
             JOIN (SELECT step_id, MIN(seq) AS first FROM step_runs WHERE run_id = $1 \
                   GROUP BY step_id) f ON f.step_id = s.step_id \
             WHERE s.run_id = $1 GROUP BY s.step_id, s.state, f.first",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = rows
            .iter()
            .map(|row| {
                let count = StepCount {
                    step_id: row.try_get("step_id")?,
                    state: parse_step_state(&row.try_get::<String, _>("state")?)?,
                    count: u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0),
                };
                Ok((row.try_get::<i64, _>("first")?, count))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Steps in plan order, states in lifecycle order.
        counts.sort_by_key(|(first, count)| (*first, count.state));
        Ok(counts.into_iter().map(|(_, count)| count).collect())
    }

    async fn load_attempts_inner(&self, run_id: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            attempt_columns!(),
            " FROM attempts WHERE run_id = $1 ORDER BY id"
        ))
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(attempt_from_row).collect()
    }
}

#[async_trait::async_trait]
impl StepStore for SqliteStore {
    async fn load_steps(&self, run_id: &str) -> Result<Vec<StepRecord>, StoreError> {
        let result = self.load_steps_inner(run_id, None).await;
        result.map_err(|e| self.classify(e))
    }

    async fn load_step_rows(
        &self,
        run_id: &str,
        step_id: &str,
    ) -> Result<Vec<StepRecord>, StoreError> {
        let result = self.load_steps_inner(run_id, Some(step_id)).await;
        result.map_err(|e| self.classify(e))
    }

    async fn load_step(&self, key: &StepKey) -> Result<StepRecord, StoreError> {
        let result = self.load_step_inner(key).await;
        result.map_err(|e| self.classify(e))
    }

    async fn steps_in_state(
        &self,
        run_id: &str,
        states: &[StepState],
    ) -> Result<Vec<StepRecord>, StoreError> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::new(concat!(
            "SELECT ",
            step_columns!(),
            " FROM step_runs WHERE run_id = "
        ));
        query.push_bind(run_id).push(" AND state IN (");
        let mut list = query.separated(", ");
        for state in states {
            list.push_bind(state.as_str());
        }
        query.push(") ORDER BY seq");
        let result = self.fetch_steps(&mut query).await;
        result.map_err(|e| self.classify(e))
    }

    async fn waiting_steps(&self) -> Result<Vec<StepRecord>, StoreError> {
        let mut query = QueryBuilder::new(concat!(
            "SELECT ",
            step_columns!(),
            " FROM step_runs WHERE state = 'waiting' ORDER BY run_id, seq"
        ));
        let result = self.fetch_steps(&mut query).await;
        result.map_err(|e| self.classify(e))
    }

    async fn count_steps(&self, run_id: &str) -> Result<Vec<StepCount>, StoreError> {
        let result = self.count_steps_inner(run_id).await;
        result.map_err(|e| self.classify(e))
    }

    async fn commit_batch(&self, lease: &Lease, batch: &WriteBatch) -> Result<(), StoreError> {
        let result = self.commit_batch_inner(lease, batch).await;
        result.map_err(|e| self.classify(e))
    }

    async fn reset_failed_items(
        &self,
        run_id: &str,
        step_id: Option<&str>,
    ) -> Result<u64, StoreError> {
        let result = self.reset_failed_items_inner(run_id, step_id).await;
        result.map_err(|e| self.classify(e))
    }

    async fn record_attempts(&self, batch: &[NewAttempt]) -> Result<(), StoreError> {
        let result = self.record_attempts_inner(batch).await;
        result.map_err(|e| self.classify(e))
    }

    async fn load_attempts(&self, run_id: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        let result = self.load_attempts_inner(run_id).await;
        result.map_err(|e| self.classify(e))
    }
}
