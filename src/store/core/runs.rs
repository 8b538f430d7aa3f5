//! [`RunStore`]: creating runs with all their step rows, listing them, and leases.
//!
//! A lease is a compare-and-set on the run's row (`UPDATE … WHERE` nobody else holds an
//! unexpired lease). SQLite serialises writers; on Postgres, two processes racing for one run
//! both reach the row, the second waits for the first's commit, re-checks the condition on the
//! row as the first left it, and loses. Workers looking for work lock the candidate row with
//! `FOR UPDATE SKIP LOCKED` there, so they pass over each other's rows instead of queueing.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row};

use super::codec::{
    is_unique_violation, json_text, listed_run_columns, parse_run_status, run_columns, run_from_row,
};
use super::dialect::{
    Conn, Db, INPUTS_IN_RUN_ROW, Store, get_opt_ts, insert_step_rows, notify, opt_ts, sql, ts,
};
use super::notifications::enqueue;
use crate::ids::RunId;
use crate::store::clock::ttl_delta;
use crate::store::error::StoreError;
use crate::store::notice::StoreNotice;
use crate::store::retention::{Prune, Pruned};
use crate::store::run::{Claim, Lease, NewRun, RunFilter, RunRecord, RunStatus};
use crate::store::step::{NewStep, StepKey};
use crate::store::traits::RunStore;

/// Inserts a run and all its step rows on `conn`, inside the caller's transaction.
pub(in crate::store) async fn insert_run(
    conn: &mut Conn,
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

    insert_run_row(conn, run, now).await?;
    insert_step_rows(conn, &run.id, steps, &ts(now)).await
}

