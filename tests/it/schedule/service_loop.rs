//! The service's own loop: it sleeps until the next slot, takes a reloaded set of
//! workflows, wakes when a launched run ends (a queued slot may fire), and stops on
//! shutdown. The clock is manual; the loop's sleeps are capped at a few milliseconds so it
//! notices the test moving the clock, and every wait here is bounded.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use sluice::scheduler::{ScheduledWorkflow, Service, ServiceOptions};
use sluice::store::ManualClock;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::schedule::support::{Node, at, runs, setup, workflow};

/// Starts `node`'s loop over `workflows`; the sender stops it.
fn start(
    node: &Arc<Node>,
    workflows: watch::Receiver<Vec<Arc<ScheduledWorkflow>>>,
) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let node = node.clone();
    let task = tokio::spawn(async move {
        node.service
            .run(workflows, async {
                let _ = stopped.await;
            })
            .await;
    });
    (stop, task)
}

/// Waits (two seconds at most) until the node has launched `n` runs whose id starts with
/// `prefix`, and returns those.
async fn launched(node: &Node, prefix: &str, n: usize) -> Vec<String> {
    let matching = || -> Vec<String> {
        let mut ids = node.launcher.launched();
        ids.retain(|id| id.starts_with(prefix));
        ids
    };
    for _ in 0..400 {
        if matching().len() >= n {
            return matching();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("expected {n} launches, got {:?}", node.launcher.launched());
}

async fn node(
    dir: &tempfile::TempDir,
    clock: &Arc<ManualClock>,
    options: ServiceOptions,
) -> Arc<Node> {
    let mut node = Node::start(&dir.path().join("sluice.db"), clock).await;
    node.service = Service::new(node.store.clone(), node.launcher.clone(), clock.clone())
        .with_options(options);
    Arc::new(node)
}

#[tokio::test]
async fn the_loop_fires_each_slot_takes_reloads_and_stops_on_shutdown() {
    let (dir, clock) = setup("2026-11-21T09:00:00.500Z");
    let options = ServiceOptions {
        max_sleep: Duration::from_millis(2),
        ..ServiceOptions::default()
    };
    let node = node(&dir, &clock, options).await;
    let secondly = workflow("secondly", "  cron: \"* * * * * *\"\n  overlap: allow", "");
    // Watched from 09:00:00.5 on, whenever the loop gets to its first tick.
    assert!(
        node.tick(std::slice::from_ref(&secondly))
            .await
            .slots
            .is_empty()
    );
    let (workflows, watched) = watch::channel(vec![secondly.clone()]);
    let (stop, task) = start(&node, watched);

    for n in 1..=3 {
        clock.advance(TimeDelta::seconds(1));
        launched(&node, "sched_secondly_", n).await;
    }
    // `other` is watched from the first tick that sees the new set, and fires from the
    // next second on.
    let other = workflow("other", "  cron: \"* * * * * *\"\n  overlap: allow", "");
    workflows.send(vec![secondly, other]).unwrap();
    let mut seconds = 3;
    while launched(&node, "sched_other_", 0).await.is_empty() {
        assert!(seconds < 10, "the reloaded workflow never fired");
        seconds += 1;
        clock.advance(TimeDelta::seconds(1));
        launched(&node, "sched_secondly_", seconds).await;
    }
    // Its slots: consecutive seconds after the reload, each once.
    let others = launched(&node, "sched_other_", 1).await;
    let first: u32 = others[0]["sched_other_20261121T0900".len()..][..2]
        .parse()
        .unwrap();
    let expected: Vec<String> = (first..first + others.len() as u32)
        .map(|s| format!("sched_other_20261121T0900{s:02}Z"))
        .collect();
    assert!(first >= 4, "{others:?}");
    assert_eq!(others, expected);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the loop stops")
        .unwrap();
    let count = node.launcher.launched().len();
    clock.advance(TimeDelta::seconds(5));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        node.launcher.launched().len(),
        count,
        "fired after shutdown"
    );
    // Each second once, none missing.
    let ids: Vec<String> = runs(&node.store, "secondly")
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let expected: Vec<String> = (1..=seconds)
        .map(|s| format!("sched_secondly_20261121T0900{s:02}Z"))
        .collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn a_run_ending_wakes_the_loop_for_the_slot_queued_behind_it() {
    let (dir, clock) = setup("2026-11-21T09:00:00Z");
    // Without the wake-up, the loop would sleep for a minute.
    let options = ServiceOptions {
        max_sleep: Duration::from_secs(60),
        recheck: Duration::from_secs(60),
        ..ServiceOptions::default()
    };
    let node = node(&dir, &clock, options).await;
    let minutely = workflow("minutely", "  cron: \"* * * * *\"\n  overlap: queue", "");
    let (_workflows, watched) = watch::channel(vec![minutely]);
    let (stop, task) = start(&node, watched);

    launched(&node, "", 1).await;
    clock.set(at("2026-11-21T09:01:30Z"));
    node.launcher
        .end(&node.store, "sched_minutely_20261121T090000Z")
        .await;
    let fired = launched(&node, "", 2).await;
    assert_eq!(fired[1], "sched_minutely_20261121T090100Z");
    stop.send(()).unwrap();
    task.await.unwrap();
}
