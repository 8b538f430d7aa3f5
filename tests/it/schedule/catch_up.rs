//! `catch_up` after downtime: a service fires 09:00, dies, and another starts at 12:30,
//! after three missed hourly slots.

use crate::schedule::support::{Node, at, runs, setup, started, workflow};

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
