//! [`StepStore`] on SQLite: reading step runs and attempts, and the trait's entry points for
//! the guarded state changes in `transitions.rs`.

use sqlx::{QueryBuilder, Row, Sqlite};

use super::SqliteStore;
use super::codec::{
    attempt_columns, attempt_from_row, parse_step_state, step_columns, step_from_row,
};
use crate::store::attempt::{AttemptRecord, NewAttempt};
use crate::store::error::StoreError;
use crate::store::run::Lease;
use crate::store::step::{
    Attention, Checkpoint, Dispatch, RetryLater, Skip, StepCount, StepKey, StepRecord, StepResult,
    StepState, Waiting,
};
use crate::store::traits::StepStore;

/// Rows per page when a run's step runs are read in pages.
const PAGE_ROWS: i64 = 2_000;

impl SqliteStore {
    /// Every step run of a run, read a page at a time inside one read transaction (one
    /// snapshot): the rows of a 100,000-item run as SQLite hands them over take several times
    /// the memory of the records made from them, so only one page of them exists at a time.
    async fn load_steps_inner(&self, run_id: &str) -> Result<Vec<StepRecord>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut records = Vec::new();
        let mut after = -1_i64;
        loop {
            let rows = sqlx::query(concat!(
                "SELECT ",
                step_columns!(),
                " FROM step_runs WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ))
            .bind(run_id)
            .bind(after)
            .bind(PAGE_ROWS)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("seq")?;
            records.reserve(rows.len());
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
        let result = self.load_steps_inner(run_id).await;
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

    async fn mark_dispatching(&self, lease: &Lease, batch: &[Dispatch]) -> Result<(), StoreError> {
        let result = self.mark_dispatching_inner(lease, batch).await;
        result.map_err(|e| self.classify(e))
    }

    async fn record_checkpoints(&self, batch: &[Checkpoint]) -> Result<(), StoreError> {
        let result = self.record_checkpoints_inner(batch).await;
        result.map_err(|e| self.classify(e))
    }

    async fn record_results(&self, batch: &[StepResult]) -> Result<(), StoreError> {
        let result = self.record_results_inner(batch).await;
        result.map_err(|e| self.classify(e))
    }

    async fn record_retries(&self, batch: &[RetryLater]) -> Result<(), StoreError> {
        let result = self.record_retries_inner(batch).await;
        result.map_err(|e| self.classify(e))
    }

    async fn mark_waiting(&self, batch: &[Waiting]) -> Result<(), StoreError> {
        let result = self.mark_waiting_inner(batch).await;
        result.map_err(|e| self.classify(e))
    }

    async fn mark_skipped(&self, batch: &[Skip]) -> Result<(), StoreError> {
        let result = self.mark_skipped_inner(batch).await;
        result.map_err(|e| self.classify(e))
    }

    async fn mark_needs_attention(&self, batch: &[Attention]) -> Result<(), StoreError> {
        let result = self.mark_needs_attention_inner(batch).await;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeDelta;
    use serde_json::json;

    use super::*;
    use crate::store::sqlite::testing::{attempt, dispatch, leased_run, new_run, store_in, t0};
    use crate::store::step::{NewStep, Outcome, StepError};
    use crate::store::traits::{RunStore, Store};

    #[tokio::test]
    async fn two_phase_checkpoints_retries_and_attention() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        let lease = leased_run(&store, &["e1", "e2", "e3"]).await;
        let batch = [
            dispatch("e1", "1.00"),
            dispatch("e2", "2.00"),
            dispatch("e3", "3.00"),
        ];
        store.mark_dispatching(&lease, &batch).await.unwrap();
        let (e1, e2, e3) = (
            StepKey::item("run_a", "pay", "e1"),
            StepKey::item("run_a", "pay", "e2"),
            StepKey::item("run_a", "pay", "e3"),
        );

        // e1: created, quote checkpointed before commit; in flight it cannot be re-dispatched.
        let quote = json!({"quote_id": "q_1", "expires_at": "2025-03-07T09:05:00Z"});
        store
            .record_checkpoints(&[Checkpoint {
                key: e1.clone(),
                provider_ref: "tr_1".into(),
                checkpoint: quote.clone(),
            }])
            .await
            .unwrap();
        let step = store.load_step(&e1).await.unwrap();
        assert_eq!(step.state, StepState::InFlight);
        assert_eq!(
            (step.provider_ref.as_deref(), step.checkpoint),
            (Some("tr_1"), Some(quote))
        );
        let error = store
            .mark_dispatching(&lease, &[dispatch("e1", "1.00")])
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            StoreError::InvalidTransition {
                from: StepState::InFlight,
                ..
            }
        ));

        // e2: a 503 before anything landed: back to pending, due later. e1's commit: stays in flight.
        let later = t0() + TimeDelta::seconds(2);
        let retries = [e2.clone(), e1.clone()].map(|key| RetryLater {
            key,
            error: StepError::new("retryable", "HTTP 503"),
            next_attempt_at: later,
            attempt: None,
        });
        store.record_retries(&retries).await.unwrap();
        let step = store.load_step(&e2).await.unwrap();
        assert_eq!(
            (step.state, step.next_attempt_at),
            (StepState::Pending, Some(later))
        );
        assert_eq!(step.error, Some(StepError::new("retryable", "HTTP 503")));
        assert_eq!(
            store.load_step(&e1).await.unwrap().state,
            StepState::InFlight
        );

        // e3: in doubt, lookup cannot tell.
        store
            .mark_needs_attention(&[Attention {
                key: e3.clone(),
                message: "check transfer for sl_… at whalestack".into(),
            }])
            .await
            .unwrap();
        let step = store.load_step(&e3).await.unwrap();
        assert_eq!(step.state, StepState::NeedsAttention);
        assert_eq!(
            step.error.unwrap().message,
            "check transfer for sl_… at whalestack"
        );
        let doubt = store
            .steps_in_state("run_a", &[StepState::InFlight, StepState::NeedsAttention])
            .await
            .unwrap();
        assert_eq!(doubt.iter().map(|s| &s.key).collect::<Vec<_>>(), [&e1, &e3]);
        assert!(store.steps_in_state("run_a", &[]).await.unwrap().is_empty());

        let attempt = attempt("e1", "absent");
        store
            .record_attempts(std::slice::from_ref(&attempt))
            .await
            .unwrap();
        assert_eq!(
            store.load_attempts("run_a").await.unwrap()[0].attempt,
            attempt
        );
        let mut orphan = attempt;
        orphan.key.item_key = "e404".into();
        assert!(matches!(
            store.record_attempts(&[orphan]).await,
            Err(StoreError::StepNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn waiting_and_skipping() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        // The engine holds the store as a trait object; code that needs less takes less.
        let store: Arc<dyn Store> = Arc::new(store);
        let runs: &dyn RunStore = &*store;
        let steps = [
            NewStep::step("funded"),
            NewStep::step("note"),
            NewStep::step("pay"),
        ];
        runs.create_run(&new_run("run_a"), &steps).await.unwrap();
        let funded = StepKey::step("run_a", "funded");
        let deadline = t0() + TimeDelta::hours(2);
        store
            .mark_waiting(&[Waiting {
                key: funded.clone(),
                request: Some(json!({"event": "SWAP_COMPLETED", "match": {"id": "sw_1"}})),
                next_check_at: Some(t0() + TimeDelta::minutes(5)),
                deadline_at: Some(deadline),
            }])
            .await
            .unwrap();
        let waiting = store.waiting_steps().await.unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].key, funded);
        assert_eq!(waiting[0].deadline_at, Some(deadline));
        assert_eq!(waiting[0].request.as_ref().unwrap()["match"]["id"], "sw_1");

        store
            .mark_skipped(&[Skip {
                key: StepKey::step("run_a", "note"),
                reason: "if: was false".into(),
            }])
            .await
            .unwrap();
        let note = store
            .load_step(&StepKey::step("run_a", "note"))
            .await
            .unwrap();
        assert_eq!(
            (note.state, note.skip_reason.as_deref()),
            (StepState::Skipped, Some("if: was false"))
        );
        // A skipped step does not start waiting.
        let error = store
            .mark_waiting(&[Waiting {
                key: StepKey::step("run_a", "note"),
                request: None,
                next_check_at: None,
                deadline_at: None,
            }])
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            StoreError::InvalidTransition {
                from: StepState::Skipped,
                to: StepState::Waiting,
                ..
            }
        ));

        store
            .record_results(&[StepResult {
                key: funded.clone(),
                outcome: Outcome::Succeeded {
                    output: json!({"state": "COMPLETED"}),
                    provider_ref: None,
                },
                attempt: None,
            }])
            .await
            .unwrap();
        assert!(store.waiting_steps().await.unwrap().is_empty());
    }
}
