//! Workers: heartbeats that create and refresh a row, expiry, clean removal, and rows of
//! workers long gone dropped.

use std::time::Duration;

use chrono::TimeDelta;

use super::Env;
use super::fixtures::t0;
use crate::store::clock::Clock;
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
