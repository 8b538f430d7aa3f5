//! [`WorkerStore`]: one row per worker, upserted on every heartbeat.

use std::time::Duration;

use chrono::TimeDelta;
use sqlx::Row;

use tokio::sync::mpsc;

use super::dialect::{DbRow, Store, get_ts, listen, sql, ts};
use crate::store::clock::ttl_delta;
use crate::store::error::StoreError;
use crate::store::notice::StoreNotice;
use crate::store::traits::WorkerStore;
use crate::store::worker::{WorkerInfo, WorkerRecord};

/// How long a gone worker's row is kept for `sluice workers` to show.
const KEEP_GONE: TimeDelta = TimeDelta::days(1);

fn worker_from_row(row: &DbRow) -> Result<WorkerRecord, StoreError> {
    let pid: i64 = row.try_get("pid")?;
    Ok(WorkerRecord {
        info: WorkerInfo {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            host: row.try_get("host")?,
            pid: u32::try_from(pid).unwrap_or_default(),
            listen: row.try_get("listen")?,
            version: row.try_get("version")?,
        },
        started_at: get_ts(row, "started_at")?,
        heartbeat_at: get_ts(row, "heartbeat_at")?,
        expires_at: get_ts(row, "expires_at")?,
    })
}

impl Store {
    async fn report_worker_inner(
        &self,
        info: &WorkerInfo,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM workers WHERE expires_at < $1")
            .bind(ts(now - KEEP_GONE))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO workers (id, name, host, pid, listen, version, started_at, heartbeat_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, host = excluded.host, \
             pid = excluded.pid, listen = excluded.listen, version = excluded.version, \
             heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at",
        )
        .bind(&info.id)
        .bind(&info.name)
        .bind(&info.host)
        .bind(i64::from(info.pid))
        .bind(&info.listen)
        .bind(&info.version)
        .bind(ts(now))
        .bind(ts(now + ttl_delta(ttl)))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_worker_inner(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM workers WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn list_workers_inner(&self) -> Result<Vec<WorkerRecord>, StoreError> {
        sqlx::query(concat!(
            "SELECT * FROM workers ORDER BY name",
            sql!(by_bytes),
            ", id",
            sql!(by_bytes)
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(worker_from_row)
        .collect()
    }
}

#[async_trait::async_trait]
impl WorkerStore for Store {
    async fn report_worker(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), StoreError> {
        self.classified(self.report_worker_inner(info, ttl)).await
    }

    async fn remove_worker(&self, id: &str) -> Result<(), StoreError> {
        self.classified(self.remove_worker_inner(id)).await
    }

    async fn list_workers(&self) -> Result<Vec<WorkerRecord>, StoreError> {
        self.classified(self.list_workers_inner()).await
    }

    async fn notices(&self) -> Result<Option<mpsc::UnboundedReceiver<StoreNotice>>, StoreError> {
        self.classified(listen(self)).await
    }
}
