//! Daylight-saving time in Europe/Berlin, as a running service sees it: a service ticking
//! every 15 minutes through both 2026 transitions.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sluice::scheduler::{ScheduledWorkflow, SlotOutcome};

use crate::schedule::support::{Node, at, minutes, setup, workflow};

/// Every slot the service starts while its clock moves from `from` to `to` by 15 minutes.
async fn fired_between(wf: Arc<ScheduledWorkflow>, from: &str, to: &str) -> Vec<DateTime<Utc>> {
    let (dir, clock) = setup(from);
    let node = Node::start(&dir.path().join("sluice.db"), &clock).await;
    let wf = [wf];
    let mut fired = Vec::new();
    while clock_now(&clock) <= at(to) {
        for slot in node.tick(&wf).await.slots {
            assert_eq!(slot.outcome, SlotOutcome::Started);
            fired.push(slot.slot);
        }
        clock.advance(minutes(15));
    }
    assert_eq!(node.launcher.launched().len(), fired.len());
    fired
}

fn clock_now(clock: &sluice::store::ManualClock) -> DateTime<Utc> {
    sluice::store::Clock::now(clock)
}

fn nightly() -> Arc<ScheduledWorkflow> {
    workflow(
        "nightly",
        "  cron: \"30 2 * * *\"\n  timezone: Europe/Berlin\n  catch_up: all\n  overlap: allow",
        "",
    )
}

#[tokio::test]
async fn the_skipped_hour_in_march_does_not_fire() {
    // 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that night.
    let fired = fired_between(nightly(), "2026-03-27T12:00:00Z", "2026-03-31T12:00:00Z").await;
    assert_eq!(
        fired,
        [
            at("2026-03-28T02:30:00+01:00"),
            at("2026-03-30T02:30:00+02:00"),
            at("2026-03-31T02:30:00+02:00"),
        ]
    );
}

#[tokio::test]
async fn the_repeated_hour_in_october_fires_once() {
    // 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice that night.
    let fired = fired_between(nightly(), "2026-10-23T12:00:00Z", "2026-10-26T12:00:00Z").await;
    assert_eq!(
        fired,
        [
            at("2026-10-24T02:30:00+02:00"),
            at("2026-10-25T02:30:00+02:00"),
            at("2026-10-26T02:30:00+01:00"),
        ]
    );
}

#[tokio::test]
async fn a_rhythm_keeps_firing_through_the_repeated_hour() {
    let every_half_hour = workflow(
        "halfhourly",
        "  cron: \"*/30 * * * *\"\n  timezone: Europe/Berlin\n  catch_up: all\n  overlap: allow",
        "",
    );
    let fired = fired_between(
        every_half_hour,
        "2026-10-24T23:50:00Z",
        "2026-10-25T02:10:00Z",
    )
    .await;
    let utc: Vec<String> = fired
        .iter()
        .map(|t| t.format("%H:%M").to_string())
        .collect();
    assert_eq!(utc, ["00:00", "00:30", "01:00", "01:30", "02:00"]);
}
