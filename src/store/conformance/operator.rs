//! Operator decisions: approvals, resolving items in doubt, cancel and redrive, each recorded
//! with who, when and why.

use chrono::TimeDelta;
use serde_json::json;

use super::Env;
use super::fixtures::{commit, lease_for_a_day, new_run, t0};
use crate::ids::{ItemKey, RunId, StepId};
use crate::store::class::ErrorClass;
use crate::store::error::StoreError;
use crate::store::operator::{ActionKind, OperatorAction};
use crate::store::run::{Lease, RunStatus};
use crate::store::step::{
    Attention, NewStep, Outcome, StepError, StepKey, StepResult, StepState, Waiting,
};
use crate::store::traits::Store;

fn action(kind: ActionKind, step: Option<&str>, item: Option<&str>) -> OperatorAction {
    OperatorAction {
        run_id: "run_a".into(),
        step_id: step.map(StepId::from),
        item_key: item.map(ItemKey::from),
        kind,
        actor: "alice".into(),
        reason: Some("checked the dashboard".into()),
        groups: Vec::new(),
    }
}

async fn run_with_steps(store: &dyn Store) -> Lease {
    let steps = [
        NewStep::step("approve"),
        NewStep::item("pay", "e1"),
        NewStep::item("pay", "e2"),
        NewStep::item("pay", "e3"),
        NewStep::step("report"),
    ];
    store.create_run(&new_run("run_a"), &steps).await.unwrap();
    lease_for_a_day(store, "run_a").await
}

pub(super) async fn approval_is_recorded_with_who_when_and_why(env: &Env) {
    let store = &*env.store;
    let clock = &env.clock;
    let lease = run_with_steps(store).await;
    let approve = action(ActionKind::Approve, Some("approve"), None);
    let error = store.apply_operator_action(&approve).await.unwrap_err();
    assert!(matches!(
        error,
        StoreError::InvalidTransition {
            from: StepState::Pending,
            ..
        }
    ));

    let key = StepKey::step("run_a", "approve");
    commit(
        store,
        &lease,
        vec![Waiting {
            key: key.clone(),
            request: None,
            next_check_at: None,
            deadline_at: None,
        }],
    )
    .await
    .unwrap();
    store
        .set_run_status(&RunId::from("run_a"), RunStatus::Waiting, None)
        .await
        .unwrap();
    clock.advance(TimeDelta::minutes(10));
    let record = store.apply_operator_action(&approve).await.unwrap();
    assert_eq!(
        (record.steps_changed, record.at),
        (1, t0() + TimeDelta::minutes(10))
    );

    let step = store.load_step(&key).await.unwrap();
    assert_eq!(step.state, StepState::Succeeded);
    assert_eq!(
        step.output,
        Some(json!({
            "approved_by": "alice",
            "reason": "checked the dashboard",
            "approved_at": "2025-03-07T09:10:00.000000Z",
        }))
    );
    assert_eq!(
        store.load_run(&RunId::from("run_a")).await.unwrap().status,
        RunStatus::Pending
    );
    assert_eq!(
        store
            .list_operator_actions(&RunId::from("run_a"))
            .await
            .unwrap(),
        [record]
    );

    let error = store
        .apply_operator_action(&action(ActionKind::Approve, None, None))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        StoreError::InvalidAction {
            action: "approve",
            ..
        }
    ));
    let mut unknown = approve.clone();
    unknown.run_id = "run_z".into();
    assert!(matches!(
        store.apply_operator_action(&unknown).await,
        Err(StoreError::RunNotFound { .. })
    ));
}

/// The fixture run (started by `alice`) with its `approve` step waiting under `policy`.
async fn waiting_for(store: &dyn Store, policy: serde_json::Value) -> StepKey {
    let lease = run_with_steps(store).await;
    let key = StepKey::step("run_a", "approve");
    let request = json!({ "approval": true, "message": "sign-off", "policy": policy });
    let wait = Waiting {
        key: key.clone(),
        request: Some(request),
        next_check_at: None,
        deadline_at: None,
    };
    commit(store, &lease, vec![wait]).await.unwrap();
    store
        .set_run_status(&RunId::from("run_a"), RunStatus::Waiting, None)
        .await
        .unwrap();
    key
}

fn by(kind: ActionKind, actor: &str) -> OperatorAction {
    OperatorAction {
        actor: actor.into(),
        ..action(kind, Some("approve"), None)
    }
}

