//! Webhook events: deduplicated intake that wakes waiters in the same transaction, events that
//! arrive before their waiter, and one delivery received by two processes at once.

use serde_json::json;

use super::Env;
use super::fixtures::{commit, lease_for_a_day, new_run, t0};
use crate::ids::RunId;
use crate::store::error::StoreError;
use crate::store::event::{EventFilter, EventInsert, NewEvent};
use crate::store::run::Lease;
use crate::store::step::{NewStep, StepKey, StepState, Waiting};
use crate::store::traits::Store;

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

/// A run whose `funded` step waits for `sw_1`'s swap, and the lease it was set waiting under.
async fn waiting_run(store: &dyn Store) -> (StepKey, Lease) {
    let steps = [NewStep::step("fund"), NewStep::step("funded")];
    store.create_run(&new_run("run_a"), &steps).await.unwrap();
    let lease = lease_for_a_day(store, "run_a").await;
    let key = StepKey::step("run_a", "funded");
    commit(
        store,
        &lease,
        vec![Waiting {
            key: key.clone(),
            request: Some(json!({"event": "SWAP_COMPLETED", "match": {"id": "sw_1"}})),
            next_check_at: None,
            deadline_at: None,
        }],
    )
    .await
    .unwrap();
    (key, lease)
}

pub(super) async fn an_event_wakes_its_waiter_in_the_same_transaction_and_a_duplicate_changes_nothing(
    env: &Env,
) {
    let store = &*env.store;
    let (funded, lease) = waiting_run(store).await;
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
    commit(
        store,
        &lease,
        vec![Waiting {
            key: funded.clone(),
            request: None,
            next_check_at: None,
            deadline_at: None,
        }],
    )
    .await
    .unwrap();
    let steps_before = store.load_steps(&RunId::from("run_a")).await.unwrap();
    let events_before = store.list_events(&EventFilter::default()).await.unwrap();
    let again = store
        .insert_event(
            &swap_completed("evt_1", "sw_1"),
            std::slice::from_ref(&funded),
        )
        .await
        .unwrap();
    assert_eq!(again, EventInsert::Duplicate { id });
    assert_eq!(
        store.load_steps(&RunId::from("run_a")).await.unwrap(),
        steps_before
    );
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

pub(super) async fn an_event_that_arrives_before_its_waiter_is_found_and_matched_later(env: &Env) {
    let store = &*env.store;
    store
        .insert_event(&swap_completed("evt_1", "sw_1"), &[])
        .await
        .unwrap();
    store
        .insert_event(&swap_completed("evt_2", "sw_2"), &[])
        .await
        .unwrap();
    let (funded, _) = waiting_run(store).await;

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

pub(super) async fn one_delivery_received_twice_at_once_is_stored_and_wakes_once(env: &Env) {
    let (funded, lease) = waiting_run(&*env.store).await;
    let handles = [env.store.clone(), env.second().await];
    for round in 0..10 {
        let dedupe_key = format!("evt_{round}");
        let receive = |store: std::sync::Arc<dyn Store>| {
            let (event, wake) = (swap_completed(&dedupe_key, "sw_1"), funded.clone());
            tokio::spawn(async move { store.insert_event(&event, &[wake]).await })
        };
        let (a, b) = tokio::join!(receive(handles[0].clone()), receive(handles[1].clone()));
        let results = [a.unwrap().unwrap(), b.unwrap().unwrap()];
        let inserted: Vec<_> = results
            .iter()
            .filter_map(|r| match r {
                EventInsert::Inserted { id, woken } => Some((*id, woken.clone())),
                EventInsert::Duplicate { .. } => None,
            })
            .collect();
        assert_eq!(inserted.len(), 1, "round {round}: {results:?}");
        let (id, woken) = &inserted[0];
        assert!(
            results.contains(&EventInsert::Duplicate { id: *id }),
            "round {round}: {results:?}"
        );
        assert_eq!(woken, std::slice::from_ref(&funded));
        let step = env.store.load_step(&funded).await.unwrap();
        assert_eq!((step.state, step.event_id), (StepState::Pending, Some(*id)));
        // Waiting again for the next round's event.
        commit(
            &*env.store,
            &lease,
            vec![Waiting {
                key: funded.clone(),
                request: None,
                next_check_at: None,
                deadline_at: None,
            }],
        )
        .await
        .unwrap();
    }
    let filter = EventFilter {
        provider: Some("ws".into()),
        ..EventFilter::default()
    };
    assert_eq!(env.store.list_events(&filter).await.unwrap().len(), 10);
}
