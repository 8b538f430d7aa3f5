//! [`ClaimStore`]: published steps in `shared_steps`, item claims in two columns of
//! `step_runs`. SQLite runs one write transaction at a time, so a claim never races another.
//!
//! On Postgres, claiming and renewing never wait for a row lock (`FOR UPDATE SKIP LOCKED`): a
//! claimer passes over items another worker is claiming or writing at that moment, and a
//! heartbeat passes over its own items that its batches are writing (it runs beside them, and
//! waiting on rows they hold, in another order, could deadlock; an item written now is renewed
//! by the next heartbeat, or settled, which ends its claim). Neither locks the run's row, so
//! neither waits for the holder or an operator either. Publishing and giving claims back
//! notify the other workers ([`StoreNotice::StepShared`]).

use std::collections::BTreeSet;
use std::time::Duration;

use sqlx::Row;

use super::codec::{get_count, step_columns, step_from_row};
use super::dialect::{Conn, Store, get_ts, notify, sql, ts};
use super::transitions::share_run;
use crate::ids::{RunId, StepId};
use crate::store::claim::{ClaimRole, ClaimSummary, ItemClaim, SharedStep, claimable};
use crate::store::clock::ttl_delta;
use crate::store::error::StoreError;
use crate::store::notice::StoreNotice;
use crate::store::step::StepRecord;
use crate::store::traits::ClaimStore;

/// Tells the other workers that `step_id` of `run_id` has items to claim, when the caller's
/// transaction commits.
async fn notify_shared(
    conn: &mut Conn,
    run_id: &RunId,
    step_id: &StepId,
) -> Result<(), StoreError> {
    let shared = StoreNotice::StepShared {
        run_id: run_id.to_owned(),
        step_id: step_id.to_owned(),
    };
    notify(conn, &shared).await
}