pub(super) async fn approvals_are_judged_by_the_policy_the_row_records(env: &Env) {
    let store = &*env.store;
    let policy = json!({ "min_approvals": 2, "allow_self_approval": false });
    let key = waiting_for(store, policy).await;
    let refused = store
        .apply_operator_action(&by(ActionKind::Approve, "alice"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::ApprovalRefused { .. }),
        "{refused}"
    );
    let first = store
        .apply_operator_action(&by(ActionKind::Approve, "bob"))
        .await
        .unwrap();
    assert_eq!(first.steps_changed, 0);
    assert_eq!(
        store.load_step(&key).await.unwrap().state,
        StepState::Waiting
    );
    assert!(
        store
            .apply_operator_action(&by(ActionKind::Approve, "bob"))
            .await
            .is_err()
    );
    let last = store
        .apply_operator_action(&by(ActionKind::Approve, "carol"))
        .await
        .unwrap();
    assert_eq!(last.steps_changed, 1);
    let step = store.load_step(&key).await.unwrap();
    assert_eq!(step.state, StepState::Succeeded);
    let approvers: Vec<&str> = step.output.as_ref().unwrap()["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["by"].as_str().unwrap())
        .collect();
    assert_eq!(approvers, ["bob", "carol"]);
    let recorded = store
        .list_operator_actions(&RunId::from("run_a"))
        .await
        .unwrap();
    assert_eq!(
        recorded,
        [first, last],
        "only counted approvals are recorded"
    );
}

pub(super) async fn a_denial_fails_the_step_and_the_run(env: &Env) {
    let store = &*env.store;
    let key = waiting_for(
        store,
        json!({ "min_approvals": 1, "allow_self_approval": true }),
    )
    .await;
    let mut unexplained = by(ActionKind::Deny, "bob");
    unexplained.reason = None;
    assert!(matches!(
        store.apply_operator_action(&unexplained).await,
        Err(StoreError::InvalidAction { action: "deny", .. })
    ));
    let denied = store
        .apply_operator_action(&by(ActionKind::Deny, "bob"))
        .await
        .unwrap();
    assert_eq!(denied.steps_changed, 1);
    let step = store.load_step(&key).await.unwrap();
    assert_eq!(step.state, StepState::Failed);
    assert_eq!(
        step.error.map(|e| e.message),
        Some("denied by bob: checked the dashboard".into())
    );
    let run = store.load_run(&RunId::from("run_a")).await.unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.started_by.as_deref(), Some("alice"));
    assert_eq!(
        store
            .list_operator_actions(&RunId::from("run_a"))
            .await
            .unwrap()[0]
            .action
            .kind,
        ActionKind::Deny
    );
}

pub(super) async fn resolving_items_in_doubt(env: &Env) {
    let store = &*env.store;
    let lease = run_with_steps(store).await;
    let doubt: Vec<Attention> = ["e1", "e2", "e3"]
        .map(|item| Attention {
            key: StepKey::item("run_a", "pay", item),
            message: "lookup could not tell".into(),
        })
        .to_vec();
    commit(store, &lease, doubt.clone()).await.unwrap();
    store
        .set_run_status(
            &RunId::from("run_a"),
            RunStatus::NeedsAttention,
            Some("3 items in doubt"),
        )
        .await
        .unwrap();

    let found = ActionKind::ResolveSucceeded {
        provider_ref: "tr_77".into(),
    };
    let record = store
        .apply_operator_action(&action(found.clone(), Some("pay"), Some("e1")))
        .await
        .unwrap();
    assert_eq!(record.steps_changed, 1);
    let e1 = store
        .load_step(&StepKey::item("run_a", "pay", "e1"))
        .await
        .unwrap();
    assert_eq!(
        (e1.state, e1.provider_ref.as_deref()),
        (StepState::Succeeded, Some("tr_77"))
    );
    assert_eq!(e1.output.unwrap()["resolved_by"], "alice");
    let run = store.load_run(&RunId::from("run_a")).await.unwrap();
    assert_eq!((run.status, run.error), (RunStatus::Pending, None));

    // Retry without an item: every item of the step still in doubt.
    let record = store
        .apply_operator_action(&action(ActionKind::ResolveRetry, Some("pay"), None))
        .await
        .unwrap();
    assert_eq!(record.steps_changed, 2);
    let pending = store
        .steps_in_state(&RunId::from("run_a"), &[StepState::Pending])
        .await
        .unwrap();
    assert_eq!(pending.len(), 4);

    // Nothing left in doubt: the refusal names the first item's state.
    let error = store
        .apply_operator_action(&action(ActionKind::ResolveSkip, Some("pay"), None))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::InvalidTransition { from: StepState::Succeeded, to: StepState::Skipped, key } if key.item_key == "e1"),
        "{error:?}"
    );
    let error = store
        .apply_operator_action(&action(ActionKind::ResolveSkip, Some("nope"), None))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::StepNotFound { .. }),
        "{error:?}"
    );

    // A failed item can be skipped.
    commit(
        store,
        &lease,
        vec![StepResult {
            key: StepKey::item("run_a", "pay", "e2"),
            outcome: Outcome::Failed(StepError::new(ErrorClass::Rejected, "closed account")),
            attempt: None,
        }],
    )
    .await
    .unwrap();
    store
        .apply_operator_action(&action(ActionKind::ResolveSkip, Some("pay"), Some("e2")))
        .await
        .unwrap();
    let e2 = store
        .load_step(&StepKey::item("run_a", "pay", "e2"))
        .await
        .unwrap();
    assert_eq!(e2.state, StepState::Skipped);
    assert_eq!(
        e2.skip_reason.as_deref(),
        Some("skipped by alice: checked the dashboard")
    );
    let kinds: Vec<&str> = store
        .list_operator_actions(&RunId::from("run_a"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.action.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        ["resolve_succeeded", "resolve_retry", "resolve_skip"]
    );
}

