//! `overlap` when a slot comes due while the previous run is live: skip, queue, allow.

use sluice::ids::RunId;
use sluice::scheduler::SlotOutcome;
use sluice::store::{RunStatus, SlotState};

use crate::schedule::support::{Node, at, finish, minutes, runs, setup, started, workflow};

fn every_minute(overlap: &str) -> [std::sync::Arc<sluice::scheduler::ScheduledWorkflow>; 1] {
    [workflow(
        "minutely",
        &format!("  cron: \"* * * * *\"\n  catch_up: all\n  overlap: {overlap}"),
        "",
    )]
}

#[tokio::test]
async fn skip_records_the_slot_without_a_run_and_moves_on() {
    let (dir, clock) = setup("2026-11-21T09:00:00Z");
    let wf = every_minute("skip");
    let node = Node::start(&dir.path().join("sluice.db"), &clock).await;
    assert_eq!(started(&node.tick(&wf).await), ["09:00"]);

    clock.advance(minutes(1));
    let tick = node.tick(&wf).await;
    assert_eq!(
        tick.slots[0].outcome,
        SlotOutcome::Skipped {
            live_run: "sched_minutely_20261121T090000Z".into()
        }
    );
    // The skipped slot counts as fired: it is the last slot, and has no run; it says why.
    let last = node.store.last_slot("minutely").await.unwrap().unwrap();
    assert_eq!(last.slot_at, at("2026-11-21T09:01:00Z"));
    assert_eq!(
        (last.state, last.run_status, last.reason.as_deref()),
        (
            SlotState::Skipped,
            None,
            Some("run `sched_minutely_20261121T090000Z` was still live (`overlap: skip`)")
        )
    );
    assert_eq!(runs(&node.store, "minutely").await.len(), 1);

    // A run that needs attention is live too: it may still move money once resolved.
    node.store
        .set_run_status(
            &RunId::from("sched_minutely_20261121T090000Z"),
            RunStatus::NeedsAttention,
            None,
        )
        .await
        .unwrap();
    clock.advance(minutes(1));
    assert!(matches!(
        node.tick(&wf).await.slots[0].outcome,
        SlotOutcome::Skipped { .. }
    ));

    finish(&node.store, "sched_minutely_20261121T090000Z").await;
    clock.advance(minutes(1));
    assert_eq!(started(&node.tick(&wf).await), ["09:03"]);
    assert_eq!(
        node.launcher.launched(),
        [
            "sched_minutely_20261121T090000Z",
            "sched_minutely_20261121T090300Z"
        ]
    );
}

#[tokio::test]
async fn queue_fires_waiting_slots_in_order_as_live_runs_end() {
    let (dir, clock) = setup("2026-11-21T09:00:00Z");
    let wf = every_minute("queue");
    let node = Node::start(&dir.path().join("sluice.db"), &clock).await;
    assert_eq!(started(&node.tick(&wf).await), ["09:00"]);

    clock.advance(minutes(2));
    let tick = node.tick(&wf).await;
    // 09:01 waits for the live run; 09:02 waits behind 09:01 and is not even looked at.
    assert_eq!(tick.slots.len(), 1);
    assert_eq!(tick.slots[0].slot, at("2026-11-21T09:01:00Z"));
    assert!(matches!(tick.slots[0].outcome, SlotOutcome::Queued { .. }));
    // Queued slots are not claimed, and the service looks again soon.
    let last = node.store.last_slot("minutely").await.unwrap().unwrap();
    assert_eq!(last.slot_at, at("2026-11-21T09:00:00Z"));
    assert_eq!(tick.wake_at, Some(at("2026-11-21T09:02:05Z")));

    finish(&node.store, "sched_minutely_20261121T090000Z").await;
    let tick = node.tick(&wf).await;
    assert_eq!(started(&tick), ["09:01"]);
    assert!(matches!(tick.slots[1].outcome, SlotOutcome::Queued { .. }));

    finish(&node.store, "sched_minutely_20261121T090100Z").await;
    assert_eq!(started(&node.tick(&wf).await), ["09:02"]);
    assert_eq!(
        node.launcher.launched(),
        [
            "sched_minutely_20261121T090000Z",
            "sched_minutely_20261121T090100Z",
            "sched_minutely_20261121T090200Z"
        ]
    );
}

#[tokio::test]
async fn allow_fires_beside_the_live_run() {
    let (dir, clock) = setup("2026-11-21T09:00:00Z");
    let wf = every_minute("allow");
    let node = Node::start(&dir.path().join("sluice.db"), &clock).await;
    assert_eq!(started(&node.tick(&wf).await), ["09:00"]);
    clock.advance(minutes(2));
    assert_eq!(started(&node.tick(&wf).await), ["09:01", "09:02"]);
    let statuses: Vec<RunStatus> = runs(&node.store, "minutely")
        .await
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(statuses, [RunStatus::Pending; 3]);
}
