//! Workers: heartbeats that create and refresh a row, expiry, clean removal, and rows of
//! workers long gone dropped.

use std::time::Duration;

use chrono::TimeDelta;

use serde_json::json;

use super::Env;
use super::fixtures::{commit, new_run, t0};
use crate::ids::RunId;
use crate::store::clock::Clock;
use crate::store::event::NewEvent;
use crate::store::notice::StoreNotice;
use crate::store::run::{NewLease, NewRun, RunStatus};
use crate::store::step::{NewStep, StepKey, Waiting};
use crate::store::worker::WorkerInfo;

fn worker(name: &str, pid: u32) -> WorkerInfo {
    WorkerInfo {
        id: format!("{name}:{pid}:abcd"),
        name: name.into(),
        host: "db-host".into(),
        pid,
        listen: Some("127.0.0.1:8787".into()),
        version: "1.2.3".into(),
    }
}

pub(super) async fn workers_report_heartbeats_expire_and_leave(env: &Env) {
    let (store, clock) = (&env.store, &env.clock);
    let ttl = Duration::from_secs(30);
    let (a, b) = (worker("b-worker", 7), worker("a-worker", 9));
    store.report_worker(&a, ttl).await.unwrap();
    clock.advance(TimeDelta::seconds(10));
    store.report_worker(&b, ttl).await.unwrap();
    let second = env.second().await;
    let listed = second.list_workers().await.unwrap();
    assert_eq!(
        listed.iter().map(|w| w.info.clone()).collect::<Vec<_>>(),
        vec![b.clone(), a.clone()],
        "by name"
    );
    assert_eq!(listed[1].started_at, t0());
    assert_eq!(listed[1].expires_at, t0() + TimeDelta::seconds(30));

    // A heartbeat moves the expiry and keeps the start; what changed is updated.
    clock.advance(TimeDelta::seconds(15));
    let moved = WorkerInfo {
        listen: None,
        ..a.clone()
    };
    store.report_worker(&moved, ttl).await.unwrap();
    let now = t0() + TimeDelta::seconds(25);
    let listed = store.list_workers().await.unwrap();
    let a_row = listed.iter().find(|w| w.info.id == a.id).unwrap();
    assert_eq!(a_row.info, moved);
    assert_eq!(
        (a_row.started_at, a_row.heartbeat_at, a_row.expires_at),
        (t0(), now, now + TimeDelta::seconds(30))
    );
    // b stopped reporting ten seconds after its start: gone at 40 s, its row still shown.
    clock.advance(TimeDelta::seconds(20));
    let listed = store.list_workers().await.unwrap();
    let live: Vec<bool> = listed.iter().map(|w| w.is_live(clock.now())).collect();
    assert_eq!(live, vec![false, true]);

    store.remove_worker(&moved.id).await.unwrap();
    store.remove_worker("nobody:1:x").await.unwrap();
    assert_eq!(store.list_workers().await.unwrap().len(), 1);

    // A day after it went, a worker's row is dropped by the next heartbeat of anyone.
    clock.advance(TimeDelta::days(1));
    store.report_worker(&a, ttl).await.unwrap();
    let listed = store.list_workers().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|w| w.info.id.as_str())
            .collect::<Vec<_>>(),
        vec![a.id.as_str()]
    );
}

pub(super) async fn notices_name_free_runs_and_woken_steps_on_postgres_only(env: &Env) {
    let store = &env.store;
    let listener = env.second().await;
    let mut notices = match (env.is_postgres(), listener.notices().await.unwrap()) {
        (true, Some(notices)) => notices,
        // SQLite sends none: its workers scan.
        (false, None) => return,
        (postgres, notices) => panic!("postgres: {postgres}, notices: {}", notices.is_some()),
    };
    // Other tests share the channel: this one's runs have their own prefix.
    let id = format!("notice_{:08x}", rand::random::<u32>());
    let steps = [NewStep::step("fund"), NewStep::step("funded")];
    store.create_run(&new_run(&id), &steps).await.unwrap();
    let leased = NewRun {
        lease: Some(NewLease {
            owner: "cli".into(),
            ttl: Duration::from_secs(60),
        }),
        ..new_run(&format!("{id}_leased"))
    };
    store.create_run(&leased, &[]).await.unwrap();
    let lease = store
        .acquire_lease(&RunId::from(&id), "w", Duration::from_secs(60))
        .await
        .unwrap();
    store
        .set_run_status(&RunId::from(&id), RunStatus::Running, None)
        .await
        .unwrap();
    let funded = StepKey::step(&id, "funded");
    let waiting = Waiting {
        key: funded.clone(),
        request: Some(json!({"event": "SWAP_COMPLETED"})),
        next_check_at: None,
        deadline_at: None,
    };
    commit(&**store, &lease, vec![waiting]).await.unwrap();
    store.release_lease(&lease).await.unwrap();
    let event = NewEvent {
        provider: "ws".into(),
        dedupe_key: id.clone(),
        event_type: "SWAP_COMPLETED".into(),
        object_id: None,
        payload: "{}".into(),
        signature_ok: true,
    };
    store
        .insert_event(&event, std::slice::from_ref(&funded))
        .await
        .unwrap();

    let mut seen = Vec::new();
    while !seen.contains(&StoreNotice::Woken(funded.clone())) {
        let notice = tokio::time::timeout(Duration::from_secs(10), notices.recv())
            .await
            .expect("notices arrive")
            .expect("the listener runs");
        let run_id = match &notice {
            StoreNotice::RunFree { run_id } | StoreNotice::StepShared { run_id, .. } => run_id,
            StoreNotice::Woken(key) => &key.run_id,
        };
        if run_id.starts_with(&id) {
            seen.push(notice);
        }
    }
    let free = StoreNotice::RunFree {
        run_id: id.as_str().into(),
    };
    // Created free, then handed back; the run born leased is nobody's to claim.
    assert_eq!(seen, [free.clone(), free, StoreNotice::Woken(funded)]);
}
