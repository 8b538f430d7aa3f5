//! [`EventStore`] on SQLite: deduplicated intake that wakes waiting steps in the same
//! transaction, and lookups for events that arrived before their waiter.

use sqlx::{QueryBuilder, Row, Sqlite};

use super::SqliteStore;
use super::codec::{event_columns, event_from_row, ts};
use crate::store::error::StoreError;
use crate::store::event::{EventFilter, EventInsert, EventRecord, NewEvent};
use crate::store::step::StepKey;
use crate::store::traits::EventStore;

impl SqliteStore {
    async fn insert_event_inner(
        &self,
        event: &NewEvent,
        wake: &[StepKey],
    ) -> Result<EventInsert, StoreError> {
        let now = ts(self.now());
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
        .bind(&now)
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

        let mut woken = Vec::new();
        for key in wake {
            let result = sqlx::query(
                "UPDATE step_runs SET state = 'pending', event_id = $1, next_attempt_at = NULL, \
                 updated_at = $2 \
                 WHERE run_id = $3 AND step_id = $4 AND item_key = $5 AND state = 'waiting'",
            )
            .bind(id)
            .bind(&now)
            .bind(&key.run_id)
            .bind(&key.step_id)
            .bind(&key.item_key)
            .execute(&mut *tx)
            .await?;
            if result.rows_affected() == 1 {
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
        let mut query = QueryBuilder::<Sqlite>::new(concat!(
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
async fn set_matched(
    conn: &mut sqlx::SqliteConnection,
    event_id: i64,
    key: &StepKey,
) -> Result<bool, StoreError> {
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
impl EventStore for SqliteStore {
    async fn insert_event(
        &self,
        event: &NewEvent,
        wake: &[StepKey],
    ) -> Result<EventInsert, StoreError> {
        let result = self.insert_event_inner(event, wake).await;
        result.map_err(|e| self.classify(e))
    }

    async fn mark_event_matched(&self, event_id: i64, key: &StepKey) -> Result<(), StoreError> {
        let result = self.mark_event_matched_inner(event_id, key).await;
        result.map_err(|e| self.classify(e))
    }

    async fn load_event(&self, event_id: i64) -> Result<EventRecord, StoreError> {
        let result = self.load_event_inner(event_id).await;
        result.map_err(|e| self.classify(e))
    }

    async fn list_events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>, StoreError> {
        let result = self.list_events_inner(filter).await;
        result.map_err(|e| self.classify(e))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::sqlite::testing::{new_run, store_in, t0};
    use crate::store::step::{NewStep, StepState, Waiting};
    use crate::store::traits::{RunStore, StepStore};

    fn swap_completed(dedupe_key: &str, object_id: &str) -> NewEvent {
        NewEvent {
            provider: "ws".into(),
            dedupe_key: dedupe_key.into(),
            event_type: "SWAP_COMPLETED".into(),
            object_id: Some(object_id.into()),
            payload: format!(
                r#"{{"type":"SWAP_COMPLETED","data":{{"id":"{object_id}","amount":"100.0000000"}}}}"#
            ),
            signature_ok: true,
        }
    }

    async fn waiting_run(store: &SqliteStore) -> StepKey {
        let steps = [NewStep::step("fund"), NewStep::step("funded")];
        store.create_run(&new_run("run_a"), &steps).await.unwrap();
        let key = StepKey::step("run_a", "funded");
        store
            .mark_waiting(&[Waiting {
                key: key.clone(),
                request: Some(json!({"event": "SWAP_COMPLETED", "match": {"id": "sw_1"}})),
                next_check_at: None,
                deadline_at: None,
            }])
            .await
            .unwrap();
        key
    }

    #[tokio::test]
    async fn an_event_wakes_its_waiter_in_the_same_transaction_and_a_duplicate_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        let funded = waiting_run(&store).await;
        let not_waiting = StepKey::step("run_a", "fund");

        let inserted = store
            .insert_event(
                &swap_completed("evt_1", "sw_1"),
                &[funded.clone(), not_waiting],
            )
            .await
            .unwrap();
        let EventInsert::Inserted { id, woken } = inserted else {
            panic!("expected Inserted, got {inserted:?}");
        };
        assert_eq!(woken, std::slice::from_ref(&funded));
        let step = store.load_step(&funded).await.unwrap();
        assert_eq!((step.state, step.event_id), (StepState::Pending, Some(id)));
        let event = store.load_event(id).await.unwrap();
        assert_eq!(event.matched, Some(funded.clone()));
        assert_eq!(event.received_at, t0());
        assert_eq!(event.event, swap_completed("evt_1", "sw_1"));

        // The waiter waits again; a redelivery of the same event must not wake it or be stored.
        store
            .mark_waiting(&[Waiting {
                key: funded.clone(),
                request: None,
                next_check_at: None,
                deadline_at: None,
            }])
            .await
            .unwrap();
        let steps_before = store.load_steps("run_a").await.unwrap();
        let events_before = store.list_events(&EventFilter::default()).await.unwrap();
        let again = store
            .insert_event(
                &swap_completed("evt_1", "sw_1"),
                std::slice::from_ref(&funded),
            )
            .await
            .unwrap();
        assert_eq!(again, EventInsert::Duplicate { id });
        assert_eq!(store.load_steps("run_a").await.unwrap(), steps_before);
        assert_eq!(
            store.list_events(&EventFilter::default()).await.unwrap(),
            events_before
        );
        assert_eq!(steps_before[1].event_id, None);
        assert_eq!(
            steps_before[1].request.as_ref().unwrap()["match"]["id"],
            "sw_1"
        );

        // The same dedupe key from another provider block is another event.
        let mut other = swap_completed("evt_1", "sw_1");
        other.provider = "ws_eu".into();
        assert!(matches!(
            store.insert_event(&other, &[]).await.unwrap(),
            EventInsert::Inserted { woken, .. } if woken.is_empty()
        ));
    }

    #[tokio::test]
    async fn an_event_that_arrives_before_its_waiter_is_found_and_matched_later() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        store
            .insert_event(&swap_completed("evt_1", "sw_1"), &[])
            .await
            .unwrap();
        store
            .insert_event(&swap_completed("evt_2", "sw_2"), &[])
            .await
            .unwrap();
        let funded = waiting_run(&store).await;

        let filter = EventFilter {
            provider: Some("ws".into()),
            event_type: Some("SWAP_COMPLETED".into()),
            object_id: Some("sw_1".into()),
            unmatched_only: true,
            limit: Some(10),
        };
        let early = store.list_events(&filter).await.unwrap();
        assert_eq!(early.len(), 1);
        assert_eq!(early[0].event.dedupe_key, "evt_1");
        store
            .mark_event_matched(early[0].id, &funded)
            .await
            .unwrap();
        assert!(store.list_events(&filter).await.unwrap().is_empty());
        let all = EventFilter {
            unmatched_only: true,
            ..EventFilter::default()
        };
        assert_eq!(store.list_events(&all).await.unwrap().len(), 1);
        assert!(matches!(
            store.mark_event_matched(999, &funded).await,
            Err(StoreError::EventNotFound { id: 999 })
        ));
        assert!(matches!(
            store.load_event(999).await,
            Err(StoreError::EventNotFound { id: 999 })
        ));
    }
}
