//! A webhook reaching a worker other than the one running the run: on one Postgres database,
//! worker `b` claims the settlement sweep, and the sandbox sends every webhook to worker `a`,
//! which holds nothing. `a` stores each event and wakes the waiting step; `b`'s await takes it
//! (the example reads back only every 30 s to 1 min, so the events are what finish it).

use std::process::{Child, Stdio};
use std::time::Duration;

use sluice::ids::RunId;
use sluice::store::{PostgresConfig, PostgresStore, RunStore};

use super::support::*;
use crate::engine::harness::Harness;
use crate::engine::postgres::TestSchema;

fn worker(h: &Harness, db: &str, name: &str, listen: &str) -> Child {
    h.command(
        &[
            "serve", "--listen", listen, "--name", name, "--rescan", "300ms",
        ],
        None,
    )
    .env("SLUICE_DB", db)
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("serve starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_received_by_one_worker_wakes_the_run_on_another() {
    let Some(db) = TestSchema::create().await else {
        return;
    };
    let a_addr = free_addr();
    let h = hooked(&a_addr, vec![], |_| {}).await;
    let workflow = h.variant("settlement-sweep.yaml", "sweep.yaml", &[]);
    let store = PostgresStore::open(PostgresConfig::new(&db.url))
        .await
        .unwrap();

    let mut b = worker(&h, &db.url, "b", "127.0.0.1:0");
    let mut cmd = h.command(
        &["run", &workflow, "--run-id", "run_sweep", "--detach"],
        None,
    );
    cmd.env("SLUICE_DB", &db.url);
    let out = cmd.output().unwrap();
    assert_ok(&out);
    wait_for(
        "worker b to claim the run",
        Duration::from_secs(30),
        || async {
            let lease = store
                .load_run(&RunId::from("run_sweep"))
                .await
                .ok()?
                .lease?;
            lease.owner.starts_with("b:").then_some(())
        },
    )
    .await;
    let mut a = worker(&h, &db.url, "a", &a_addr);

    let status = finished(&store, "run_sweep", Duration::from_secs(60)).await;
    assert_eq!(status.as_str(), "succeeded");
    assert_awaits_took_events(&store, "run_sweep").await;
    assert_each_payment_once(&h, 1);
    let run = store.load_run(&RunId::from("run_sweep")).await.unwrap();
    assert!(
        run.lease.as_ref().is_none_or(|l| l.owner.starts_with("b:")),
        "worker a never held the run: {run:?}"
    );
    for child in [&mut a, &mut b] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    store.close().await;
    db.drop().await;
}