impl Store {
    async fn share_step_inner(&self, step: &SharedStep) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO shared_steps (run_id, step_id, holder, scope_json, elements_json, \
             first_seq, last_seq, shared_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (run_id, step_id) DO UPDATE SET holder = excluded.holder, \
             scope_json = excluded.scope_json, elements_json = excluded.elements_json, \
             first_seq = excluded.first_seq, last_seq = excluded.last_seq, \
             shared_at = excluded.shared_at",
        )
        .bind(&step.run_id)
        .bind(&step.step_id)
        .bind(&step.holder)
        .bind(&step.scope)
        .bind(&step.elements)
        .bind(step.first_seq)
        .bind(step.last_seq)
        .bind(ts(self.now()))
        .execute(&mut *tx)
        .await?;
        notify_shared(&mut tx, &step.run_id, &step.step_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unshare_step_inner(&self, run_id: &RunId, step_id: &StepId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM shared_steps WHERE run_id = $1 AND step_id = $2")
            .bind(run_id)
            .bind(step_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn load_shared_step_inner(
        &self,
        run_id: &RunId,
        step_id: &StepId,
    ) -> Result<Option<SharedStep>, StoreError> {
        let row = sqlx::query(
            "SELECT run_id, step_id, holder, scope_json, elements_json, first_seq, last_seq \
             FROM shared_steps WHERE run_id = $1 AND step_id = $2",
        )
        .bind(run_id)
        .bind(step_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SharedStep {
                run_id: row.try_get("run_id")?,
                step_id: row.try_get("step_id")?,
                holder: row.try_get("holder")?,
                scope: row.try_get("scope_json")?,
                elements: row.try_get("elements_json")?,
                first_seq: row.try_get("first_seq")?,
                last_seq: row.try_get("last_seq")?,
            })
        })
        .transpose()
    }

    async fn steps_to_help_inner(&self) -> Result<Vec<(RunId, StepId)>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT s.run_id, s.step_id FROM shared_steps s \
             WHERE EXISTS (SELECT 1 FROM step_runs WHERE run_id = s.run_id \
               AND seq > s.first_seq AND seq <= s.last_seq AND ",
            claimable!(Helper, 1),
            ") ORDER BY s.shared_at, s.run_id",
            sql!(by_bytes),
            ", s.step_id",
            sql!(by_bytes)
        ))
        .bind(ts(self.now()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("run_id")?, r.try_get("step_id")?)))
            .collect()
    }

    async fn claim_items_inner(&self, claim: &ItemClaim) -> Result<Vec<StepRecord>, StoreError> {
        /// The claim of one role: its items, in its order.
        macro_rules! claim {
            ($role:ident, $order:literal) => {
                sqlx::query(concat!(
                    "UPDATE step_runs SET claim_owner = $1, claim_expires_at = $2 \
                     WHERE ",
                    sql!(row_key),
                    " IN (SELECT ",
                    sql!(row_key_select),
                    " FROM step_runs WHERE run_id = $3 \
                       AND seq > $4 AND seq <= $5 AND step_id = $6 AND item_key <> '' AND ",
                    claimable!($role, 7),
                    " ORDER BY seq ",
                    $order,
                    " LIMIT $8",
                    sql!(skip_locked),
                    ") RETURNING ",
                    step_columns!()
                ))
            };
        }
        let now = self.now();
        let query = match claim.role {
            ClaimRole::Holder => claim!(Holder, "ASC"),
            ClaimRole::Helper => claim!(Helper, "DESC"),
        };
        let mut tx = self.begin_write().await?;
        let rows = query
            .bind(&claim.owner)
            .bind(ts(now + ttl_delta(claim.ttl)))
            .bind(&claim.run_id)
            .bind(claim.after)
            .bind(claim.last)
            .bind(&claim.step_id)
            .bind(ts(now))
            .bind(i64::from(claim.limit))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut records = rows
            .iter()
            .map(step_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        records.sort_by_key(|r| r.seq);
        Ok(records)
    }

    async fn renew_claims_inner(&self, owner: &str, ttl: Duration) -> Result<u64, StoreError> {
        let now = self.now();
        let done = sqlx::query(concat!(
            "UPDATE step_runs SET claim_expires_at = $1 WHERE ",
            sql!(row_key),
            " IN (SELECT ",
            sql!(row_key_select),
            " FROM step_runs WHERE claim_owner = $2 AND claim_expires_at > $3",
            sql!(skip_locked),
            ")"
        ))
        .bind(ts(now + ttl_delta(ttl)))
        .bind(owner)
        .bind(ts(now))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected())
    }

    async fn list_claims_inner(&self) -> Result<Vec<ClaimSummary>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT claim_owner, run_id, step_id, COUNT(*) AS items, \
             MAX(claim_expires_at) AS expires_at FROM step_runs \
             WHERE claim_owner IS NOT NULL AND claim_expires_at > $1 \
             GROUP BY claim_owner, run_id, step_id ORDER BY claim_owner",
            sql!(by_bytes),
            ", run_id",
            sql!(by_bytes),
            ", step_id",
            sql!(by_bytes)
        ))
        .bind(ts(self.now()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ClaimSummary {
                    owner: row.try_get("claim_owner")?,
                    run_id: row.try_get("run_id")?,
                    step_id: row.try_get("step_id")?,
                    items: get_count(row, "items")?,
                    expires_at: get_ts(row, "expires_at")?,
                })
            })
            .collect()
    }

    /// Clears `owner`'s claims on the items of `run_id` and tells the other workers which
    /// steps have items to take again (in byte order of their ids). Checks the run first with
    /// [`share_run`], as a helper's batch does: on Postgres an operator's cancel changes the
    /// same rows after locking the run, and would otherwise deadlock with this `UPDATE`.
    async fn release_claims_inner(&self, run_id: &RunId, owner: &str) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        if !share_run(&mut tx, run_id).await? {
            return Ok(0);
        }
        let released = sqlx::query(
            "UPDATE step_runs SET claim_owner = NULL, claim_expires_at = NULL \
             WHERE claim_owner = $1 AND run_id = $2 RETURNING step_id",
        )
        .bind(owner)
        .bind(run_id)
        .fetch_all(&mut *tx)
        .await?;
        let steps = released
            .iter()
            .map(|row| row.try_get("step_id"))
            .collect::<Result<BTreeSet<StepId>, _>>()?;
        for step_id in &steps {
            notify_shared(&mut tx, run_id, step_id).await?;
        }
        tx.commit().await?;
        Ok(released.len() as u64)
    }
}

#[async_trait::async_trait]
impl ClaimStore for Store {
    async fn share_step(&self, step: &SharedStep) -> Result<(), StoreError> {
        self.classified(self.share_step_inner(step)).await
    }

    async fn unshare_step(&self, run_id: &RunId, step_id: &StepId) -> Result<(), StoreError> {
        self.classified(self.unshare_step_inner(run_id, step_id))
            .await
    }

    async fn load_shared_step(
        &self,
        run_id: &RunId,
        step_id: &StepId,
    ) -> Result<Option<SharedStep>, StoreError> {
        self.classified(self.load_shared_step_inner(run_id, step_id))
            .await
    }

    async fn steps_to_help(&self) -> Result<Vec<(RunId, StepId)>, StoreError> {
        self.classified(self.steps_to_help_inner()).await
    }

    async fn claim_items(&self, claim: &ItemClaim) -> Result<Vec<StepRecord>, StoreError> {
        self.classified(self.claim_items_inner(claim)).await
    }

    async fn renew_claims(&self, owner: &str, ttl: Duration) -> Result<u64, StoreError> {
        self.classified(self.renew_claims_inner(owner, ttl)).await
    }

    async fn list_claims(&self) -> Result<Vec<ClaimSummary>, StoreError> {
        self.classified(self.list_claims_inner()).await
    }

    async fn release_claims(&self, run_id: &RunId, owner: &str) -> Result<u64, StoreError> {
        self.classified(self.release_claims_inner(run_id, owner))
            .await
    }
}
