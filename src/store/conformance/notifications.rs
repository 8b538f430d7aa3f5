//! The notifications outbox: a status change writes what it owes in its own transaction,
//! once per status, and deliveries are recorded only under the deliverer's claim.

use std::time::Duration;

use chrono::TimeDelta;
use serde_json::json;

use super::Env;
use super::fixtures::new_run;
use crate::ids::RunId;
use crate::store::notification::{Delivery, DeliveryState, NotifyRoute};
use crate::store::run::{NewRun, RunStatus};
use crate::store::step::NewStep;

const TTL: Duration = Duration::from_secs(60);

pub(super) async fn a_status_change_owes_its_notifications_once_and_claims_fence_deliveries(
    env: &Env,
) {
    let store = &*env.store;
    let run = NewRun {
        notify: vec![
            NotifyRoute {
                on: vec!["failed".into(), "waiting".into()],
                target: json!({"webhook": {"url": "${HOOK}"}}),
            },
            NotifyRoute {
                on: vec!["succeeded".into()],
                target: json!({"webhook": {"url": "${OTHER}"}}),
            },
        ],
        ..new_run("run_n")
    };
    store
        .create_run(&run, &[NewStep::step("pay")])
        .await
        .unwrap();
    let run_id = RunId::from("run_n");
    store
        .set_run_status(&run_id, RunStatus::Running, None)
        .await
        .unwrap();
    store
        .set_run_status(&run_id, RunStatus::Waiting, None)
        .await
        .unwrap();
    // Resumed and waiting again: nothing new is owed.
    store
        .set_run_status(&run_id, RunStatus::Waiting, None)
        .await
        .unwrap();
    let owed = store.list_notifications(Some(&run_id), 10).await.unwrap();
    assert_eq!(owed.len(), 1, "{owed:?}");
    assert_eq!(owed[0].event, "waiting");
    assert_eq!(owed[0].target, json!({"webhook": {"url": "${HOOK}"}}));

    let claimed = store
        .claim_notifications("first", TTL, None, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        store
            .claim_notifications("second", TTL, None, 10)
            .await
            .unwrap()
            .is_empty(),
        "a claimed notification is claimed twice"
    );
    let id = claimed[0].id;
    assert!(
        !store
            .record_delivery(id, "second", &Delivery::Delivered)
            .await
            .unwrap(),
        "recorded without the claim"
    );
    let failed = Delivery::Failed("webhook answered HTTP 500".into());
    assert!(store.record_delivery(id, "first", &failed).await.unwrap());
    let row = &store.list_notifications(Some(&run_id), 10).await.unwrap()[0];
    assert_eq!((row.state, row.attempts), (DeliveryState::Pending, 1));
    assert!(
        store
            .claim_notifications("first", TTL, None, 10)
            .await
            .unwrap()
            .is_empty(),
        "retried before its backoff"
    );
    env.clock.advance(TimeDelta::seconds(3));
    let again = store
        .claim_notifications("second", TTL, Some(&run_id), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert!(
        store
            .record_delivery(id, "second", &Delivery::Delivered)
            .await
            .unwrap()
    );
    let row = &store.list_notifications(Some(&run_id), 10).await.unwrap()[0];
    assert_eq!((row.state, row.attempts), (DeliveryState::Delivered, 2));
    assert!(row.delivered_at.is_some());
}

pub(super) async fn serve_routes_join_a_run_once_and_its_later_changes_owe_them(env: &Env) {
    let store = &*env.store;
    let own = NotifyRoute {
        on: vec!["failed".into()],
        target: json!({"webhook": {"url": "${TEAM_HOOK}"}}),
    };
    let serve = NotifyRoute {
        on: vec!["failed".into(), "succeeded".into()],
        target: json!({"webhook": {"url": "${OPS_HOOK}"}}),
    };
    let run = NewRun {
        notify: vec![own.clone()],
        ..new_run("run_s")
    };
    store
        .create_run(&run, &[NewStep::step("pay")])
        .await
        .unwrap();
    // Held by two workers in turn: serve's route is added once, the run's own is kept.
    for _ in 0..2 {
        store
            .add_notify_routes(&run.id, std::slice::from_ref(&serve))
            .await
            .unwrap();
    }
    store
        .set_run_status(&run.id, RunStatus::Failed, Some("refused"))
        .await
        .unwrap();
    let owed = store.list_notifications(Some(&run.id), 10).await.unwrap();
    let mut targets: Vec<String> = owed.iter().map(|n| n.target.to_string()).collect();
    targets.sort();
    assert_eq!(
        targets,
        [
            json!({"webhook": {"url": "${OPS_HOOK}"}}).to_string(),
            json!({"webhook": {"url": "${TEAM_HOOK}"}}).to_string(),
        ]
    );
    assert!(owed.iter().all(|n| n.run_id.as_ref() == Some(&run.id)));
    let error = store
        .add_notify_routes(&RunId::from("run_none"), &[serve])
        .await
        .unwrap_err();
    assert!(
        matches!(error, crate::store::StoreError::RunNotFound { .. }),
        "{error:?}"
    );
}
