//! [`StepStore`]: reading step runs and attempts, and the trait's entry points for
//! the guarded state changes in `transitions.rs`.

use sqlx::{QueryBuilder, Row};

use super::codec::{
    attempt_columns, attempt_from_row, get_count, parse_step_state, step_columns, step_from_row,
};
use super::dialect::{Db, Store, load_steps, sql};
use crate::ids::{RunId, StepId};
use crate::store::attempt::{AttemptRecord, NewAttempt};
use crate::store::batch::WriteBatch;
use crate::store::error::StoreError;
use crate::store::run::Lease;
use crate::store::step::{AssetTotal, StepCount, StepKey, StepPage, StepRecord, StepState};
use crate::store::traits::StepStore;

impl Store {
    async fn fetch_steps(
        &self,
        query: &mut QueryBuilder<Db>,
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

    async fn count_steps_inner(&self, run_id: &RunId) -> Result<Vec<StepCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.step_id, s.state, COUNT(*) AS n, f.first_seq FROM step_runs s \
             JOIN (SELECT step_id, MIN(seq) AS first_seq FROM step_runs WHERE run_id = $1 \
                   GROUP BY step_id) f ON f.step_id = s.step_id \
             WHERE s.run_id = $1 GROUP BY s.step_id, s.state, f.first_seq",
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
                    count: get_count(row, "n")?,
                };
                Ok((row.try_get::<i64, _>("first_seq")?, count))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Steps in plan order, states in lifecycle order.
        counts.sort_by_key(|(first, count)| (*first, count.state));
        Ok(counts.into_iter().map(|(_, count)| count).collect())
    }

    async fn asset_totals_inner(
        &self,
        runs: &[RunId],
        step_id: Option<&StepId>,
    ) -> Result<Vec<AssetTotal>, StoreError> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        // Amounts are decimal text: the database groups equal ones and counts them, and the
        // sum is made here, exactly, never in the database's floating point.
        let mut query = QueryBuilder::<Db>::new(concat!(
            "SELECT state, COALESCE(",
            sql!(request_field "asset"),
            ", ",
            sql!(request_field "currency"),
            ") AS asset, ",
            sql!(request_field "amount"),
            " AS amount, COUNT(*) AS n FROM step_runs WHERE request_json IS NOT NULL AND run_id IN ("
        ));
        let mut list = query.separated(", ");
        for run in runs {
            list.push_bind(run);
        }
        query.push(")");
        if let Some(step) = step_id {
            query.push(" AND step_id = ").push_bind(step);
        }
        query.push(" GROUP BY state, asset, amount");
        let rows = query.build().fetch_all(&self.pool).await?;
        let mut totals: std::collections::BTreeMap<
            (StepState, String),
            (rust_decimal::Decimal, u64),
        > = std::collections::BTreeMap::new();
        for row in &rows {
            let asset: Option<String> = row.try_get("asset")?;
            let amount: Option<String> = row.try_get("amount")?;
            let (Some(asset), Some(Ok(amount))) =
                (asset, amount.map(|a| a.parse::<rust_decimal::Decimal>()))
            else {
                continue;
            };
            let state = parse_step_state(&row.try_get::<String, _>("state")?)?;
            let count = get_count(row, "n")?;
            let entry = totals.entry((state, asset)).or_default();
            entry.0 += amount * rust_decimal::Decimal::from(count);
            entry.1 += count;
        }
        Ok(totals
            .into_iter()
            .map(|((state, asset), (total, count))| AssetTotal {
                state,
                asset,
                total,
                count,
            })
            .collect())
    }

    async fn load_step_attempts_inner(
        &self,
        key: &StepKey,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            attempt_columns!(),
            " FROM attempts WHERE run_id = $1 AND step_id = $2 AND item_key = $3 ORDER BY id"
        ))
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&key.item_key)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(attempt_from_row).collect()
    }

    async fn recent_attempts_inner(
        &self,
        run_id: &RunId,
        limit: u32,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            attempt_columns!(),
            " FROM attempts WHERE run_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(run_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut recent = rows
            .iter()
            .map(attempt_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        recent.reverse();
        Ok(recent)
    }

    async fn load_attempts_inner(&self, run_id: &RunId) -> Result<Vec<AttemptRecord>, StoreError> {
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
impl StepStore for Store {
    async fn load_steps(&self, run_id: &RunId) -> Result<Vec<StepRecord>, StoreError> {
        self.classified(load_steps(self, run_id, None)).await
    }

    async fn load_step_rows(
        &self,
        run_id: &RunId,
        step_id: &StepId,
    ) -> Result<Vec<StepRecord>, StoreError> {
        self.classified(load_steps(self, run_id, Some(step_id)))
            .await
    }

    async fn page_steps(&self, page: &StepPage) -> Result<Vec<StepRecord>, StoreError> {
        let mut query = QueryBuilder::new(concat!(
            "SELECT ",
            step_columns!(),
            " FROM step_runs WHERE run_id = "
        ));
        query
            .push_bind(&page.run_id)
            .push(" AND step_id = ")
            .push_bind(&page.step_id);
        if let Some(state) = page.state {
            query.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(prefix) = &page.key_prefix {
            // `substr` rather than `LIKE`: the same case-sensitive match on both backends,
            // with no wildcard in the operator's text to escape.
            query
                .push(" AND substr(item_key, 1, length(CAST(")
                .push_bind(prefix)
                .push(" AS TEXT))) = ")
                .push_bind(prefix);
        }
        if let Some(after) = page.after_seq {
            query.push(" AND seq > ").push_bind(after);
        }
        query
            .push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(page.limit));
        self.classified(self.fetch_steps(&mut query)).await
    }

    async fn asset_totals(
        &self,
        runs: &[RunId],
        step_id: Option<&StepId>,
    ) -> Result<Vec<AssetTotal>, StoreError> {
        self.classified(self.asset_totals_inner(runs, step_id))
            .await
    }

    async fn load_step(&self, key: &StepKey) -> Result<StepRecord, StoreError> {
        self.classified(self.load_step_inner(key)).await
    }

    async fn steps_in_state(
        &self,
        run_id: &RunId,
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
        self.classified(self.fetch_steps(&mut query)).await
    }

    async fn waiting_steps(&self) -> Result<Vec<StepRecord>, StoreError> {
        let mut query = QueryBuilder::new(concat!(
            "SELECT ",
            step_columns!(),
            " FROM step_runs WHERE state = 'waiting' ORDER BY run_id",
            sql!(by_bytes),
            ", seq"
        ));
        self.classified(self.fetch_steps(&mut query)).await
    }

    async fn count_steps(&self, run_id: &RunId) -> Result<Vec<StepCount>, StoreError> {
        self.classified(self.count_steps_inner(run_id)).await
    }

    async fn commit_batch(&self, lease: &Lease, batch: &WriteBatch) -> Result<(), StoreError> {
        self.classified(self.commit_batch_inner(lease, batch)).await
    }

    async fn reset_failed_items(
        &self,
        run_id: &RunId,
        step_id: Option<&StepId>,
    ) -> Result<u64, StoreError> {
        self.classified(self.reset_failed_items_inner(run_id, step_id))
            .await
    }

    async fn record_attempts(&self, batch: &[NewAttempt]) -> Result<(), StoreError> {
        self.classified(self.record_attempts_inner(batch)).await
    }

    async fn load_step_attempts(&self, key: &StepKey) -> Result<Vec<AttemptRecord>, StoreError> {
        self.classified(self.load_step_attempts_inner(key)).await
    }

    async fn recent_attempts(
        &self,
        run_id: &RunId,
        limit: u32,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        self.classified(self.recent_attempts_inner(run_id, limit))
            .await
    }

    async fn load_attempts(&self, run_id: &RunId) -> Result<Vec<AttemptRecord>, StoreError> {
        self.classified(self.load_attempts_inner(run_id)).await
    }
}