/// Inserts the run's row, and its inputs in it or in `run_inputs` ([`INPUTS_IN_RUN_ROW`]);
/// [`StoreError::RunExists`] if the id is taken.
async fn insert_run_row(
    conn: &mut Conn,
    run: &NewRun,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let inputs = json_text("inputs_json", &run.inputs)?;
    let notify = match run.notify.as_slice() {
        [] => None,
        routes => Some(json_text("notify_json", &serde_json::json!(routes))?),
    };
    let mut insert = sqlx::query(concat!(
        "INSERT INTO runs (id, workflow_name, workflow_path, workflow_hash, inputs_hash, \
         plan_hash, status, created_at, updated_at, scheduled_for, lease_owner, \
         lease_expires_at, started_by, notify_json",
        sql!(inputs_column),
        ") VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $8, $9, $10, $11, $12",
        sql!(inputs_parameter),
        ")"
    ))
    .bind(&run.id)
    .bind(&run.workflow_name)
    .bind(&run.workflow_path)
    .bind(&run.workflow_hash)
    .bind(&run.inputs_hash)
    .bind(&run.plan_hash)
    .bind(ts(now))
    .bind(opt_ts(run.scheduled_for))
    .bind(run.lease.as_ref().map(|l| &l.owner))
    .bind(run.lease.as_ref().map(|l| ts(now + ttl_delta(l.ttl))))
    .bind(&run.started_by)
    .bind(notify);
    if INPUTS_IN_RUN_ROW {
        insert = insert.bind(&inputs);
    }
    match insert.execute(&mut *conn).await {
        Err(error) if is_unique_violation(&error) => {
            return Err(StoreError::RunExists {
                run_id: run.id.clone(),
            });
        }
        other => other?,
    };
    if !INPUTS_IN_RUN_ROW {
        sqlx::query("INSERT INTO run_inputs (run_id, inputs_json) VALUES ($1, $2)")
            .bind(&run.id)
            .bind(inputs)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// [`StoreError::LeaseLost`]: `owner` does not hold the run, `holder` (who may) does.
fn lease_lost(run_id: &RunId, owner: &str, holder: Option<(String, DateTime<Utc>)>) -> StoreError {
    StoreError::LeaseLost {
        run_id: run_id.to_owned(),
        owner: owner.to_owned(),
        holder: holder.map(|(holder, _)| holder),
    }
}

impl Store {
    async fn create_run_inner(&self, run: &NewRun, steps: &[NewStep]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_run(&mut tx, run, steps, self.now()).await?;
        if run.lease.is_none() {
            let free = StoreNotice::RunFree {
                run_id: run.id.clone(),
            };
            notify(&mut tx, &free).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn load_run_inner(&self, run_id: &RunId) -> Result<RunRecord, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM ",
            sql!(runs_with_inputs),
            " WHERE id = $1"
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
        let mut query = QueryBuilder::<Db>::new(concat!(
            "SELECT ",
            listed_run_columns!(),
            " FROM runs WHERE 1 = 1"
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
        if let Some(from) = filter.created_from {
            query.push(" AND created_at >= ").push_bind(ts(from));
        }
        if let Some(before) = filter.created_before {
            query.push(" AND created_at < ").push_bind(ts(before));
        }
        query.push(concat!(
            " ORDER BY created_at DESC, id",
            sql!(by_bytes),
            " DESC"
        ));
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(run_from_row).collect()
    }

    async fn set_run_status_inner(
        &self,
        run_id: &RunId,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = &ts(self.now());
        let finished = status.is_finished().then_some(now);
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "UPDATE runs SET status = $1, error = $2, updated_at = $3, finished_at = $4 \
             WHERE id = $5",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(now)
        .bind(finished)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::RunNotFound {
                run_id: run_id.to_owned(),
            });
        }
        enqueue(&mut tx, run_id, status, error, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn acquire_lease_inner(
        &self,
        run_id: &RunId,
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
        .execute(self.writer())
        .await?;
        if result.rows_affected() == 1 {
            return Ok(Lease::of_run(run_id.to_owned(), owner, expires_at));
        }
        match self.current_holder(run_id).await? {
            Some((holder, expires_at)) => Err(StoreError::Leased {
                run_id: run_id.to_owned(),
                owner: holder,
                expires_at,
            }),
            // Released between the two statements; the caller may simply try again.
            None => Err(lease_lost(run_id, owner, None)),
        }
    }

    async fn take_over_lease_inner(
        &self,
        run_id: &RunId,
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
        .execute(self.writer())
        .await?;
        if result.rows_affected() == 1 {
            return Ok(Lease::of_run(run_id.to_owned(), owner, expires_at));
        }
        let holder = self.current_holder(run_id).await?;
        Err(lease_lost(run_id, owner, holder))
    }

    /// Who holds a run's lease (possibly expired).
    ///
    /// # Errors
    /// [`StoreError::RunNotFound`].
    async fn current_holder(
        &self,
        run_id: &RunId,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        let row = sqlx::query("SELECT lease_owner, lease_expires_at FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::RunNotFound {
                run_id: run_id.to_owned(),
            })?;
        let owner: Option<String> = row.try_get("lease_owner")?;
        let expires = get_opt_ts(&row, "lease_expires_at")?;
        Ok(owner.zip(expires))
    }

    async fn claim_next_run_inner(
        &self,
        owner: &str,
        ttl: Duration,
        claim: &Claim,
    ) -> Result<Option<Lease>, StoreError> {
        if claim.statuses.is_empty() {
            return Ok(None);
        }
        let now = self.now();
        let expires_at = now + ttl_delta(ttl);
        let mut update = QueryBuilder::<Db>::new("UPDATE runs SET lease_owner = ");
        update
            .push_bind(owner)
            .push(", lease_expires_at = ")
            .push_bind(ts(expires_at))
            .push(", updated_at = ")
            .push_bind(ts(now))
            .push(" WHERE id = (SELECT id FROM runs WHERE status IN (");
        let mut list = update.separated(", ");
        for status in &claim.statuses {
            list.push_bind(status.as_str());
        }
        update
            .push(") AND (lease_owner IS NULL OR lease_expires_at <= ")
            .push_bind(ts(now))
            .push(")");
        if !claim.except.is_empty() {
            update.push(" AND id NOT IN (");
            let mut list = update.separated(", ");
            for id in &claim.except {
                list.push_bind(id);
            }
            update.push(")");
        }
        update.push(concat!(
            " ORDER BY created_at, id",
            sql!(by_bytes),
            " LIMIT 1",
            sql!(skip_locked),
            ") RETURNING id"
        ));
        // SQLite lets one writer in at a time, so the select and the update cannot interleave
        // with another claimer's; on Postgres the candidate is locked before it is updated, a
        // row another worker is claiming right now is skipped rather than waited for, and one
        // it claimed meanwhile fails the re-check and is passed over.
        let row = update.build().fetch_optional(self.writer()).await?;
        row.map(|row| Ok(Lease::of_run(row.try_get("id")?, owner, expires_at)))
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
        .execute(self.writer())
        .await?;
        if result.rows_affected() == 1 {
            return Ok(Lease {
                expires_at,
                ..lease.clone()
            });
        }
        let holder = self.current_holder(&lease.run_id).await?;
        Err(lease_lost(&lease.run_id, &lease.owner, holder))
    }

    /// Gives the run back; if it can still be claimed, tells the other workers.
    async fn release_lease_inner(&self, lease: &Lease) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let released = sqlx::query(
            "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
             WHERE id = $2 AND lease_owner = $3 RETURNING status",
        )
        .bind(ts(self.now()))
        .bind(&lease.run_id)
        .bind(&lease.owner)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = released
            && matches!(
                parse_run_status(row.try_get("status")?)?,
                RunStatus::Pending | RunStatus::Running
            )
        {
            let free = StoreNotice::RunFree {
                run_id: lease.run_id.clone(),
            };
            notify(&mut tx, &free).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl RunStore for Store {
    async fn create_run(&self, run: &NewRun, steps: &[NewStep]) -> Result<(), StoreError> {
        self.classified(self.create_run_inner(run, steps)).await
    }

    async fn load_run(&self, run_id: &RunId) -> Result<RunRecord, StoreError> {
        self.classified(self.load_run_inner(run_id)).await
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        self.classified(self.list_runs_inner(filter)).await
    }

    async fn set_run_status(
        &self,
        run_id: &RunId,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.classified(self.set_run_status_inner(run_id, status, error))
            .await
    }

    async fn acquire_lease(
        &self,
        run_id: &RunId,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        self.classified(self.acquire_lease_inner(run_id, owner, ttl))
            .await
    }

    async fn take_over_lease(
        &self,
        run_id: &RunId,
        from: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        self.classified(self.take_over_lease_inner(run_id, from, owner, ttl))
            .await
    }

    async fn claim_next_run(
        &self,
        owner: &str,
        ttl: Duration,
        claim: &Claim,
    ) -> Result<Option<Lease>, StoreError> {
        self.classified(self.claim_next_run_inner(owner, ttl, claim))
            .await
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<Lease, StoreError> {
        self.classified(self.renew_lease_inner(lease, ttl)).await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        self.classified(self.release_lease_inner(lease)).await
    }

    async fn prune_runs(&self, prune: &Prune) -> Result<Pruned, StoreError> {
        self.classified(self.prune_runs_inner(prune)).await
    }
}
