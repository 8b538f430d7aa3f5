//! Settlements: recorded once per succeeded payment item, never changed, and a failure after
//! commit owes its notification in the same transaction.

use std::time::Duration;

use serde_json::json;

use super::Env;
use super::fixtures::{commit, dispatch, new_run, t0};
use crate::ids::RunId;
use crate::store::error::StoreError;
use crate::store::notification::NotifyRoute;
use crate::store::run::NewRun;
use crate::store::settlement::{NewSettlement, Settlement};
use crate::store::step::{NewStep, Outcome, StepKey, StepResult};

fn settle(item: &str, settlement: Settlement, state: &str) -> NewSettlement {
    NewSettlement {
        key: StepKey::item("run_a", "pay", item),
        settlement,
        provider_state: Some(state.into()),
        source: "poll".into(),
    }
}

pub(super) async fn a_settlement_is_recorded_once_and_a_failure_after_commit_is_owed(env: &Env) {
    let store = &*env.store;
    let run = NewRun {
        notify: vec![
            NotifyRoute {
                on: vec!["item_failed_after_commit".into()],
                target: json!({"webhook": {"url": "${HOOK}"}}),
            },
            NotifyRoute {
                on: vec!["failed".into()],
                target: json!({"webhook": {"url": "${OTHER}"}}),
            },
        ],
        ..new_run("run_a")
    };
    let steps: Vec<NewStep> = ["a", "b", "c"]
        .iter()
        .map(|i| NewStep::item("pay", *i))
        .collect();
    store.create_run(&run, &steps).await.unwrap();
    let run_id = RunId::from("run_a");
    let lease = store
        .acquire_lease(&run_id, "engine", Duration::from_secs(86_400))
        .await
        .unwrap();
    let dispatches: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|i| dispatch(i, "10.00"))
        .collect();
    commit(store, &lease, dispatches).await.unwrap();
    let results: Vec<StepResult> = ["a", "b"]
        .iter()
        .map(|i| StepResult {
            key: StepKey::item("run_a", "pay", *i),
            outcome: Outcome::Succeeded {
                output: json!({"id": format!("tr_{i}"), "state": "processing"}),
                provider_ref: Some(format!("tr_{i}")),
            },
            attempt: None,
        })
        .collect();
    commit(store, &lease, results).await.unwrap();

    // What a webhook about `tr_a` may settle: the succeeded row, not yet settled.
    assert_eq!(
        store.unsettled_by_ref("tr_a").await.unwrap(),
        [StepKey::item("run_a", "pay", "a")]
    );
    assert!(store.unsettled_by_ref("tr_c").await.unwrap().is_empty());
    let settled = settle("a", Settlement::Settled, "COMPLETED");
    assert!(store.record_settlement(&settled).await.unwrap());
    assert!(store.unsettled_by_ref("tr_a").await.unwrap().is_empty());
    assert!(!store.record_settlement(&settled).await.unwrap());
    let changed = settle("a", Settlement::FailedAfterCommit, "FAILED");
    assert!(
        !store.record_settlement(&changed).await.unwrap(),
        "a settlement changed"
    );
    let failed = settle("b", Settlement::FailedAfterCommit, "FAILED");
    assert!(store.record_settlement(&failed).await.unwrap());
    assert!(!store.record_settlement(&failed).await.unwrap());
    // Still in doubt: there is nothing to settle.
    let err = store
        .record_settlement(&settle("c", Settlement::Settled, "COMPLETED"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::StepNotFound { .. }), "{err:?}");

    let unpaid = store.failed_after_commit(10).await.unwrap();
    let keys: Vec<&StepKey> = unpaid.iter().map(|r| &r.settlement.key).collect();
    assert_eq!(keys, [&StepKey::item("run_a", "pay", "b")]);
    assert!(store.failed_after_commit(0).await.unwrap().is_empty());

    let recorded = store.load_settlements(&run_id).await.unwrap();
    let shown: Vec<(&str, &str, Option<&str>)> = recorded
        .iter()
        .map(|r| {
            (
                r.settlement.key.item_key.as_str(),
                r.settlement.settlement.as_str(),
                r.settlement.provider_state.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("a", "settled", Some("COMPLETED")),
            ("b", "failed_after_commit", Some("FAILED"))
        ]
    );
    assert_eq!(recorded[0].at, t0());

    let owed = store.list_notifications(Some(&run_id), 10).await.unwrap();
    assert_eq!(owed.len(), 1, "{owed:?}");
    assert_eq!(owed[0].event, "item_failed_after_commit");
    assert_eq!(owed[0].step_id.as_deref(), Some("pay"));
    assert_eq!(owed[0].target, json!({"webhook": {"url": "${HOOK}"}}));
    let message = owed[0].message.as_deref().unwrap_or_default();
    assert!(
        message.contains("run_a/pay[b] failed after commit"),
        "{message}"
    );
}