pub(super) async fn cancel_keeps_steps_in_doubt_and_retry_redrives_failures(env: &Env) {
    let store = &*env.store;
    let lease = run_with_steps(store).await;
    commit(
        store,
        &lease,
        vec![StepResult {
            key: StepKey::item("run_a", "pay", "e1"),
            outcome: Outcome::Failed(StepError::new(ErrorClass::Rejected, "bad iban")),
            attempt: None,
        }],
    )
    .await
    .unwrap();
    store
        .set_run_status(&RunId::from("run_a"), RunStatus::Failed, Some("pay failed"))
        .await
        .unwrap();
    let record = store
        .apply_operator_action(&action(ActionKind::Retry, None, None))
        .await
        .unwrap();
    assert_eq!(record.steps_changed, 1);
    assert_eq!(
        store.load_run(&RunId::from("run_a")).await.unwrap().status,
        RunStatus::Pending
    );

    commit(
        store,
        &lease,
        vec![Attention {
            key: StepKey::item("run_a", "pay", "e2"),
            message: "in doubt".into(),
        }],
    )
    .await
    .unwrap();
    let record = store
        .apply_operator_action(&action(ActionKind::Cancel, None, None))
        .await
        .unwrap();
    assert_eq!(record.steps_changed, 4);
    let run = store.load_run(&RunId::from("run_a")).await.unwrap();
    assert_eq!(run.status, RunStatus::Cancelled);
    assert!(run.finished_at.is_some());
    let e2 = store
        .load_step(&StepKey::item("run_a", "pay", "e2"))
        .await
        .unwrap();
    assert_eq!(e2.state, StepState::NeedsAttention);
    let error = store
        .apply_operator_action(&action(ActionKind::Cancel, None, None))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        StoreError::InvalidAction {
            action: "cancel",
            ..
        }
    ));
    // Still resolvable after the cancel; the run stays cancelled.
    store
        .apply_operator_action(&action(ActionKind::ResolveSkip, Some("pay"), Some("e2")))
        .await
        .unwrap();
    assert_eq!(
        store.load_run(&RunId::from("run_a")).await.unwrap().status,
        RunStatus::Cancelled
    );
}

pub(super) async fn a_resume_is_recorded_without_changing_a_step_and_refused_once_finished(
    env: &Env,
) {
    let store = &*env.store;
    run_with_steps(store).await;
    let run_id = RunId::from("run_a");
    let before = store.load_steps(&run_id).await.unwrap();
    let record = store
        .apply_operator_action(&action(ActionKind::Resume, None, None))
        .await
        .unwrap();
    assert_eq!(record.steps_changed, 0);
    assert_eq!(store.load_steps(&run_id).await.unwrap(), before);
    let listed = store.list_operator_actions(&run_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].action.kind, ActionKind::Resume);

    store
        .set_run_status(&run_id, RunStatus::Succeeded, None)
        .await
        .unwrap();
    let refused = store
        .apply_operator_action(&action(ActionKind::Resume, None, None))
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::InvalidAction {
                action: "resume",
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(store.list_operator_actions(&run_id).await.unwrap().len(), 1);
}
