//! The Schedules page over HTTP: each loaded workflow's next fire times, and its recent slots
//! as the store recorded them, fired (with the run and how it went), skipped, missed or
//! failed, each with why.

use std::net::SocketAddr;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use sluice::console::{Access, Console, Users, app};
use sluice::scheduler::slot_run_id;
use sluice::store::{Durability, MissedSlots, NewRun, RunStatus, open_store};
use sluice::webhooks::{Listening, bind};
use tokio::sync::watch;

use crate::schedule::support::from_text;

const WORKFLOW: &str = "version: 1\nname: nightly\nschedule:\n  cron: \"0 * * * *\"\n  catch_up: none\n  overlap: skip\nsteps:\n  - id: hello\n    uses: log\n    with: { message: \"hi\" }\n";

fn run(id: &str, slot: DateTime<Utc>) -> NewRun {
    NewRun {
        id: id.into(),
        workflow_name: "nightly".into(),
        workflow_path: "workflows/nightly.yaml".into(),
        workflow_hash: "h".into(),
        inputs_hash: "i".into(),
        inputs: serde_json::json!({}),
        plan_hash: None,
        scheduled_for: Some(slot),
        started_by: "schedule:nightly".into(),
        notify: Vec::new(),
        lease: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedules_page_shows_next_fire_times_and_every_recent_slots_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    let store = open_store(path.to_str().unwrap(), Durability::Full)
        .await
        .unwrap();
    let slot = |h: i64| {
        DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc()
            + TimeDelta::hours(h)
    };
    let fired = run(slot_run_id("nightly", slot(0)).as_str(), slot(0));
    assert!(
        store
            .start_slot_run("nightly", slot(0), &fired, &[])
            .await
            .unwrap()
    );
    store
        .set_run_status(&fired.id, RunStatus::Succeeded, None)
        .await
        .unwrap();
    let skipped = slot_run_id("nightly", slot(1));
    let why_skipped = format!("run `{}` was still live (`overlap: skip`)", fired.id);
    store
        .skip_slot("nightly", slot(1), &skipped, &why_skipped)
        .await
        .unwrap();
    let broken = run(slot_run_id("nightly", slot(2)).as_str(), slot(2));
    store
        .fail_slot_run("nightly", slot(2), &broken, "cannot read `payees.csv`")
        .await
        .unwrap();
    let missed = MissedSlots {
        workflow_name: "nightly".into(),
        slots: vec![(slot(3), slot_run_id("nightly", slot(3)))],
        reason: "no scheduler was running when it came due (`catch_up: none`)".into(),
        routes: Vec::new(),
    };
    store.record_missed_slots(&missed).await.unwrap();

    let workflow = from_text(WORKFLOW);
    let next = workflow.schedule.next_after(Utc::now()).unwrap();
    let (_keep, scheduled) = watch::channel(vec![workflow]);
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let access = Access::new(Users::default(), None, loopback, "local-ops");
    let console = Console::new(store.clone(), access, Some(scheduled));
    let listening = Listening::start(bind(loopback).await.unwrap(), app(console)).unwrap();

    let answer = reqwest::get(format!("http://{}/schedules", listening.addr()))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let page = answer.text().await.unwrap();
    // Next fire times, in UTC.
    assert!(
        page.contains(&next.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        "{page}"
    );
    // Every recent slot, newest first, with its outcome and why.
    let order: Vec<usize> = [
        "2026-11-21 12:00:00 UTC",
        "2026-11-21 11:00:00 UTC",
        "2026-11-21 10:00:00 UTC",
        "2026-11-21 09:00:00 UTC",
    ]
    .iter()
    .map(|t| {
        page.find(t)
            .unwrap_or_else(|| panic!("{t} not shown: {page}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{page}");
    for shown in [
        "state-missed",
        "state-failed",
        "state-skipped",
        "state-fired",
        "`catch_up: none`",
        "cannot read `payees.csv`",
        "was still live (`overlap: skip`)",
        &format!("href=\"/runs/{}\"", fired.id),
        &format!("href=\"/runs/{}\"", broken.id),
    ] {
        assert!(page.contains(shown), "{shown} not on the page: {page}");
    }
    // A skipped or missed slot has no run to link to.
    assert!(!page.contains(&format!("/runs/{skipped}")), "{page}");
}
