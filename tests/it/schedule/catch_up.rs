//! `catch_up` after downtime: a service fires 09:00, dies, and another starts at 12:30,
//! after three missed hourly slots.

use sluice::scheduler::SlotOutcome;
use sluice::store::SlotState;

use sluice::scheduler::Tick;

use crate::schedule::support::{Node, at, runs, setup, started, workflow};

/// The slots a tick recorded missed, as `HH:MM` UTC.
fn missed(tick: &Tick) -> Vec<String> {
    tick.slots
        .iter()
        .filter(|s| matches!(s.outcome, SlotOutcome::Missed { .. }))
        .map(|s| s.slot.format("%H:%M").to_string())
        .collect()
}

/// Slots started by the second service when it starts at 12:30, then at 13:00.
async fn after_three_missed_slots(catch_up: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (dir, clock) = setup("2026-11-21T08:59:00Z");
    let db = dir.path().join("sluice.db");
    let schedule = format!("  cron: \"0 * * * *\"\n  catch_up: {catch_up}\n  overlap: allow");
    let wf = [workflow("hourly", &schedule, "")];

    let first = Node::start(&db, &clock).await;
    assert!(first.tick(&wf).await.slots.is_empty());
    clock.set(at("2026-11-21T09:00:00Z"));
    assert_eq!(started(&first.tick(&wf).await), ["09:00"]);
    drop(first);

    clock.set(at("2026-11-21T12:30:00Z"));
    let second = Node::start(&db, &clock).await;
    let at_start = started(&second.tick(&wf).await);
    clock.set(at("2026-11-21T13:00:00Z"));
    let on_time = started(&second.tick(&wf).await);
    let ids = runs(&second.store, "hourly")
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    (at_start, on_time, ids)
}

#[tokio::test]
async fn catch_up_none_drops_the_missed_slots() {
    let (at_start, on_time, ids) = after_three_missed_slots("none").await;
    assert!(at_start.is_empty(), "{at_start:?}");
    assert_eq!(on_time, ["13:00"]);
    assert_eq!(
        ids,
        [
            "sched_hourly_20261121T090000Z",
            "sched_hourly_20261121T130000Z"
        ]
    );
}

#[tokio::test]
async fn catch_up_latest_runs_only_the_last_missed_slot() {
    let (at_start, on_time, ids) = after_three_missed_slots("latest").await;
    assert_eq!(at_start, ["12:00"]);
    assert_eq!(on_time, ["13:00"]);
    assert_eq!(ids.len(), 3);
}

#[tokio::test]
async fn catch_up_all_runs_every_missed_slot_oldest_first() {
    let (at_start, on_time, ids) = after_three_missed_slots("all").await;
    assert_eq!(at_start, ["10:00", "11:00", "12:00"]);
    assert_eq!(on_time, ["13:00"]);
    assert_eq!(
        ids,
        [
            "sched_hourly_20261121T090000Z",
            "sched_hourly_20261121T100000Z",
            "sched_hourly_20261121T110000Z",
            "sched_hourly_20261121T120000Z",
            "sched_hourly_20261121T130000Z",
        ]
    );
}

#[tokio::test]
async fn slots_due_while_a_service_watches_fire_however_late_it_looks() {
    // `catch_up` is about time nobody watched: a service that looks late (a slow store, a
    // long sleep) still fires every slot that came due since it started.
    let (dir, clock) = setup("2026-11-21T08:30:00Z");
    let wf = [workflow(
        "hourly",
        "  cron: \"0 * * * *\"\n  catch_up: none\n  overlap: allow",
        "",
    )];
    let node = Node::start(&dir.path().join("sluice.db"), &clock).await;
    assert!(node.tick(&wf).await.slots.is_empty());
    clock.set(at("2026-11-21T11:10:00Z"));
    let tick = node.tick(&wf).await;
    assert_eq!(started(&tick), ["09:00", "10:00", "11:00"]);
    assert_eq!(tick.wake_at, Some(at("2026-11-21T12:00:00Z")));
    assert_eq!(node.launcher.launched().len(), 3);
}

