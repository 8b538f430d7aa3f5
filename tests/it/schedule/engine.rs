//! The real launcher: a fired slot executed by the engine to the end.

use std::sync::Arc;
use std::time::Duration;

use sluice::engine::{Engine, EngineOptions};
use sluice::ids::RunId;
use sluice::scheduler::{EngineLauncher, Service, SlotOutcome};
use sluice::store::{Clock, RunStatus, SqliteConfig, SqliteStore, Store};

use crate::schedule::support::{at, setup, workflow};

#[tokio::test]
async fn a_fired_slot_runs_to_the_end_with_the_engine() {
    let (dir, clock) = setup("2026-11-21T08:59:59Z");
    let config =
        SqliteConfig::new(dir.path().join("sluice.db")).clock(clock.clone() as Arc<dyn Clock>);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(config).await.unwrap());
    let engine = Engine::new(
        store.clone(),
        EngineOptions {
            progress: false,
            ..EngineOptions::default()
        },
    );
    let launcher = Arc::new(EngineLauncher::new(Arc::new(engine)));
    let service = Service::new(store.clone(), launcher.clone(), clock.clone());
    let wf = [workflow("nightly", "  cron: \"0 9 * * *\"", "")];

    service.tick(&wf).await;
    clock.set(at("2026-11-21T09:00:00Z"));
    let tick = service.tick(&wf).await;
    assert_eq!(tick.slots[0].outcome, SlotOutcome::Started);
    launcher.shutdown(Duration::from_secs(30)).await;
    assert_eq!(launcher.in_flight(), 0);

    let run = store
        .load_run(&RunId::from("sched_nightly_20261121T090000Z"))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(run.scheduled_for, Some(at("2026-11-21T09:00:00Z")));
}
