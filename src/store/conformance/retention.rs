//! Retention: pruning deletes exactly the finished runs before the date, and every row of
//! them, and never a run that is not finished or finished later.

use chrono::TimeDelta;
use serde_json::json;

use super::Env;
use super::fixtures::{attempt, commit, dispatch, leased_run, new_run, t0};
use crate::ids::RunId;
use crate::store::attempt::AttemptOutcome;
use crate::store::error::StoreError;
use crate::store::operator::{ActionKind, OperatorAction};
use crate::store::retention::{Prune, Pruned};
use crate::store::run::RunStatus;
use crate::store::step::{NewStep, Outcome, StepKey, StepResult, StepState};

pub(super) async fn prunes_only_runs_finished_before_the_date(env: &Env) {
    let store = &*env.store;
    let clock = &env.clock;
    // run_a: one payment made, one item never sent; finished at t0.
    let lease = leased_run(store, &["e000", "e001"]).await;
    commit(store, &lease, vec![dispatch("e000", "10.00")])
        .await
        .unwrap();
    let paid = StepResult {
        key: StepKey::item("run_a", "pay", "e000"),
        outcome: Outcome::Succeeded {
            output: json!({"id": "tr_0", "amount": "10.00", "asset": "EURC"}),
            provider_ref: Some("tr_0".into()),
        },
        attempt: Some(attempt("e000", AttemptOutcome::Ok)),
    };
    commit(store, &lease, vec![paid]).await.unwrap();
    store.release_lease(&lease).await.unwrap();
    store
        .set_run_status(&RunId::from("run_a"), RunStatus::Succeeded, None)
        .await
        .unwrap();
    // run_b: cancelled by an operator before it sent anything, an hour later.
    clock.advance(TimeDelta::hours(1));
    store
        .create_run(&new_run("run_b"), &[NewStep::step("pay")])
        .await
        .unwrap();
    store
        .apply_operator_action(&OperatorAction {
            run_id: "run_b".into(),
            step_id: None,
            item_key: None,
            kind: ActionKind::Cancel,
            actor: "alice".into(),
            reason: Some("wrong month".into()),
            groups: Vec::new(),
        })
        .await
        .unwrap();
    // run_c: needs attention since t0 + 1h (not finished); run_d: finished two days later.
    store
        .create_run(&new_run("run_c"), &[NewStep::step("pay")])
        .await
        .unwrap();
    store
        .set_run_status(&RunId::from("run_c"), RunStatus::NeedsAttention, None)
        .await
        .unwrap();
    clock.advance(TimeDelta::days(2));
    store
        .create_run(&new_run("run_d"), &[NewStep::step("pay")])
        .await
        .unwrap();
    store
        .set_run_status(&RunId::from("run_d"), RunStatus::Failed, Some("late"))
        .await
        .unwrap();

    let cutoff = t0() + TimeDelta::days(1);
    let pruned = store
        .prune_runs(&Prune {
            finished_before: cutoff,
            keep_audit: true,
        })
        .await
        .unwrap();
    assert_eq!(
        pruned,
        Pruned {
            runs: 2,
            audited: 1
        }
    );
    for gone in ["run_a", "run_b"] {
        let run_id = RunId::from(gone);
        assert!(matches!(
            store.load_run(&run_id).await,
            Err(StoreError::RunNotFound { .. })
        ));
        assert!(store.load_steps(&run_id).await.unwrap().is_empty());
        assert!(store.load_attempts(&run_id).await.unwrap().is_empty());
        assert!(
            store
                .list_operator_actions(&run_id)
                .await
                .unwrap()
                .is_empty()
        );
    }
    for kept in ["run_c", "run_d"] {
        let run_id = RunId::from(kept);
        store.load_run(&run_id).await.unwrap();
        let steps = store.load_steps(&run_id).await.unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].state, StepState::Pending);
    }
    // Nothing else is old enough: a second prune, audit or not, deletes nothing.
    let again = Prune {
        finished_before: cutoff,
        keep_audit: false,
    };
    assert_eq!(store.prune_runs(&again).await.unwrap(), Pruned::default());
}
