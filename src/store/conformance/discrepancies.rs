//! Discrepancies: recorded once while open from any handle, a new one owes its notification
//! in the same transaction, a match clears it (but not an unknown object) and it stays as
//! history; a disagreement found again after clearing is a new case. An operator's dismissal
//! clears one case with its audit row, once, and keeps it from being opened again.

use chrono::TimeDelta;
use serde_json::json;

use super::Env;
use super::fixtures::{new_run, t0};
use crate::ids::RunId;
use crate::store::discrepancy::{DiscrepancyKind, Dismissal, NewDiscrepancy};
use crate::store::error::StoreError;
use crate::store::notification::NotifyRoute;
use crate::store::operator::{ActionKind, OperatorAction};
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

pub(super) async fn a_dismissal_clears_one_case_with_its_audit_row_and_keeps_it_closed(env: &Env) {
    let store = &*env.store;
    let steps = [NewStep::item("pay", "a"), NewStep::item("pay", "b")];
    store.create_run(&new_run("run_a"), &steps).await.unwrap();
    store.create_run(&new_run("run_b"), &[]).await.unwrap();
    let run_id = RunId::from("run_a");
    let unknown = found("b", DiscrepancyKind::UnknownToSluice, "tr_dup");
    let amount = found("a", DiscrepancyKind::AmountMismatch, "tr_a");
    assert!(store.record_discrepancy(&unknown).await.unwrap());
    assert!(store.record_discrepancy(&amount).await.unwrap());
    let open = store.open_discrepancies(10).await.unwrap();
    assert_eq!(open.len(), 2);
    assert!(open[0].id < open[1].id);
    let id = open[0].id;
    let dismissal = |run: &str, id: i64, reason: &str| Dismissal {
        run_id: run.into(),
        id,
        actor: "alice".into(),
        reason: reason.into(),
    };

    // No reason, another run's id, an unknown id: refused, nothing written.
    let refused = store
        .dismiss_discrepancy(&dismissal("run_a", id, "  "))
        .await;
    assert!(
        matches!(refused, Err(StoreError::InvalidAction { .. })),
        "{refused:?}"
    );
    let refused = store
        .dismiss_discrepancy(&dismissal("run_b", id, "ok"))
        .await;
    assert!(
        matches!(refused, Err(StoreError::DiscrepancyNotOpen { id: i, .. }) if i == id),
        "{refused:?}"
    );
    let refused = store
        .dismiss_discrepancy(&dismissal("run_a", 999, "ok"))
        .await;
    assert!(
        matches!(refused, Err(StoreError::DiscrepancyNotOpen { .. })),
        "{refused:?}"
    );
    assert!(
        store
            .list_operator_actions(&run_id)
            .await
            .unwrap()
            .is_empty()
    );
    // Only by its id: the generic decision call refuses it.
    let generic = OperatorAction {
        run_id: run_id.clone(),
        step_id: Some("pay".into()),
        item_key: Some("b".into()),
        kind: ActionKind::DismissDiscrepancy {
            provider_ref: "tr_dup".into(),
        },
        actor: "alice".into(),
        reason: Some("ok".into()),
        groups: Vec::new(),
    };
    let refused = store.apply_operator_action(&generic).await;
    assert!(
        matches!(refused, Err(StoreError::InvalidAction { .. })),
        "{refused:?}"
    );
    assert!(
        store
            .list_operator_actions(&run_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.open_discrepancies(10).await.unwrap().len(), 2);

    env.clock.advance(TimeDelta::seconds(5));
    let record = store
        .dismiss_discrepancy(&dismissal("run_a", id, "paid by hand on purpose"))
        .await
        .unwrap();
    assert_eq!(record.steps_changed, 0);
    assert_eq!(record.at, t0() + TimeDelta::seconds(5));
    assert_eq!(
        record.action.kind,
        ActionKind::DismissDiscrepancy {
            provider_ref: "tr_dup".into()
        }
    );
    // The audit row is the record, read back as written.
    let actions = store.list_operator_actions(&run_id).await.unwrap();
    assert_eq!(actions, std::slice::from_ref(&record));
    assert_eq!(actions[0].action.step_id.as_ref().unwrap().as_str(), "pay");
    assert_eq!(actions[0].action.item_key.as_ref().unwrap().as_str(), "b");
    assert_eq!(actions[0].action.actor, "alice");
    assert_eq!(
        actions[0].action.reason.as_deref(),
        Some("paid by hand on purpose")
    );

    // Only that case left the open ones; it stays as history, dismissed by that action.
    let open = store.open_discrepancies(10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].discrepancy, amount);
    let history = store.load_discrepancies(&run_id).await.unwrap();
    let dismissed = history.iter().find(|d| d.id == id).unwrap();
    assert_eq!(dismissed.cleared_at, Some(t0() + TimeDelta::seconds(5)));
    assert_eq!(dismissed.dismissed_by, Some(record.id));

    // Twice, from another handle too: refused, nothing more recorded.
    let second = env.second().await;
    let again = second
        .dismiss_discrepancy(&dismissal("run_a", id, "again"))
        .await;
    assert!(
        matches!(again, Err(StoreError::DiscrepancyNotOpen { .. })),
        "{again:?}"
    );
    assert_eq!(store.list_operator_actions(&run_id).await.unwrap().len(), 1);

    // The next pass finds the same object again: it is not reopened. A case cleared by a
    // match is, and it is told apart from a dismissed one.
    assert!(!store.record_discrepancy(&unknown).await.unwrap());
    let a = StepKey::item("run_a", "pay", "a");
    assert_eq!(store.clear_discrepancies(&a).await.unwrap(), 1);
    assert!(store.record_discrepancy(&amount).await.unwrap());
    let history = store.load_discrepancies(&run_id).await.unwrap();
    assert_eq!(history.len(), 3, "{history:?}");
    assert!(
        history
            .iter()
            .filter(|d| d.id != id)
            .all(|d| d.dismissed_by.is_none())
    );
    // Another kind of disagreement about the dismissed object is a case of its own.
    let state = found("b", DiscrepancyKind::StateMismatch, "tr_dup");
    assert!(store.record_discrepancy(&state).await.unwrap());
}
