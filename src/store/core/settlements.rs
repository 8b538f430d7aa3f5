//! [`SettlementStore`]: a committed payment's final state, recorded once, and the operator
//! case a failure after commit raises in the same transaction.

use sqlx::Row;

use super::dialect::{Conn, DbRow, Store, get_ts, ts};
use super::notifications::{RunNote, owe};
use crate::ids::RunId;
use crate::store::error::StoreError;
use crate::store::settlement::{
    FAILED_AFTER_COMMIT_EVENT, NewSettlement, Settlement, SettlementRecord,
};
use crate::store::step::StepKey;
use crate::store::traits::SettlementStore;

impl Store {
    async fn record_settlement_inner(&self, s: &NewSettlement) -> Result<bool, StoreError> {
        let now = &ts(self.now());
        let key = &s.key;
        let mut tx = self.begin_write().await?;
        let succeeded = sqlx::query(
            "SELECT 1 FROM step_runs WHERE run_id = $1 AND step_id = $2 AND item_key = $3 \
             AND state = 'succeeded'",
        )
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&key.item_key)
        .fetch_optional(&mut *tx)
        .await?;
        if succeeded.is_none() {
            return Err(StoreError::StepNotFound { key: key.clone() });
        }
        let inserted = sqlx::query(
            "INSERT INTO settlements (run_id, step_id, item_key, settlement, provider_state, \
             source, settled_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(&key.run_id)
        .bind(&key.step_id)
        .bind(&key.item_key)
        .bind(s.settlement.as_str())
        .bind(&s.provider_state)
        .bind(&s.source)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted && s.settlement == Settlement::FailedAfterCommit {
            owe_failure(&mut tx, s, now).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn load_settlements_inner(
        &self,
        run_id: &RunId,
    ) -> Result<Vec<SettlementRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.run_id, s.step_id, s.item_key, s.settlement, s.provider_state, s.source, \
             s.settled_at FROM settlements s JOIN step_runs r ON r.run_id = s.run_id \
             AND r.step_id = s.step_id AND r.item_key = s.item_key \
             WHERE s.run_id = $1 ORDER BY r.seq",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(settlement_from_row).collect()
    }

    async fn failed_after_commit_inner(
        &self,
        limit: u32,
    ) -> Result<Vec<SettlementRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.run_id, s.step_id, s.item_key, s.settlement, s.provider_state, s.source, \
             s.settled_at FROM settlements s WHERE s.settlement = 'failed_after_commit' \
             ORDER BY s.settled_at, s.run_id, s.step_id, s.item_key LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(settlement_from_row).collect()
    }
}

impl Store {
    async fn unsettled_by_ref_inner(&self, provider_ref: &str) -> Result<Vec<StepKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.run_id, r.step_id, r.item_key FROM step_runs r \
             WHERE r.provider_ref = $1 AND r.state = 'succeeded' AND NOT EXISTS \
             (SELECT 1 FROM settlements s WHERE s.run_id = r.run_id AND s.step_id = r.step_id \
             AND s.item_key = r.item_key) ORDER BY r.run_id, r.seq",
        )
        .bind(provider_ref)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let (run_id, step_id, item_key): (String, String, String) = (
                    row.try_get("run_id")?,
                    row.try_get("step_id")?,
                    row.try_get("item_key")?,
                );
                Ok(StepKey::item(run_id, step_id, item_key))
            })
            .collect()
    }
}

fn settlement_from_row(row: &DbRow) -> Result<SettlementRecord, StoreError> {
    let name: String = row.try_get("settlement")?;
    let settlement = Settlement::from_stored(&name).ok_or(StoreError::Corrupt {
        column: "settlement",
        value: name,
    })?;
    let run_id: String = row.try_get("run_id")?;
    let step_id: String = row.try_get("step_id")?;
    let item_key: String = row.try_get("item_key")?;
    Ok(SettlementRecord {
        settlement: NewSettlement {
            key: StepKey::item(run_id, step_id, item_key),
            settlement,
            provider_state: row.try_get("provider_state")?,
            source: row.try_get("source")?,
        },
        at: get_ts(row, "settled_at")?,
    })
}

/// One `item_failed_after_commit` notification per route of the run that wants it, on
/// `conn` inside the caller's transaction.
async fn owe_failure(
    conn: &mut Conn,
    s: &NewSettlement,
    now: &super::dialect::Ts,
) -> Result<(), StoreError> {
    let message = format!(
        "payment {} failed after commit (provider state {}): the payee was not paid",
        s.key,
        s.provider_state.as_deref().unwrap_or("unknown")
    );
    let note = RunNote {
        run_id: &s.key.run_id,
        event: FAILED_AFTER_COMMIT_EVENT,
        step_id: Some(s.key.step_id.as_str()),
        message: Some(&message),
    };
    owe(conn, &note, now).await
}

#[async_trait::async_trait]
impl SettlementStore for Store {
    async fn record_settlement(&self, settlement: &NewSettlement) -> Result<bool, StoreError> {
        self.classified(self.record_settlement_inner(settlement))
            .await
    }

    async fn load_settlements(&self, run_id: &RunId) -> Result<Vec<SettlementRecord>, StoreError> {
        self.classified(self.load_settlements_inner(run_id)).await
    }

    async fn failed_after_commit(&self, limit: u32) -> Result<Vec<SettlementRecord>, StoreError> {
        self.classified(self.failed_after_commit_inner(limit)).await
    }

    async fn unsettled_by_ref(&self, provider_ref: &str) -> Result<Vec<StepKey>, StoreError> {
        self.classified(self.unsettled_by_ref_inner(provider_ref))
            .await
    }
}
