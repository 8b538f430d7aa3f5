//! Schedule slots: fired once across processes, with their run or not at all, each saying
//! what became of it; missed slots owe their notification in the same transaction.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::Env;
use super::fixtures::{new_run, t0};
use crate::ids::RunId;
use crate::store::error::StoreError;
use crate::store::notification::{Delivery, DeliveryState, NotifyRoute};
use crate::store::run::{NewRun, RunStatus};
use crate::store::schedule::{MissedSlots, SlotState};
use crate::store::step::NewStep;

type DateTimeUtc = DateTime<Utc>;

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
        notify: vec![NotifyRoute {
            on: vec!["failed".into()],
            target: json!({"webhook": {"url": "${OPS_HOOK}"}}),
        }],
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
    // It pages its `failed` rules, in the same transaction.
    let owed = store.list_notifications(Some(&run.id), 10).await.unwrap();
    assert_eq!(
        owed.iter()
            .map(|n| (n.event.as_str(), n.message.as_deref()))
            .collect::<Vec<_>>(),
        [("failed", Some(error))]
    );
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

pub(super) async fn every_slot_says_what_became_of_it(env: &Env) {
    let store = &*env.store;
    let hour = |h: i64| t0() + TimeDelta::hours(h);
    let fired = NewRun {
        scheduled_for: Some(hour(0)),
        ..new_run("sched_payroll_0")
    };
    assert!(
        store
            .start_slot_run("payroll", hour(0), &fired, &[])
            .await
            .unwrap()
    );
    let reason = "run `sched_payroll_0` was still live (`overlap: skip`)";
    let skipped = RunId::from("sched_payroll_1");
    assert!(
        store
            .skip_slot("payroll", hour(1), &skipped, reason)
            .await
            .unwrap()
    );
    assert!(
        !store
            .skip_slot("payroll", hour(1), &skipped, reason)
            .await
            .unwrap()
    );
    let broken = NewRun {
        scheduled_for: Some(hour(2)),
        ..new_run("sched_payroll_2")
    };
    store
        .fail_slot_run("payroll", hour(2), &broken, "no inputs")
        .await
        .unwrap();
    // A run that fired and then failed shows as failed.
    let failing = NewRun {
        scheduled_for: Some(hour(3)),
        ..new_run("sched_payroll_3")
    };
    store
        .start_slot_run("payroll", hour(3), &failing, &[])
        .await
        .unwrap();
    store
        .set_run_status(&failing.id, RunStatus::Failed, Some("refused"))
        .await
        .unwrap();
    let missed = MissedSlots {
        workflow_name: "sweep".into(),
        slots: vec![(hour(4), "sched_sweep_4".into())],
        reason: "no scheduler was running".into(),
        routes: Vec::new(),
    };
    assert_eq!(store.record_missed_slots(&missed).await.unwrap(), [hour(4)]);

    let slots = store.list_slots(Some("payroll"), 10).await.unwrap();
    let shown: Vec<(DateTimeUtc, SlotState, SlotState, Option<&str>)> = slots
        .iter()
        .map(|s| (s.slot_at, s.state, s.shown(), s.reason.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [
            (hour(3), SlotState::Fired, SlotState::Failed, None),
            (
                hour(2),
                SlotState::Failed,
                SlotState::Failed,
                Some("no inputs")
            ),
            (
                hour(1),
                SlotState::Skipped,
                SlotState::Skipped,
                Some(reason)
            ),
            (hour(0), SlotState::Fired, SlotState::Fired, None),
        ]
    );
    assert_eq!(slots[3].run_status, Some(RunStatus::Pending));
    assert_eq!(slots[2].run_status, None);
    let all = store.list_slots(None, 2).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|s| (s.workflow_name.as_str(), s.shown()))
            .collect::<Vec<_>>(),
        [("sweep", SlotState::Missed), ("payroll", SlotState::Failed)]
    );
    // A missed slot counts for `catch_up` like any other.
    assert_eq!(
        store.last_slot("sweep").await.unwrap().unwrap().state,
        SlotState::Missed
    );
}

pub(super) async fn missed_slots_owe_one_notification_with_their_record_once(env: &Env) {
    let store = &*env.store;
    let second = env.second().await;
    let route = |on: &str, url: &str| NotifyRoute {
        on: vec![on.into()],
        target: json!({"webhook": {"url": url}}),
    };
    let missed = MissedSlots {
        workflow_name: "payroll".into(),
        slots: (0..3)
            .map(|h| {
                let slot = t0() + TimeDelta::hours(h);
                (slot, format!("sched_payroll_{h}").into())
            })
            .collect(),
        reason: "no scheduler was running when it came due (`catch_up: none`)".into(),
        routes: vec![
            route("schedule_missed", "${OPS_HOOK}"),
            route("failed", "${OTHER_HOOK}"),
        ],
    };
    // One of them was fired meanwhile by a process that watched: it is not missed.
    let fired = NewRun {
        scheduled_for: Some(t0() + TimeDelta::hours(3)),
        ..new_run("sched_payroll_3")
    };
    let mut missed = missed;
    missed
        .slots
        .push((t0() + TimeDelta::hours(3), "sched_payroll_3".into()));
    assert!(
        second
            .start_slot_run("payroll", t0() + TimeDelta::hours(3), &fired, &[])
            .await
            .unwrap()
    );
    assert_eq!(store.record_missed_slots(&missed).await.unwrap().len(), 3);
    // Recorded already, from another process: nothing is claimed or owed again.
    assert!(
        second
            .record_missed_slots(&missed)
            .await
            .unwrap()
            .is_empty()
    );
    let owed = store.list_notifications(None, 10).await.unwrap();
    assert_eq!(owed.len(), 1, "{owed:?}");
    let n = &owed[0];
    assert_eq!(
        (
            n.run_id.as_ref(),
            n.workflow_name.as_str(),
            n.event.as_str()
        ),
        (None, "payroll", "schedule_missed")
    );
    assert_eq!(n.target, json!({"webhook": {"url": "${OPS_HOOK}"}}));
    let message = n.message.as_deref().unwrap();
    assert!(
        message.starts_with("3 slots missed, 2025-03-07T09:00:00Z to 2025-03-07T11:00:00Z"),
        "{message}"
    );
    // Delivered like a run's notification, under a claim.
    let claimed = second
        .claim_notifications("deliverer", Duration::from_secs(60), None, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        second
            .record_delivery(claimed[0].id, "deliverer", &Delivery::Delivered)
            .await
            .unwrap()
    );
    let delivered = store.list_notifications(None, 10).await.unwrap();
    assert_eq!(delivered[0].state, DeliveryState::Delivered);
}