#[tokio::test]
async fn slots_passed_over_are_recorded_missed_with_why_and_page_once() {
    let (dir, clock) = setup("2026-11-21T08:59:00Z");
    let db = dir.path().join("sluice.db");
    let notify = "notify:\n  - on: [schedule_missed]\n    webhook: { url: \"${OPS_HOOK}\" }";
    let wf = [workflow(
        "hourly",
        "  cron: \"0 * * * *\"\n  catch_up: latest\n  overlap: allow",
        notify,
    )];
    let first = Node::start(&db, &clock).await;
    clock.set(at("2026-11-21T09:00:00Z"));
    assert_eq!(started(&first.tick(&wf).await), ["09:00"]);
    drop(first);

    clock.set(at("2026-11-21T12:30:00Z"));
    let second = Node::start(&db, &clock).await;
    let tick = second.tick(&wf).await;
    assert_eq!(started(&tick), ["12:00"]);
    // Not yet: another service may have watched and be about to fire one of them.
    assert!(missed(&tick).is_empty(), "{tick:?}");
    assert_eq!(tick.wake_at, Some(at("2026-11-21T12:30:10Z")));
    clock.set(at("2026-11-21T12:30:10Z"));
    assert_eq!(missed(&second.tick(&wf).await), ["10:00", "11:00"]);
    // Another service starting now finds them recorded: nothing is missed or owed twice.
    let third = Node::start(&db, &clock).await;
    assert!(third.tick(&wf).await.slots.is_empty());
    clock.set(at("2026-11-21T12:30:30Z"));
    assert!(third.tick(&wf).await.slots.is_empty());

    let slots = second.store.list_slots(Some("hourly"), 10).await.unwrap();
    let shown: Vec<(String, SlotState)> = slots
        .iter()
        .map(|s| (s.slot_at.format("%H:%M").to_string(), s.shown()))
        .collect();
    assert_eq!(
        shown,
        [
            ("12:00".to_string(), SlotState::Fired),
            ("11:00".to_string(), SlotState::Missed),
            ("10:00".to_string(), SlotState::Missed),
            ("09:00".to_string(), SlotState::Fired),
        ]
    );
    assert!(
        slots[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("`catch_up: latest` fires only the last missed slot"),
        "{slots:?}"
    );
    let owed = second.store.list_notifications(None, 10).await.unwrap();
    assert_eq!(owed.len(), 1, "{owed:?}");
    assert_eq!(
        (
            owed[0].event.as_str(),
            owed[0].run_id.as_ref(),
            owed[0].workflow_name.as_str()
        ),
        ("schedule_missed", None, "hourly")
    );
    assert!(
        owed[0]
            .message
            .as_deref()
            .unwrap()
            .starts_with("2 slots missed, 2026-11-21T10:00:00Z to 2026-11-21T11:00:00Z"),
        "{owed:?}"
    );
}

#[tokio::test]
async fn a_slot_another_service_is_about_to_fire_is_not_recorded_missed() {
    // A watches all along; B starts just after 10:00 came due, before A fired it.
    let (dir, clock) = setup("2026-11-21T08:59:00Z");
    let db = dir.path().join("sluice.db");
    let wf = [workflow(
        "hourly",
        "  cron: \"0 * * * *\"\n  catch_up: none\n  overlap: allow",
        "",
    )];
    let a = Node::start(&db, &clock).await;
    assert!(a.tick(&wf).await.slots.is_empty());
    clock.set(at("2026-11-21T09:00:00Z"));
    assert_eq!(started(&a.tick(&wf).await), ["09:00"]);
    clock.set(at("2026-11-21T10:00:00.500Z"));
    let b = Node::start(&db, &clock).await;
    assert!(b.tick(&wf).await.slots.is_empty());
    assert_eq!(started(&a.tick(&wf).await), ["10:00"]);
    clock.set(at("2026-11-21T10:00:20Z"));
    assert!(missed(&b.tick(&wf).await).is_empty());
    let slots = b.store.list_slots(Some("hourly"), 10).await.unwrap();
    assert_eq!(
        slots.iter().map(|s| s.shown()).collect::<Vec<_>>(),
        [SlotState::Fired, SlotState::Fired]
    );
}
