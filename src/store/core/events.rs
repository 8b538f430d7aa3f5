//! [`EventStore`]: deduplicated intake that wakes waiting steps in the same
//! transaction, and lookups for events that arrived before their waiter.
//!
//! Receivers in several processes may take the same delivery at once: on Postgres the second
//! `INSERT` waits on the unique `(provider, dedupe_key)` index until the first commits, then
//! inserts nothing and reports a duplicate, so an event is stored, and its waiters woken, once.

use sqlx::{QueryBuilder, Row};

use super::codec::{event_columns, event_from_row};
use super::dialect::{Conn, Db, Store, lock_runs, notify, ts};
use crate::store::error::StoreError;
use crate::store::event::{EventFilter, EventInsert, EventRecord, NewEvent};
use crate::store::notice::StoreNotice;
use crate::store::step::StepKey;
use crate::store::traits::EventStore;
use crate::store::transition::{Transition, guarded};

impl Store {
    async fn insert_event_inner(
        &self,
        event: &NewEvent,
        wake: &[StepKey],
    ) -> Result<EventInsert, StoreError> {
        let now = &ts(self.now());
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO events (provider, dedupe_key, event_type, object_id, payload, \
             signature_ok, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (provider, dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(&event.provider)
        .bind(&event.dedupe_key)
        .bind(&event.event_type)
        .bind(&event.object_id)
        .bind(&event.payload)
        .bind(event.signature_ok)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(inserted) = inserted else {
            let id: i64 =
                sqlx::query("SELECT id FROM events WHERE provider = $1 AND dedupe_key = $2")
                    .bind(&event.provider)
                    .bind(&event.dedupe_key)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
            // Nothing was written; dropping the transaction rolls it back.
            return Ok(EventInsert::Duplicate { id });
        };
        let id: i64 = inserted.try_get("id")?;

        lock_runs(&mut tx, wake.iter().map(|key| key.run_id.as_str())).await?;
        let mut woken = Vec::new();
        for key in wake {
            let sql = guarded!(
                Transition::Wake,
                "UPDATE step_runs SET state = {to}, event_id = $1, next_attempt_at = NULL, \
                 updated_at = $2 \
                 WHERE run_id = $3 AND step_id = $4 AND item_key = $5 AND {guard}"
            );
            let result = sqlx::query(sql)
                .bind(id)
                .bind(now)
                .bind(&key.run_id)
                .bind(&key.step_id)
                .bind(&key.item_key)
                .execute(&mut *tx)
                .await?;
            if result.rows_affected() == 1 {
                notify(&mut tx, &StoreNotice::Woken(key.clone())).await?;
                woken.push(key.clone());
            }
        }
        if let Some(first) = woken.first() {
            set_matched(&mut tx, id, first).await?;
        }
        tx.commit().await?;
        Ok(EventInsert::Inserted { id, woken })
    }

    async fn mark_event_matched_inner(
        &self,
        event_id: i64,
        key: &StepKey,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if !set_matched(&mut tx, event_id, key).await? {
            return Err(StoreError::EventNotFound { id: event_id });
        }
        tx.commit().await?;
        Ok(())
    }

    async fn load_event_inner(&self, event_id: i64) -> Result<EventRecord, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE id = $1"
        ))
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::EventNotFound { id: event_id })?;
        event_from_row(&row)
    }

    async fn list_events_inner(
        &self,
        filter: &EventFilter,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let mut query = QueryBuilder::<Db>::new(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE 1 = 1"
        ));
        if let Some(provider) = &filter.provider {
            query.push(" AND provider = ").push_bind(provider);
        }
        if let Some(event_type) = &filter.event_type {
            query.push(" AND event_type = ").push_bind(event_type);
        }
        if let Some(object_id) = &filter.object_id {
            query.push(" AND object_id = ").push_bind(object_id);
        }
        if filter.unmatched_only {
            query.push(" AND matched_run_id IS NULL");
        }
        query.push(" ORDER BY id");
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }
}

/// Links an event to a step; `false` if there is no such event.
async fn set_matched(conn: &mut Conn, event_id: i64, key: &StepKey) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE events SET matched_run_id = $1, matched_step_id = $2, matched_item_key = $3 \
         WHERE id = $4",
    )
    .bind(&key.run_id)
    .bind(&key.step_id)
    .bind(&key.item_key)
    .bind(event_id)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

#[async_trait::async_trait]
impl EventStore for Store {
    async fn insert_event(
        &self,
        event: &NewEvent,
        wake: &[StepKey],
    ) -> Result<EventInsert, StoreError> {
        self.classified(self.insert_event_inner(event, wake)).await
    }

    async fn mark_event_matched(&self, event_id: i64, key: &StepKey) -> Result<(), StoreError> {
        self.classified(self.mark_event_matched_inner(event_id, key))
            .await
    }

    async fn load_event(&self, event_id: i64) -> Result<EventRecord, StoreError> {
        self.classified(self.load_event_inner(event_id)).await
    }

    async fn list_events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>, StoreError> {
        self.classified(self.list_events_inner(filter)).await
    }
}
