//! [`StepStore`]: reading step runs and attempts, and the trait's entry points for
//! the guarded state changes in `transitions.rs`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use sqlx::{QueryBuilder, Row};

use super::codec::{
    attempt_columns, attempt_from_row, get_count, get_opt_json, parse_step_state, step_columns,
    step_from_row,
};
use super::dialect::{Db, DbRow, Store, load_steps, sql};
use crate::ids::{RunId, StepId};
use crate::store::amount::{RequestAmount, UNITS_SPLIT, total_of};
use crate::store::attempt::{AttemptRecord, NewAttempt};
use crate::store::batch::WriteBatch;
use crate::store::error::StoreError;
use crate::store::run::Lease;
use crate::store::step::{AssetTotal, StepCount, StepKey, StepPage, StepRecord, StepState};
use crate::store::traits::StepStore;

/// Amounts by state and asset, added up exactly.
#[derive(Default)]
struct Totals(BTreeMap<(StepState, String), (Decimal, u64)>);

impl Totals {
    /// Adds `count` rows summing to `total` in the state and asset `row` names.
    fn add(&mut self, row: &DbRow, total: Decimal, count: u64) -> Result<(), StoreError> {
        let state = parse_step_state(&row.try_get::<String, _>("state")?)?;
        let asset: String = row.try_get("asset")?;
        let entry = self.0.entry((state, asset)).or_default();
        entry.0 = entry
            .0
            .checked_add(total)
            .ok_or_else(|| StoreError::Corrupt {
                column: "amount_units",
                value: "a total past 28 digits".into(),
            })?;
        entry.1 += count;
        Ok(())
    }

    fn into_list(self) -> Vec<AssetTotal> {
        self.0
            .into_iter()
            .map(|((state, asset), (total, count))| AssetTotal {
                state,
                asset,
                total,
                count,
            })
            .collect()
    }
}

/// `run_id IN (runs)`, and `step_id = step` when given.
fn of_runs(query: &mut QueryBuilder<Db>, runs: &[RunId], step_id: Option<&StepId>) {
    query.push("run_id IN (");
    let mut list = query.separated(", ");
    for run in runs {
        list.push_bind(run.clone());
    }
    query.push(")");
    if let Some(step) = step_id {
        query.push(" AND step_id = ").push_bind(step.clone());
    }
}

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
        // In the order of `step_runs_totals`, read from it alone.
        let rows = sqlx::query(
            "SELECT step_id, state, COUNT(*) AS n, MIN(seq) AS first_seq FROM step_runs \
             WHERE run_id = $1 GROUP BY step_id, state",
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
        // Steps in plan order (by their first row), states in lifecycle order.
        let mut first: BTreeMap<StepId, i64> = BTreeMap::new();
        for (seq, count) in &counts {
            let at = first.entry(count.step_id.clone()).or_insert(*seq);
            *at = (*at).min(*seq);
        }
        counts.sort_by_key(|(_, count)| (first[&count.step_id], count.state));
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
        let mut totals = Totals::default();
        // The amounts kept as digits and scale: summed by the database from an index, each
        // sum split in two so that neither overflows 64 bits (see `store::amount`).
        let mut query =
            QueryBuilder::<Db>::new("SELECT state, asset, amount_scale, CAST(SUM(amount_units / ");
        query
            .push_bind(UNITS_SPLIT)
            .push(") AS BIGINT) AS high, CAST(SUM(amount_units % ")
            .push_bind(UNITS_SPLIT)
            .push(") AS BIGINT) AS low, COUNT(*) AS n FROM step_runs WHERE ");
        of_runs(&mut query, runs, step_id);
        // Grouped in the order of the index that holds them (`step_runs_totals`), so that
        // nothing is sorted; the steps are added together here.
        query.push(
            " AND asset IS NOT NULL AND amount_units IS NOT NULL \
             GROUP BY run_id, step_id, state, asset, amount_scale",
        );
        for row in query.build().fetch_all(&self.pool).await? {
            let scale: i64 = row.try_get("amount_scale")?;
            let (high, low): (i64, i64) = (row.try_get("high")?, row.try_get("low")?);
            let total = total_of(high, low, scale).ok_or_else(|| StoreError::Corrupt {
                column: "amount_units",
                value: format!("a total past 28 digits at scale {scale}"),
            })?;
            totals.add(&row, total, get_count(&row, "n")?)?;
        }
        // Amounts too long for 64 bits, and rows written before the columns: from their
        // requests, parsed here, exactly.
        let mut query =
            QueryBuilder::<Db>::new("SELECT state, asset, request_json FROM step_runs WHERE ");
        of_runs(&mut query, runs, step_id);
        query.push(" AND asset IS NOT NULL AND amount_units IS NULL");
        for row in query.build().fetch_all(&self.pool).await? {
            let request = get_opt_json(&row, "request_json")?;
            if let Some(found) = request.as_ref().and_then(RequestAmount::of) {
                totals.add(&row, found.amount, 1)?;
            }
        }
        Ok(totals.into_list())
    }

    async fn load_step_attempts_inner(
        &self,
        key: &StepKey,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            attempt_columns!(),
            // Attempt numbers only grow, so this is recording order, read in the order of
            // `attempts_by_step` (ordering by `id` alone would walk the run's every attempt).
            " FROM attempts WHERE run_id = $1 AND step_id = $2 AND item_key = $3 \
             ORDER BY attempt_no, id"
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
            // The keys starting with `prefix` are a range in byte order, which an index
            // answers; the same case-sensitive match on both backends, with no wildcard in
            // the operator's text to escape (as `LIKE` would need).
            query
                .push(concat!(" AND item_key", sql!(by_bytes), " >= "))
                .push_bind(prefix.clone());
            if let Some(end) = page.key_end() {
                query
                    .push(concat!(" AND item_key", sql!(by_bytes), " < "))
                    .push_bind(end);
            }
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
