//! Each slot runs once: two services racing on one SQLite file, a service dropped mid-way
//! (as by `kill -9`) and restarted, and a clock that jumps back.

use std::sync::Arc;

use chrono::TimeDelta;
use sluice::scheduler::SlotOutcome;

use crate::schedule::support::{Node, at, runs, setup, started, workflow};

fn every_second() -> [Arc<sluice::scheduler::ScheduledWorkflow>; 1] {
    [workflow(
        "secondly",
        "  cron: \"* * * * * *\"\n  catch_up: all\n  overlap: allow",
        "",
    )]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_racing_for_one_slot_create_one_run() {
    let (dir, clock) = setup("2026-11-21T08:59:59Z");
    let db = dir.path().join("sluice.db");
    let wf = [workflow("payroll", "  cron: \"0 9 * * *\"", "")];
    let (a, b) = (
        Node::start(&db, &clock).await,
        Node::start(&db, &clock).await,
    );
    a.tick(&wf).await;
    b.tick(&wf).await;
    clock.set(at("2026-11-21T09:00:00Z"));
    let (ta, tb) = tokio::join!(a.tick(&wf), b.tick(&wf));
    let mut outcomes = vec![ta.slots[0].outcome.clone(), tb.slots[0].outcome.clone()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        [SlotOutcome::FiredElsewhere, SlotOutcome::Started]
    );
    assert_eq!(a.launcher.launched().len() + b.launcher.launched().len(), 1);
    assert_eq!(runs(&a.store, "payroll").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_one_killed_and_restarted_run_each_second_once() {
    let (dir, clock) = setup("2026-11-21T09:00:00.500Z");
    let db = dir.path().join("sluice.db");
    let wf = every_second();
    let mut a = Some(Node::start(&db, &clock).await);
    let b = Node::start(&db, &clock).await;
    tokio::join!(a.as_ref().unwrap().tick(&wf), b.tick(&wf));
    let mut launched = Vec::new();
    for step in 1..=30 {
        clock.advance(TimeDelta::seconds(1));
        if step == 10 {
            // Gone at once, mid-schedule, like `kill -9`.
            launched.extend(a.take().unwrap().launcher.launched());
        }
        if step == 20 {
            a = Some(Node::start(&db, &clock).await);
        }
        match &a {
            Some(a) => {
                tokio::join!(a.tick(&wf), b.tick(&wf));
            }
            None => {
                b.tick(&wf).await;
            }
        }
    }
    launched.extend(a.unwrap().launcher.launched());
    launched.extend(b.launcher.launched());

    let expected: Vec<String> = (1..=30)
        .map(|s| {
            let slot = at("2026-11-21T09:00:00Z") + TimeDelta::seconds(s);
            sluice::scheduler::slot_run_id("secondly", slot).into_string()
        })
        .collect();
    let ids: Vec<String> = runs(&b.store, "secondly")
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, expected);
    launched.sort();
    assert_eq!(
        launched, expected,
        "every slot launched once, by one service"
    );
}

#[tokio::test]
async fn a_clock_jumping_back_fires_nothing_twice() {
    let (dir, clock) = setup("2026-11-21T08:59:00Z");
    let wf = [workflow(
        "hourly",
        "  cron: \"0 * * * *\"\n  catch_up: all\n  overlap: allow",
        "",
    )];
    let node = Node::start(&dir.path().join("sluice.db"), &clock).await;
    node.tick(&wf).await;
    clock.set(at("2026-11-21T10:00:30Z"));
    assert_eq!(started(&node.tick(&wf).await), ["09:00", "10:00"]);
    clock.set(at("2026-11-21T08:00:00Z"));
    assert!(node.tick(&wf).await.slots.is_empty());
    clock.set(at("2026-11-21T10:30:00Z"));
    assert!(node.tick(&wf).await.slots.is_empty());
    // A new service on the same file, after the jump: still nothing twice.
    let fresh = Node::start(&dir.path().join("sluice.db"), &clock).await;
    assert!(fresh.tick(&wf).await.slots.is_empty());
    assert_eq!(node.launcher.launched().len(), 2);
}
