//! [`RunStore`] on Postgres: creating runs with all their step rows, listing them, and leases.
//!
//! A lease is a compare-and-set on the run's row (`UPDATE … WHERE` nobody else holds an
//! unexpired lease). Two processes racing for one run both reach the row; the second waits for
//! the first's commit, re-checks the condition on the row as the first left it, and loses.
//! Workers looking for work lock the candidate row with `FOR UPDATE SKIP LOCKED`, so they pass
//! over each other's rows instead of queueing behind them.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::PostgresStore;
use super::codec::{is_unique_violation, json_text, listed_run_columns, run_columns, run_from_row};
use super::notify::notify;
use crate::store::clock::ttl_delta;
use crate::store::error::StoreError;
use crate::store::notice::StoreNotice;
use crate::store::run::{Claim, Lease, LeaseScope, NewRun, RunFilter, RunRecord, RunStatus};
use crate::store::step::{NewStep, StepKey, StepState};
use crate::store::traits::RunStore;

/// Step rows per `INSERT … SELECT FROM UNNEST`: one statement carries five arrays, whatever
/// their length, so this only bounds the size of one message to the server.
const STEP_ROWS_PER_INSERT: usize = 10_000;

/// Inserts a run and all its step rows on `conn`, inside the caller's transaction.
pub(super) async fn insert_run(
    conn: &mut PgConnection,
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

    let inserted = sqlx::query(
        "INSERT INTO runs (id, workflow_name, workflow_path, workflow_hash, inputs_hash, \
         inputs_json, plan_hash, status, created_at, updated_at, scheduled_for, lease_owner, \
         lease_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8, $9, $10, $11)",
    )
    .bind(&run.id)
    .bind(&run.workflow_name)
    .bind(&run.workflow_path)
    .bind(&run.workflow_hash)
    .bind(&run.inputs_hash)
    .bind(json_text("inputs_json", &run.inputs)?)
    .bind(&run.plan_hash)
    .bind(now)
    .bind(run.scheduled_for)
    .bind(run.lease.as_ref().map(|l| &l.owner))
    .bind(run.lease.as_ref().map(|l| now + ttl_delta(l.ttl)))
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

    let mut seq: i64 = 0;
    for chunk in steps.chunks(STEP_ROWS_PER_INSERT) {
        let mut step_ids = Vec::with_capacity(chunk.len());
        let mut item_keys = Vec::with_capacity(chunk.len());
        let mut seqs = Vec::with_capacity(chunk.len());
        let mut states = Vec::with_capacity(chunk.len());
        let mut skip_reasons = Vec::with_capacity(chunk.len());
        for step in chunk {
            step_ids.push(step.step_id.as_str());
            item_keys.push(step.item_key.as_str());
            seqs.push(seq);
            states.push(match step.skip_reason {
                Some(_) => StepState::Skipped.as_str(),
                None => StepState::Pending.as_str(),
            });
            skip_reasons.push(step.skip_reason.as_deref());
            seq += 1;
        }
        sqlx::query(
            "INSERT INTO step_runs (run_id, step_id, item_key, seq, state, skip_reason, \
             updated_at) \
             SELECT $1, s.step_id, s.item_key, s.seq, s.state, s.skip_reason, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::int8[], $6::text[], $7::text[]) \
               AS s (step_id, item_key, seq, state, skip_reason)",
        )
        .bind(&run.id)
        .bind(now)
        .bind(step_ids)
        .bind(item_keys)
        .bind(seqs)
        .bind(states)
        .bind(skip_reasons)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Status names, as the `text[]` parameter of `status = ANY($n)`.
fn status_names(statuses: &[RunStatus]) -> Vec<&'static str> {
    statuses.iter().map(|status| status.as_str()).collect()
}

impl PostgresStore {
    async fn create_run_inner(&self, run: &NewRun, steps: &[NewStep]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
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

    async fn load_run_inner(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs WHERE id = $1"
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
        let mut query = QueryBuilder::<Postgres>::new(concat!(
            "SELECT ",
            listed_run_columns!(),
            " FROM runs WHERE TRUE"
        ));
        if let Some(workflow) = &filter.workflow {
            query.push(" AND workflow_name = ").push_bind(workflow);
        }
        if !filter.statuses.is_empty() {
            query
                .push(" AND status = ANY(")
                .push_bind(status_names(&filter.statuses))
                .push(")");
        }
        // Ids compare byte by byte, as in SQLite, whatever the database's collation.
        query.push(" ORDER BY created_at DESC, id COLLATE \"C\" DESC");
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
        let now = self.now();
        let finished = status.is_finished().then_some(now);
        let result = sqlx::query(
            "UPDATE runs SET status = $1, error = $2, updated_at = $3, finished_at = $4 \
             WHERE id = $5",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(now)
        .bind(finished)
        .bind(run_id)
        .execute(&self.pool)
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
        .bind(expires_at)
        .bind(now)
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 1 {
            return Ok(Lease {
                run_id: run_id.to_owned(),
                owner: owner.to_owned(),
                expires_at,
                scope: LeaseScope::Run,
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
        .bind(expires_at)
        .bind(now)
        .bind(run_id)
        .bind(from)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 1 {
            return Ok(Lease {
                run_id: run_id.to_owned(),
                owner: owner.to_owned(),
                expires_at,
                scope: LeaseScope::Run,
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
        let expires: Option<DateTime<Utc>> = row.try_get("lease_expires_at")?;
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
        // The candidate is locked before it is updated; a row another worker is claiming
        // right now is skipped rather than waited for, and one it claimed meanwhile fails the
        // re-check and is passed over.
        let row = sqlx::query(
            "UPDATE runs SET lease_owner = $1, lease_expires_at = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM runs \
                         WHERE status = ANY($4) \
                           AND (lease_owner IS NULL OR lease_expires_at <= $3) \
                           AND NOT (id = ANY($5)) \
                         ORDER BY created_at, id COLLATE \"C\" LIMIT 1 \
                         FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind(owner)
        .bind(expires_at)
        .bind(now)
        .bind(status_names(&claim.statuses))
        .bind(&claim.except)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Lease {
                run_id: row.try_get("id")?,
                owner: owner.to_owned(),
                expires_at,
                scope: LeaseScope::Run,
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
        .bind(expires_at)
        .bind(now)
        .bind(&lease.run_id)
        .bind(&lease.owner)
        .execute(&self.pool)
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
        let mut tx = self.begin().await?;
        let released = sqlx::query(
            "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
             WHERE id = $2 AND lease_owner = $3 \
             RETURNING status IN ('pending', 'running') AS claimable",
        )
        .bind(self.now())
        .bind(&lease.run_id)
        .bind(&lease.owner)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = released
            && row.try_get::<bool, _>("claimable")?
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
impl RunStore for PostgresStore {
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
        claim: &Claim,
    ) -> Result<Option<Lease>, StoreError> {
        let result = self.claim_next_run_inner(owner, ttl, claim).await;
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
