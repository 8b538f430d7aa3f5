//! Discrepancies: recorded once while open from any handle, a new one owes its notification
//! in the same transaction, a match clears it (but not an unknown object) and it stays as
//! history; a disagreement found again after clearing is a new case.

use chrono::TimeDelta;
use serde_json::json;

use super::Env;
use super::fixtures::{new_run, t0};
use crate::ids::RunId;
use crate::store::discrepancy::{DiscrepancyKind, NewDiscrepancy};
use crate::store::notification::NotifyRoute;
use crate::store::run::NewRun;
use crate::store::step::{NewStep, StepKey};

fn found(item: &str, kind: DiscrepancyKind, provider_ref: &str) -> NewDiscrepancy {
    NewDiscrepancy {
        key: StepKey::item("run_a", "pay", item),
        kind,
        provider_ref: provider_ref.into(),
        detail: "sluice recorded 120.00, the provider holds 119.00".into(),
    }
}

pub(super) async fn a_discrepancy_is_recorded_once_while_open_and_cleared_by_a_match(env: &Env) {
    let store = &*env.store;
    let run = NewRun {
        notify: vec![
            NotifyRoute {
                on: vec!["reconcile_mismatch".into()],
                target: json!({"webhook": {"url": "${HOOK}"}}),
            },
            NotifyRoute {
                on: vec!["item_failed_after_commit".into()],
                target: json!({"webhook": {"url": "${OTHER}"}}),
            },
        ],
        ..new_run("run_a")
    };
    let steps = [NewStep::item("pay", "a"), NewStep::item("pay", "b")];
    store.create_run(&run, &steps).await.unwrap();
    store.create_run(&new_run("run_b"), &[]).await.unwrap();
    let run_id = RunId::from("run_a");
    let second = env.second().await;

    let amount = found("a", DiscrepancyKind::AmountMismatch, "tr_a");
    assert!(store.record_discrepancy(&amount).await.unwrap());
    // Another process's pass, and a later one, find the same case open.
    assert!(!second.record_discrepancy(&amount).await.unwrap());
    env.clock.advance(TimeDelta::seconds(5));
    assert!(!store.record_discrepancy(&amount).await.unwrap());
    let unknown = found("b", DiscrepancyKind::UnknownToSluice, "tr_dup");
    assert!(store.record_discrepancy(&unknown).await.unwrap());
    let other = found("b", DiscrepancyKind::UnknownToSluice, "tr_dup2");
    assert!(second.record_discrepancy(&other).await.unwrap());

    let owed = store.list_notifications(Some(&run_id), 10).await.unwrap();
    assert_eq!(owed.len(), 3, "{owed:?}");
    assert!(owed.iter().all(|n| n.event == "reconcile_mismatch"));
    assert!(
        owed.iter()
            .all(|n| n.target == json!({"webhook": {"url": "${HOOK}"}}))
    );
    let message = owed
        .iter()
        .filter_map(|n| n.message.as_deref())
        .find(|m| m.contains("run_a/pay[a]"))
        .unwrap_or_default();
    assert!(
        message.contains("amount_mismatch: sluice recorded 120.00, the provider holds 119.00"),
        "{message}"
    );
    let open = store.open_discrepancies(10).await.unwrap();
    let shown: Vec<(&str, &str, &str)> = open
        .iter()
        .map(|d| {
            (
                d.discrepancy.key.item_key.as_str(),
                d.discrepancy.kind.as_str(),
                d.discrepancy.provider_ref.as_str(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("a", "amount_mismatch", "tr_a"),
            ("b", "unknown_to_sluice", "tr_dup"),
            ("b", "unknown_to_sluice", "tr_dup2")
        ]
    );
    assert_eq!(open[0].found_at, t0());
    assert_eq!(store.open_discrepancies(1).await.unwrap().len(), 1);

    // The payments match again: the amount case clears, the unknown objects stay.
    env.clock.advance(TimeDelta::seconds(5));
    let a = StepKey::item("run_a", "pay", "a");
    let b = StepKey::item("run_a", "pay", "b");
    assert_eq!(store.clear_discrepancies(&a).await.unwrap(), 1);
    assert_eq!(second.clear_discrepancies(&a).await.unwrap(), 0);
    assert_eq!(store.clear_discrepancies(&b).await.unwrap(), 0);
    let open = store.open_discrepancies(10).await.unwrap();
    assert!(
        open.iter()
            .all(|d| d.discrepancy.kind == DiscrepancyKind::UnknownToSluice),
        "{open:?}"
    );
    let history = store.load_discrepancies(&run_id).await.unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0].discrepancy, amount);
    assert_eq!(history[0].cleared_at, Some(t0() + TimeDelta::seconds(10)));

    // Found again after it cleared: a new case, told again.
    assert!(store.record_discrepancy(&amount).await.unwrap());
    assert!(!store.record_discrepancy(&amount).await.unwrap());
    let history = store.load_discrepancies(&run_id).await.unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(history[3].cleared_at, None);
    let owed = store.list_notifications(Some(&run_id), 10).await.unwrap();
    assert_eq!(owed.len(), 4, "{owed:?}");
    // A run without routes owes nothing; another run's cases are its own.
    let elsewhere = NewDiscrepancy {
        key: StepKey::item("run_b", "pay", "a"),
        ..amount.clone()
    };
    assert!(store.record_discrepancy(&elsewhere).await.unwrap());
    let run_b = RunId::from("run_b");
    assert!(
        store
            .list_notifications(Some(&run_b), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.load_discrepancies(&run_b).await.unwrap().len(), 1);
}
