//! Schedule slots: fired once across processes, with their run or not at all.

use chrono::TimeDelta;

use super::Env;
use super::fixtures::{new_run, t0};
use crate::ids::RunId;
use crate::store::error::StoreError;
use crate::store::run::{NewRun, RunStatus};
use crate::store::step::NewStep;

pub(super) async fn a_slot_is_claimed_once_across_two_handles(env: &Env) {
    let first = &*env.store;
    let second = env.second().await;
    let slot = t0();
    assert!(
        first
            .claim_slot("payroll", slot, &RunId::from("run_payroll_1"))
            .await
            .unwrap()
    );
    assert!(
        !second
            .claim_slot("payroll", slot, &RunId::from("run_payroll_1"))
            .await
            .unwrap()
    );
    assert!(
        !first
            .claim_slot("payroll", slot, &RunId::from("run_other"))
            .await
            .unwrap()
    );
    // Another slot, or another workflow's same instant, is free.
    let next = slot + TimeDelta::weeks(1);
    assert!(
        second
            .claim_slot("payroll", next, &RunId::from("run_payroll_2"))
            .await
            .unwrap()
    );
    assert!(
        second
            .claim_slot("sweep", slot, &RunId::from("run_sweep_1"))
            .await
            .unwrap()
    );

    let last = first.last_slot("payroll").await.unwrap().unwrap();
    assert_eq!(
        (last.slot_at, last.run_id.as_str(), last.claimed_at),
        (next, "run_payroll_2", t0())
    );
    assert_eq!(first.last_slot("nightly").await.unwrap(), None);
}

pub(super) async fn a_slot_run_is_created_with_its_claim_or_not_at_all(env: &Env) {
    let store = &*env.store;
    let run = NewRun {
        scheduled_for: Some(t0()),
        ..new_run("run_payroll_20250307T0900Z")
    };
    let steps = [NewStep::step("fund"), NewStep::item("pay", "e1")];
    assert!(
        store
            .start_slot_run("payroll", t0(), &run, &steps)
            .await
            .unwrap()
    );
    assert!(
        !store
            .start_slot_run("payroll", t0(), &run, &steps)
            .await
            .unwrap()
    );
    assert_eq!(
        store.load_run(&run.id).await.unwrap().scheduled_for,
        Some(t0())
    );
    assert_eq!(store.load_steps(&run.id).await.unwrap().len(), 2);

    // A run that cannot be created leaves the slot unclaimed.
    let next = t0() + TimeDelta::weeks(1);
    let error = store
        .start_slot_run("payroll", next, &run, &steps)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::RunExists { .. }), "{error:?}");
    assert_eq!(
        store.last_slot("payroll").await.unwrap().unwrap().slot_at,
        t0()
    );
}

pub(super) async fn a_slot_fired_from_two_handles_at_once_starts_one_run(env: &Env) {
    let handles = [env.store.clone(), env.second().await];
    for round in 0..10 {
        let slot = t0() + TimeDelta::hours(round);
        let run = NewRun {
            scheduled_for: Some(slot),
            ..new_run(&format!("run_payroll_{round}"))
        };
        let fire = |store: std::sync::Arc<dyn crate::store::Store>| {
            let run = run.clone();
            tokio::spawn(async move {
                let steps: Vec<NewStep> = (0..50)
                    .map(|i| NewStep::item("pay", format!("e{i}")))
                    .collect();
                store.start_slot_run("payroll", slot, &run, &steps).await
            })
        };
        let (a, b) = tokio::join!(fire(handles[0].clone()), fire(handles[1].clone()));
        let fired = [a.unwrap().unwrap(), b.unwrap().unwrap()];
        assert_eq!(
            fired.iter().filter(|f| **f).count(),
            1,
            "round {round}: {fired:?}"
        );
        assert_eq!(env.store.load_steps(&run.id).await.unwrap().len(), 50);
        let last = env.store.last_slot("payroll").await.unwrap().unwrap();
        assert_eq!((last.slot_at, last.run_id), (slot, run.id));
    }
}

pub(super) async fn a_slot_that_cannot_start_is_claimed_with_a_failed_run(env: &Env) {
    let store = &*env.store;
    let run = NewRun {
        scheduled_for: Some(t0()),
        ..new_run("sched_payroll_20250307T090000Z")
    };
    let error = "cannot read `payroll/2025-03-07.csv` for input `payees`";
    assert!(
        store
            .fail_slot_run("payroll", t0(), &run, error)
            .await
            .unwrap()
    );
    let record = store.load_run(&run.id).await.unwrap();
    assert_eq!(
        (record.status, record.error.as_deref(), record.finished_at),
        (RunStatus::Failed, Some(error), Some(t0()))
    );
    assert!(store.load_steps(&run.id).await.unwrap().is_empty());
    // Fired already: by a failure, or by a run.
    assert!(
        !store
            .fail_slot_run("payroll", t0(), &run, error)
            .await
            .unwrap()
    );
    assert!(
        !store
            .start_slot_run("payroll", t0(), &run, &[])
            .await
            .unwrap()
    );
    assert_eq!(
        store.last_slot("payroll").await.unwrap().unwrap().run_id,
        run.id
    );
}
