//! [`DiscrepancyStore`]: what scheduled reconciliation found wrong, recorded once while it is
//! open, the `reconcile_mismatch` notification it owes in the same transaction, its clearing
//! when the payment matches again, and an operator's dismissal, recorded with it.

use sqlx::Row;

use super::dialect::{DbRow, Store, get_opt_ts, get_ts, ts};
use super::notifications::{RunNote, owe};
use super::operator::record;
use crate::ids::RunId;
use crate::store::discrepancy::{
    DiscrepancyKind, DiscrepancyRecord, Dismissal, NewDiscrepancy, RECONCILE_MISMATCH_EVENT,
};
use crate::store::error::StoreError;
use crate::store::operator::{ActionKind, OperatorAction, OperatorRecord};
use crate::store::step::StepKey;
use crate::store::traits::DiscrepancyStore;

/// The columns [`discrepancy_from_row`] reads, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "SELECT id, run_id, step_id, item_key, kind, provider_ref, detail, found_at, \
         cleared_at, dismissed_by FROM discrepancies "
    };
}

impl Store {
    async fn record_discrepancy_inner(&self, d: &NewDiscrepancy) -> Result<bool, StoreError> {
        let now = &ts(self.now());
        let key = &d.key;
        let mut tx = self.begin_write().await?;
        // The open one, if any, is this case already: the partial unique index says so. One
        // an operator dismissed stays dismissed.
        let inserted = sqlx::query(
            "INSERT INTO discrepancies (run_id, step_id, item_key, kind, provider_ref, detail, \
             found_at) SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM \
             discrepancies WHERE run_id = $1 AND step_id = $2 AND item_key = $3 AND kind = $4 \
             AND provider_ref = $5 AND dismissed_by IS NOT NULL) ON CONFLICT DO NOTHING",
        )
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&key.item_key)
        .bind(d.kind.as_str())
        .bind(&d.provider_ref)
        .bind(&d.detail)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            let message = format!(
                "payment {} {}: {} (provider object {})",
                key,
                d.kind.as_str(),
                d.detail,
                d.provider_ref
            );
            let note = RunNote {
                run_id: &key.run_id,
                event: RECONCILE_MISMATCH_EVENT,
                step_id: Some(key.step_id.as_str()),
                message: Some(&message),
            };
            owe(&mut tx, &note, now).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// An object no record names is still at the provider when the payment itself matches,
    /// so `unknown_to_sluice` stays open.
    async fn clear_discrepancies_inner(&self, key: &StepKey) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let cleared = sqlx::query(
            "UPDATE discrepancies SET cleared_at = $1 WHERE run_id = $2 AND step_id = $3 \
             AND item_key = $4 AND cleared_at IS NULL AND kind <> $5",
        )
        .bind(ts(self.now()))
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&key.item_key)
        .bind(DiscrepancyKind::UnknownToSluice.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(cleared)
    }

    async fn load_discrepancies_inner(
        &self,
        run_id: &RunId,
    ) -> Result<Vec<DiscrepancyRecord>, StoreError> {
        let rows = sqlx::query(concat!(columns!(), "WHERE run_id = $1 ORDER BY id"))
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(discrepancy_from_row).collect()
    }

    async fn open_discrepancies_inner(
        &self,
        limit: u32,
    ) -> Result<Vec<DiscrepancyRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            columns!(),
            "WHERE cleared_at IS NULL ORDER BY id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(discrepancy_from_row).collect()
    }

    /// The case is cleared first, so that a second dismissal, or a match cleared meanwhile,
    /// finds nothing open and writes nothing.
    async fn dismiss_inner(&self, dismissal: &Dismissal) -> Result<OperatorRecord, StoreError> {
        let reason = dismissal.reason.trim();
        if reason.is_empty() {
            return Err(StoreError::InvalidAction {
                run_id: dismissal.run_id.clone(),
                action: "dismiss_discrepancy",
                problem: "a dismissal needs a reason",
            });
        }
        let at = self.now();
        let now = &ts(at);
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE discrepancies SET cleared_at = $1 WHERE id = $2 AND run_id = $3 \
             AND cleared_at IS NULL RETURNING step_id, item_key, provider_ref",
        )
        .bind(now)
        .bind(dismissal.id)
        .bind(&dismissal.run_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::DiscrepancyNotOpen {
            run_id: dismissal.run_id.clone(),
            id: dismissal.id,
        })?;
        let action = OperatorAction {
            run_id: dismissal.run_id.clone(),
            step_id: Some(row.try_get("step_id")?),
            item_key: Some(row.try_get("item_key")?),
            kind: ActionKind::DismissDiscrepancy {
                provider_ref: row.try_get("provider_ref")?,
            },
            actor: dismissal.actor.clone(),
            reason: Some(reason.to_owned()),
            groups: Vec::new(),
        };
        let id = record(&mut tx, &action, 0, now).await?;
        sqlx::query("UPDATE discrepancies SET dismissed_by = $1 WHERE id = $2")
            .bind(id)
            .bind(dismissal.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(OperatorRecord {
            id,
            action,
            at,
            steps_changed: 0,
        })
    }
}

fn discrepancy_from_row(row: &DbRow) -> Result<DiscrepancyRecord, StoreError> {
    let name: String = row.try_get("kind")?;
    let kind = DiscrepancyKind::from_stored(&name).ok_or(StoreError::Corrupt {
        column: "kind",
        value: name,
    })?;
    let run_id: String = row.try_get("run_id")?;
    let step_id: String = row.try_get("step_id")?;
    let item_key: String = row.try_get("item_key")?;
    Ok(DiscrepancyRecord {
        id: row.try_get("id")?,
        discrepancy: NewDiscrepancy {
            key: StepKey::item(run_id, step_id, item_key),
            kind,
            provider_ref: row.try_get("provider_ref")?,
            detail: row.try_get("detail")?,
        },
        found_at: get_ts(row, "found_at")?,
        cleared_at: get_opt_ts(row, "cleared_at")?,
        dismissed_by: row.try_get("dismissed_by")?,
    })
}

#[async_trait::async_trait]
impl DiscrepancyStore for Store {
    async fn record_discrepancy(&self, discrepancy: &NewDiscrepancy) -> Result<bool, StoreError> {
        self.classified(self.record_discrepancy_inner(discrepancy))
            .await
    }

    async fn clear_discrepancies(&self, key: &StepKey) -> Result<u64, StoreError> {
        self.classified(self.clear_discrepancies_inner(key)).await
    }

    async fn load_discrepancies(
        &self,
        run_id: &RunId,
    ) -> Result<Vec<DiscrepancyRecord>, StoreError> {
        self.classified(self.load_discrepancies_inner(run_id)).await
    }

    async fn open_discrepancies(&self, limit: u32) -> Result<Vec<DiscrepancyRecord>, StoreError> {
        self.classified(self.open_discrepancies_inner(limit)).await
    }

    async fn dismiss_discrepancy(
        &self,
        dismissal: &Dismissal,
    ) -> Result<OperatorRecord, StoreError> {
        self.classified(self.dismiss_inner(dismissal)).await
    }
}
