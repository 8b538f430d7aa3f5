//! A run killed (SIGKILL) while it awaits the checkout's payment, whose webhook arrives
//! while it is down — received by a running `sluice serve`, or retried by the sandbox until
//! a `serve` started later takes it — finishes after the restart, paying once.

use std::process::Stdio;
use std::time::Duration;

use sluice::ids::RunId;
use sluice::store::{EventFilter, EventStore, RunStatus, RunStore, StepKey, StepState, StepStore};

use super::support::*;
use crate::engine::harness::Harness;

/// Starts the sweep as `run_id` in its own process, waits until `paid` awaits the payment,
/// kills the process, and returns the checkout's id.
async fn kill_while_awaiting(h: &Harness, workflow: &str, run_id: &str, listen: &str) -> String {
    let mut child = h
        .command(
            &["run", workflow, "--run-id", run_id, "--listen", listen],
            None,
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let db = store(h).await;
    wait_for("`paid` to wait", Duration::from_secs(10), || async {
        let paid = db.load_step(&StepKey::step(run_id, "paid")).await.ok()?;
        (paid.state == StepState::Waiting).then_some(())
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let run = db.load_run(&RunId::from(run_id)).await.unwrap();
    assert_eq!(run.status, RunStatus::Running, "killed mid-run");
    step(&db, run_id, "checkout").await.provider_ref.unwrap()
}

/// The customer pays the checkout in full.
async fn pay(h: &Harness, checkout: &str) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!(
            "{}/checkouts/{checkout}/pay",
            h.sandbox.hooks_url()
        ))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_received_by_serve_while_the_run_is_down_finishes_it() {
    let addr = free_addr();
    let h = hooked(&addr, vec![], |c| c.auto_pay = None).await;
    let workflow = h.variant("settlement-sweep.yaml", "sweep.yaml", &[]);
    let dir = h.dir.path().display().to_string();
    let serve = Serve::start(&h, &addr, &["--workflows", &dir]).await;
    let checkout = kill_while_awaiting(&h, &workflow, "run_down", "none").await;
    assert!(
        h.sandbox
            .ledger()
            .iter()
            .all(|e| e.kind != "transfer.debit")
    );

    pay(&h, &checkout).await;
    // `serve` stores the event, wakes `paid`, sees the run's process is gone, and resumes it.
    let db = store(&h).await;
    assert_eq!(
        finished(&db, "run_down", Duration::from_secs(20)).await,
        RunStatus::Succeeded
    );
    assert_awaits_took_events(&db, "run_down").await;
    assert_each_payment_once(&h, 1);
    let out = serve.stop().await;
    assert_ok(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_retried_until_serve_starts_finishes_the_run_once() {
    let addr = free_addr();
    let h = hooked(&addr, vec![], |c| {
        c.auto_pay = None;
        c.webhooks.retry_initial = Duration::from_millis(100);
        c.webhooks.retry_max = Duration::from_millis(300);
        c.webhooks.max_attempts = 100;
    })
    .await;
    let workflow = h.variant("settlement-sweep.yaml", "sweep.yaml", &[]);
    let checkout = kill_while_awaiting(&h, &workflow, "run_retried", &addr).await;

    pay(&h, &checkout).await;
    let db = store(&h).await;
    wait_for(
        "the sandbox to retry the undelivered webhook",
        Duration::from_secs(10),
        || async {
            h.sandbox
                .deliveries()
                .iter()
                .any(|d| d.event == "CHECKOUT_COMPLETED" && d.attempts >= 2)
                .then_some(())
        },
    )
    .await;
    assert!(
        db.list_events(&EventFilter::default())
            .await
            .unwrap()
            .is_empty(),
        "nothing could receive it"
    );

    // A `serve` on the run's address (no workflow list: it finds the run's own) resumes the
    // waiting run and receives the retried webhook; the awaits read back only every 30 s to
    // 1 min, so the run finishing quickly is the webhook's doing.
    let serve = Serve::start(&h, &addr, &[]).await;
    assert_eq!(
        finished(&db, "run_retried", Duration::from_secs(20)).await,
        RunStatus::Succeeded
    );
    assert_awaits_took_events(&db, "run_retried").await;
    assert_each_payment_once(&h, 1);
    let events = db.list_events(&EventFilter::default()).await.unwrap();
    assert_eq!(events.len(), 3, "{events:#?}");
    let out = serve.stop().await;
    assert_ok(&out);

    // Resuming the finished run does nothing.
    let again = h.sluice(&["resume", "run_retried"], None).await;
    assert_eq!(again.status.code(), Some(0));
    assert!(crate::engine::harness::text(&again).contains("already succeeded; nothing to do"));
    assert_each_payment_once(&h, 1);
}
