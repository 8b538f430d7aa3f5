//! [`RunStore`] on SQLite: creating runs with all their step rows, listing them, and leases.
//!
//! A lease is a compare-and-set on the run's row (`UPDATE … WHERE` nobody else holds an
//! unexpired lease), so two processes on one file cannot both win: SQLite serialises writers.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::SqliteStore;
use super::codec::{
    is_unique_violation, json_text, opt_ts, parse_ts, run_columns, run_from_row, ts,
};
use crate::store::error::StoreError;
use crate::store::run::{Lease, NewRun, RunFilter, RunRecord, RunStatus};
use crate::store::step::{NewStep, StepKey, StepState};
use crate::store::traits::RunStore;

/// Step rows per `INSERT`: 7 parameters each keeps a statement well under SQLite's limit of
/// 32,766 parameters, and large enough that 100,000 items take 200 statements.
const STEP_ROWS_PER_INSERT: usize = 500;

/// Inserts a run and all its step rows on `conn`, inside the caller's transaction.
pub(super) async fn insert_run(
    conn: &mut SqliteConnection,
    run: &NewRun,
    steps: &[NewStep],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut seen = HashSet::with_capacity(steps.len());
    if let Some(step) = steps
        .iter()
        .find(|step| !seen.insert((step.step_id.as_str(), step.item_key.as_str())))
    {
        return Err(StoreError::DuplicateStep {
            key: StepKey::item(&run.id, &step.step_id, &step.item_key),
        });
    }

    let now_text = ts(now);
    let inserted = sqlx::query(
        "INSERT INTO runs (id, workflow_name, workflow_path, workflow_hash, inputs_hash, \
         plan_hash, status, created_at, updated_at, scheduled_for) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $8)",
    )
    .bind(&run.id)
    .bind(&run.workflow_name)
    .bind(&run.workflow_path)
    .bind(&run.workflow_hash)
    .bind(&run.inputs_hash)
    .bind(&run.plan_hash)
    .bind(&now_text)
    .bind(opt_ts(run.scheduled_for))
    .execute(&mut *conn)
    .await;
    match inserted {
        Err(error) if is_unique_violation(&error) => {
            return Err(StoreError::RunExists {
                run_id: run.id.clone(),
            });
        }
        other => other?,
    };
    sqlx::query("INSERT INTO run_inputs (run_id, inputs_json) VALUES ($1, $2)")
        .bind(&run.id)
        .bind(json_text("inputs_json", &run.inputs)?)
        .execute(&mut *conn)
        .await?;

    let mut seq: i64 = 0;
    for chunk in steps.chunks(STEP_ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO step_runs (run_id, step_id, item_key, seq, state, skip_reason, \
             updated_at) ",
        );
        insert.push_values(chunk, |mut row, step| {
            let state = match step.skip_reason {
                Some(_) => StepState::Skipped,
                None => StepState::Pending,
            };
            row.push_bind(&run.id)
                .push_bind(&step.step_id)
                .push_bind(&step.item_key)
                .push_bind(seq)
                .push_bind(state.as_str())
                .push_bind(&step.skip_reason)
                .push_bind(&now_text);
            seq += 1;
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The lease's TTL as a time delta; absurd TTLs are capped at 100 years rather than failing.
fn ttl_delta(ttl: Duration) -> TimeDelta {
    TimeDelta::from_std(ttl)
        .unwrap_or(TimeDelta::MAX)
        .min(TimeDelta::days(36_500))
}

impl SqliteStore {
    async fn create_run_inner(&self, run: &NewRun, steps: &[NewStep]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_run(&mut tx, run, steps, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn load_run_inner(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs JOIN run_inputs ON run_inputs.run_id = runs.id WHERE id = $1"
        ))
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::RunNotFound {
            run_id: run_id.to_owned(),
        })?;
        run_from_row(&row)
    }

    async fn list_runs_inner(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let mut query = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs JOIN run_inputs ON run_inputs.run_id = runs.id WHERE 1 = 1"
        ));
        if let Some(workflow) = &filter.workflow {
            query.push(" AND workflow_name = ").push_bind(workflow);
        }
        if !filter.statuses.is_empty() {
            query.push(" AND status IN (");
            let mut list = query.separated(", ");
            for status in &filter.statuses {
                list.push_bind(status.as_str());
            }
            query.push(")");
        }
        query.push(" ORDER BY created_at DESC, id DESC");
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(run_from_row).collect()
    }

    async fn set_run_status_inner(
        &self,
        run_id: &str,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = ts(self.now());
        let finished = status.is_finished().then(|| now.clone());
        let result = sqlx::query(
            "UPDATE runs SET status = $1, error = $2, updated_at = $3, finished_at = $4 \
             WHERE id = $5",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(&now)
        .bind(finished)
        .bind(run_id)
        .execute(&self.writer)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::RunNotFound {
                run_id: run_id.to_owned(),
            });
        }
        Ok(())
    }

    async fn acquire_lease_inner(
        &self,
        run_id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        let now = self.now();
        let expires_at = now + ttl_delta(ttl);
        let result = sqlx::query(
            "UPDATE runs SET lease_owner = $1, lease_expires_at = $2, updated_at = $3 \
             WHERE id = $4 \
               AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires_at <= $3)",
        )
        .bind(owner)
        .bind(ts(expires_at))
        .bind(ts(now))
        .bind(run_id)
        .execute(&self.writer)
        .await?;
        if result.rows_affected() == 1 {
            return Ok(Lease {
                run_id: run_id.to_owned(),
                owner: owner.to_owned(),
                expires_at,
            });
        }
        match self.current_holder(run_id).await? {
            Some((holder, expires_at)) => Err(StoreError::Leased {
                run_id: run_id.to_owned(),
                owner: holder,
                expires_at,
            }),
            // Released between the two statements; the caller may simply try again.
            None => Err(StoreError::LeaseLost {
                run_id: run_id.to_owned(),
                owner: owner.to_owned(),
                holder: None,
            }),
        }
    }

    async fn take_over_lease_inner(
        &self,
        run_id: &str,
        from: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        let now = self.now();
        let expires_at = now + ttl_delta(ttl);
        let result = sqlx::query(
            "UPDATE runs SET lease_owner = $1, lease_expires_at = $2, updated_at = $3 \
             WHERE id = $4 AND lease_owner = $5",
        )
        .bind(owner)
        .bind(ts(expires_at))
        .bind(ts(now))
        .bind(run_id)
        .bind(from)
        .execute(&self.writer)
        .await?;
        if result.rows_affected() == 1 {
            return Ok(Lease {
                run_id: run_id.to_owned(),
                owner: owner.to_owned(),
                expires_at,
            });
        }
        Err(StoreError::LeaseLost {
            run_id: run_id.to_owned(),
            owner: owner.to_owned(),
            holder: self.current_holder(run_id).await?.map(|(h, _)| h),
        })
    }

    /// Who holds a run's lease (possibly expired).
    ///
    /// # Errors
    /// [`StoreError::RunNotFound`].
    async fn current_holder(
        &self,
        run_id: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let row = sqlx::query("SELECT lease_owner, lease_expires_at FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::RunNotFound {
                run_id: run_id.to_owned(),
            })?;
        let owner: Option<String> = row.try_get("lease_owner")?;
        let expires: Option<String> = row.try_get("lease_expires_at")?;
        match (owner, expires) {
            (Some(owner), Some(expires)) => {
                Ok(Some((owner, parse_ts("lease_expires_at", &expires)?)))
            }
            _ => Ok(None),
        }
    }

    async fn claim_next_run_inner(
        &self,
        owner: &str,
        ttl: Duration,
        statuses: &[RunStatus],
    ) -> Result<Option<Lease>, StoreError> {
        if statuses.is_empty() {
            return Ok(None);
        }
        let now = self.now();
        let expires_at = now + ttl_delta(ttl);
        let mut claim = QueryBuilder::<Sqlite>::new("UPDATE runs SET lease_owner = ");
        claim
            .push_bind(owner)
            .push(", lease_expires_at = ")
            .push_bind(ts(expires_at))
            .push(", updated_at = ")
            .push_bind(ts(now))
            .push(" WHERE id = (SELECT id FROM runs WHERE status IN (");
        let mut list = claim.separated(", ");
        for status in statuses {
            list.push_bind(status.as_str());
        }
        claim
            .push(") AND (lease_owner IS NULL OR lease_expires_at <= ")
            .push_bind(ts(now))
            .push(") ORDER BY created_at, id LIMIT 1) RETURNING id");
        let row = claim.build().fetch_optional(&self.writer).await?;
        row.map(|row| {
            Ok(Lease {
                run_id: row.try_get("id")?,
                owner: owner.to_owned(),
                expires_at,
            })
        })
        .transpose()
    }

    async fn renew_lease_inner(&self, lease: &Lease, ttl: Duration) -> Result<Lease, StoreError> {
        let now = self.now();
        let expires_at = now + ttl_delta(ttl);
        let result = sqlx::query(
            "UPDATE runs SET lease_expires_at = $1, updated_at = $2 \
             WHERE id = $3 AND lease_owner = $4",
        )
        .bind(ts(expires_at))
        .bind(ts(now))
        .bind(&lease.run_id)
        .bind(&lease.owner)
        .execute(&self.writer)
        .await?;
        if result.rows_affected() == 1 {
            return Ok(Lease {
                expires_at,
                ..lease.clone()
            });
        }
        Err(StoreError::LeaseLost {
            run_id: lease.run_id.clone(),
            owner: lease.owner.clone(),
            holder: self
                .current_holder(&lease.run_id)
                .await?
                .map(|(holder, _)| holder),
        })
    }

    async fn release_lease_inner(&self, lease: &Lease) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
             WHERE id = $2 AND lease_owner = $3",
        )
        .bind(ts(self.now()))
        .bind(&lease.run_id)
        .bind(&lease.owner)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl RunStore for SqliteStore {
    async fn create_run(&self, run: &NewRun, steps: &[NewStep]) -> Result<(), StoreError> {
        let result = self.create_run_inner(run, steps).await;
        result.map_err(|e| self.classify(e))
    }

    async fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        let result = self.load_run_inner(run_id).await;
        result.map_err(|e| self.classify(e))
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let result = self.list_runs_inner(filter).await;
        result.map_err(|e| self.classify(e))
    }

    async fn set_run_status(
        &self,
        run_id: &str,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let result = self.set_run_status_inner(run_id, status, error).await;
        result.map_err(|e| self.classify(e))
    }

    async fn acquire_lease(
        &self,
        run_id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        let result = self.acquire_lease_inner(run_id, owner, ttl).await;
        result.map_err(|e| self.classify(e))
    }

    async fn take_over_lease(
        &self,
        run_id: &str,
        from: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        let result = self.take_over_lease_inner(run_id, from, owner, ttl).await;
        result.map_err(|e| self.classify(e))
    }

    async fn claim_next_run(
        &self,
        owner: &str,
        ttl: Duration,
        statuses: &[RunStatus],
    ) -> Result<Option<Lease>, StoreError> {
        let result = self.claim_next_run_inner(owner, ttl, statuses).await;
        result.map_err(|e| self.classify(e))
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<Lease, StoreError> {
        let result = self.renew_lease_inner(lease, ttl).await;
        result.map_err(|e| self.classify(e))
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        let result = self.release_lease_inner(lease).await;
        result.map_err(|e| self.classify(e))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use chrono::TimeDelta;

    use super::*;
    use crate::store::sqlite::SqliteConfig;
    use crate::store::sqlite::testing::{new_run, store_in, t0};
    use crate::store::traits::StepStore;

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn creates_a_run_with_ten_thousand_items_and_loads_them_in_plan_order() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        let mut steps = vec![NewStep::step("check_budget"), NewStep::step("fund")];
        steps.extend((0..10_000).map(|i| NewStep::item("pay", format!("emp-{i:05}"))));
        steps.push(NewStep::item("pay", "emp-zero").skipped("amount is 0"));
        steps.push(NewStep::step("report"));

        let started = Instant::now();
        store.create_run(&new_run("run_big"), &steps).await.unwrap();
        let elapsed = started.elapsed();
        println!("created 10,004 step runs in {elapsed:?}");

        let loaded = store.load_steps("run_big").await.unwrap();
        assert_eq!(loaded.len(), steps.len());
        for (i, (record, step)) in loaded.iter().zip(&steps).enumerate() {
            assert_eq!(record.seq, i as i64);
            assert_eq!(record.key.run_id, "run_big");
            assert_eq!(record.key.step_id, step.step_id);
            assert_eq!(record.key.item_key, step.item_key);
        }
        assert_eq!(loaded[0].state, StepState::Pending);
        assert_eq!(loaded[0].updated_at, t0());
        assert_eq!(loaded[2].key.item_key, "emp-00000");
        let zero = &loaded[10_002];
        assert_eq!(zero.state, StepState::Skipped);
        assert_eq!(zero.skip_reason.as_deref(), Some("amount is 0"));

        let run = store.load_run("run_big").await.unwrap();
        assert_eq!(run.status, RunStatus::Pending);
        assert_eq!(run.inputs["budget"].as_str(), Some("25000.00"));
        assert_eq!(run.created_at, t0());
        assert!(run.lease.is_none() && run.finished_at.is_none());
    }

    #[tokio::test]
    async fn refuses_duplicate_runs_and_steps_without_writing_anything() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        store
            .create_run(&new_run("run_a"), &[NewStep::step("fund")])
            .await
            .unwrap();
        let error = store.create_run(&new_run("run_a"), &[]).await.unwrap_err();
        assert!(matches!(&error, StoreError::RunExists { run_id } if run_id == "run_a"));

        let twice = [NewStep::item("pay", "e1"), NewStep::item("pay", "e1")];
        let error = store
            .create_run(&new_run("run_b"), &twice)
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "run `run_b` lists step `pay` item `e1` twice"
        );
        assert!(matches!(
            store.load_run("run_b").await,
            Err(StoreError::RunNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn lists_runs_newest_first_by_workflow_and_status() {
        let dir = tempfile::tempdir().unwrap();
        let (store, clock) = store_in(&dir).await;
        for (id, workflow) in [
            ("run_1", "payroll"),
            ("run_2", "sweep"),
            ("run_3", "payroll"),
        ] {
            let run = NewRun {
                workflow_name: workflow.into(),
                ..new_run(id)
            };
            store.create_run(&run, &[]).await.unwrap();
            clock.advance(TimeDelta::seconds(1));
        }
        store
            .set_run_status("run_3", RunStatus::Failed, Some("step `pay` failed"))
            .await
            .unwrap();

        let ids = |runs: Vec<RunRecord>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.list_runs(&RunFilter::default()).await.unwrap()),
            ["run_3", "run_2", "run_1"]
        );
        let payroll = RunFilter {
            workflow: Some("payroll".into()),
            ..RunFilter::default()
        };
        assert_eq!(
            ids(store.list_runs(&payroll).await.unwrap()),
            ["run_3", "run_1"]
        );
        let failed = RunFilter {
            statuses: vec![RunStatus::Failed, RunStatus::NeedsAttention],
            limit: Some(5),
            ..payroll
        };
        let runs = store.list_runs(&failed).await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].error.as_deref(), Some("step `pay` failed"));
        assert_eq!(runs[0].finished_at, Some(t0() + TimeDelta::seconds(3)));

        store
            .set_run_status("run_3", RunStatus::Running, None)
            .await
            .unwrap();
        let run = store.load_run("run_3").await.unwrap();
        assert_eq!((run.finished_at, run.error), (None, None));
        assert!(matches!(
            store
                .set_run_status("run_9", RunStatus::Running, None)
                .await,
            Err(StoreError::RunNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn one_process_holds_a_run_and_the_other_learns_who() {
        let dir = tempfile::tempdir().unwrap();
        let (first, clock) = store_in(&dir).await;
        // A second handle on the same file, as a second process would open it.
        let second = SqliteStore::open(SqliteConfig::new(first.path()).clock(clock.clone()))
            .await
            .unwrap();
        first.create_run(&new_run("run_a"), &[]).await.unwrap();

        let lease = first
            .acquire_lease("run_a", "host-a:100", MINUTE)
            .await
            .unwrap();
        assert_eq!(lease.expires_at, t0() + TimeDelta::minutes(1));
        let error = second
            .acquire_lease("run_a", "host-b:200", MINUTE)
            .await
            .unwrap_err();
        match &error {
            StoreError::Leased {
                owner, expires_at, ..
            } => {
                assert_eq!(owner, "host-a:100");
                assert_eq!(*expires_at, lease.expires_at);
            }
            other => panic!("expected Leased, got {other:?}"),
        }
        assert!(
            error.to_string().contains("held by `host-a:100`"),
            "{error}"
        );
        // The holder may take it again, which extends it.
        clock.advance(TimeDelta::seconds(30));
        let again = first
            .acquire_lease("run_a", "host-a:100", MINUTE)
            .await
            .unwrap();
        assert_eq!(again.expires_at, t0() + TimeDelta::seconds(90));
        assert_eq!(
            second.load_run("run_a").await.unwrap().lease,
            Some(again.clone())
        );

        // Released, the other process gets it at once.
        first.release_lease(&again).await.unwrap();
        let taken = second
            .acquire_lease("run_a", "host-b:200", MINUTE)
            .await
            .unwrap();
        assert_eq!(taken.owner, "host-b:200");
        // Releasing a lease no longer held changes nothing.
        first.release_lease(&again).await.unwrap();
        assert_eq!(first.load_run("run_a").await.unwrap().lease, Some(taken));
        assert!(matches!(
            first.acquire_lease("run_none", "x", MINUTE).await,
            Err(StoreError::RunNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn an_expired_lease_lets_another_process_take_over() {
        let dir = tempfile::tempdir().unwrap();
        let (first, clock) = store_in(&dir).await;
        let second = SqliteStore::open(SqliteConfig::new(first.path()).clock(clock.clone()))
            .await
            .unwrap();
        first.create_run(&new_run("run_a"), &[]).await.unwrap();
        let lease = first.acquire_lease("run_a", "a", MINUTE).await.unwrap();

        clock.advance(TimeDelta::seconds(59));
        let lease = first.renew_lease(&lease, MINUTE).await.unwrap();
        assert_eq!(lease.expires_at, t0() + TimeDelta::seconds(119));
        clock.advance(TimeDelta::seconds(59));
        assert!(second.acquire_lease("run_a", "b", MINUTE).await.is_err());

        clock.advance(TimeDelta::seconds(1));
        let taken = second.acquire_lease("run_a", "b", MINUTE).await.unwrap();
        assert_eq!(taken.owner, "b");
        let error = first.renew_lease(&lease, MINUTE).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::LeaseLost { holder: Some(h), .. } if h == "b"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn workers_claim_the_oldest_free_run_once() {
        let dir = tempfile::tempdir().unwrap();
        let (store, clock) = store_in(&dir).await;
        for id in ["run_1", "run_2", "run_3"] {
            store.create_run(&new_run(id), &[]).await.unwrap();
            clock.advance(TimeDelta::seconds(1));
        }
        store
            .set_run_status("run_1", RunStatus::Succeeded, None)
            .await
            .unwrap();
        let live = [RunStatus::Pending, RunStatus::Running];
        let a = store
            .claim_next_run("a", MINUTE, &live)
            .await
            .unwrap()
            .unwrap();
        let b = store
            .claim_next_run("b", MINUTE, &live)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((a.run_id.as_str(), b.run_id.as_str()), ("run_2", "run_3"));
        assert_eq!(
            store.claim_next_run("c", MINUTE, &live).await.unwrap(),
            None
        );
        assert_eq!(store.claim_next_run("c", MINUTE, &[]).await.unwrap(), None);
        clock.advance(TimeDelta::minutes(2));
        let c = store
            .claim_next_run("c", MINUTE, &live)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((c.run_id.as_str(), c.owner.as_str()), ("run_2", "c"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_on_two_handles_take_turns_and_one_wins_a_lease_race() {
        let dir = tempfile::tempdir().unwrap();
        let (first, clock) = store_in(&dir).await;
        let second = SqliteStore::open(SqliteConfig::new(first.path()).clock(clock))
            .await
            .unwrap();
        let writer = |store: SqliteStore, prefix: &'static str| {
            tokio::spawn(async move {
                for i in 0..25 {
                    let steps = [NewStep::step("fund"), NewStep::item("pay", "e1")];
                    store
                        .create_run(&new_run(&format!("run_{prefix}{i}")), &steps)
                        .await?;
                }
                Ok::<_, StoreError>(())
            })
        };
        let (a, b) = tokio::join!(writer(first.clone(), "a"), writer(second.clone(), "b"));
        a.unwrap().unwrap();
        b.unwrap().unwrap();
        assert_eq!(
            first.list_runs(&RunFilter::default()).await.unwrap().len(),
            50
        );

        let race = |store: SqliteStore, owner: &'static str| {
            tokio::spawn(async move { store.acquire_lease("run_a0", owner, MINUTE).await })
        };
        let (a, b) = tokio::join!(race(first.clone(), "a"), race(second.clone(), "b"));
        let results = [a.unwrap(), b.unwrap()];
        let winners: Vec<&Lease> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(
            matches!(loser, StoreError::Leased { owner, .. } if *owner == winners[0].owner),
            "{loser:?}"
        );
    }
}
