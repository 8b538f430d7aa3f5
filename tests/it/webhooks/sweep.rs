//! The settlement sweep (checkout paid → swap → transfer) end to end, driven by the
//! sandbox's signed webhooks: received by `sluice run` itself, or by `sluice serve` for
//! runs in other processes; duplicated and reordered; and with every webhook lost, finished
//! by polling.

use std::time::{Duration, Instant};

use sluice::sandbox::{DeliveryOutcome, WebhookFaultKind};
use sluice::store::EventStore;

use super::support::*;
use crate::engine::harness::text;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_runs_on_its_own_receiver_despite_duplicated_and_reordered_webhooks() {
    let addr = free_addr();
    let h = hooked(
        &addr,
        vec![
            fault(WebhookFaultKind::Duplicate, "CHECKOUT_*"),
            fault(WebhookFaultKind::OutOfOrder, "SWAP_*"),
            fault(WebhookFaultKind::Duplicate, "TRANSFER_*"),
        ],
        |_| {},
    )
    .await;
    // The example as it is: reads back every 30 s to 1 min, so only webhooks finish it fast.
    let workflow = h.variant("settlement-sweep.yaml", "sweep.yaml", &[]);
    let started = Instant::now();
    let out = h
        .sluice(
            &["run", &workflow, "--run-id", "run_hooks", "--listen", &addr],
            None,
        )
        .await;
    assert_ok(&out);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "took {:?}: the awaits waited for a poll",
        started.elapsed()
    );
    let db = store(&h).await;
    assert_awaits_took_events(&db, "run_hooks").await;
    assert_each_payment_once(&h, 1);
    // Both copies of each duplicated event arrived; the second changed nothing.
    assert_eq!(
        deliveries(
            &h,
            Some(WebhookFaultKind::Duplicate),
            DeliveryOutcome::Delivered
        ),
        4
    );
    assert_eq!(
        deliveries(
            &h,
            Some(WebhookFaultKind::OutOfOrder),
            DeliveryOutcome::Delivered
        ),
        1
    );
    let events = h.sluice(&["events"], None).await;
    assert_ok(&events);
    let listed = String::from_utf8_lossy(&events.stdout).to_string();
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(
        rows.len(),
        3,
        "one row per event, duplicates not stored:\n{listed}"
    );
    for (row, (event, step)) in rows.iter().zip([
        ("CHECKOUT_COMPLETED", "paid"),
        ("SWAP_COMPLETED", "converted"),
        ("TRANSFER_COMPLETED", "swept"),
    ]) {
        assert!(
            row.contains(event) && row.ends_with(&format!("run_hooks/{step}")),
            "{listed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_receives_for_runs_in_other_processes_and_they_finish_once() {
    let addr = free_addr();
    let h = hooked(
        &addr,
        vec![fault(WebhookFaultKind::OutOfOrder, "*_COMPLETED")],
        |_| {},
    )
    .await;
    let workflow = h.variant("settlement-sweep.yaml", "sweep.yaml", &[]);
    let dir = h.dir.path().display().to_string();
    let serve = Serve::start(&h, &addr, &["--workflows", &dir]).await;
    let runs = ["run_a", "run_b", "run_c"];
    let mut children = Vec::new();
    for run in runs {
        let mut cmd = h.command(
            &["run", &workflow, "--run-id", run, "--listen", "none"],
            None,
        );
        children.push(tokio::task::spawn_blocking(move || cmd.output().unwrap()));
    }
    for child in children {
        let out = child.await.unwrap();
        assert_ok(&out);
        assert!(
            !text(&out).contains("webhooks: listening"),
            "`--listen none` started a receiver: {}",
            text(&out)
        );
    }
    let db = store(&h).await;
    for run in runs {
        assert_awaits_took_events(&db, run).await;
    }
    assert_each_payment_once(&h, runs.len());
    assert!(
        deliveries(
            &h,
            Some(WebhookFaultKind::OutOfOrder),
            DeliveryOutcome::Delivered
        ) >= 3,
        "{:#?}",
        h.sandbox.deliveries()
    );
    let metrics = serve.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "sluice_webhook_events_received_total{provider=\"ws\"} 9"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == "sluice_runs{status=\"succeeded\"} 3"),
        "{metrics}"
    );
    let out = serve.stop().await;
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("serve: stopping"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_webhook_lost_the_awaits_finish_by_polling() {
    let addr = free_addr();
    let h = hooked(&addr, vec![fault(WebhookFaultKind::Drop, "*")], |_| {}).await;
    let workflow = h.fast_workflow("settlement-sweep.yaml");
    let out = h
        .sluice(
            &[
                "run",
                &workflow,
                "--run-id",
                "run_polled",
                "--listen",
                &addr,
            ],
            None,
        )
        .await;
    assert_ok(&out);
    assert_each_payment_once(&h, 1);
    assert_eq!(
        deliveries(&h, Some(WebhookFaultKind::Drop), DeliveryOutcome::Dropped),
        3
    );
    let db = store(&h).await;
    for name in ["paid", "converted", "swept"] {
        let out = step(&db, "run_polled", name).await.output.unwrap();
        assert_eq!(out["state"], "succeeded", "{name}: {out:#}");
        assert!(out.get("event").is_none(), "{name} saw an event: {out:#}");
    }
    let paid = step(&db, "run_polled", "paid").await.output.unwrap();
    assert!(paid["checkout"]["settlementAmountReceived"].is_string());
    let events = h.sluice(&["events"], None).await;
    assert_eq!(String::from_utf8_lossy(&events.stdout).lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_arrives_before_its_await_starts_is_taken_when_it_does() {
    let addr = free_addr();
    let h = hooked(&addr, vec![], |_| {}).await;
    // The checkout is paid and settled while `nap` sleeps, before `paid` waits.
    let workflow = h.variant(
        "settlement-sweep.yaml",
        "early.yaml",
        &[(
            "  - id: paid\n    uses: webhook.await\n",
            "  - id: nap\n    uses: sleep\n    needs: [checkout]\n    with: { duration: 2s }\n\n  \
             - id: paid\n    uses: webhook.await\n    needs: [nap]\n",
        )],
    );
    let out = h
        .sluice(
            &["run", &workflow, "--run-id", "run_early", "--listen", &addr],
            None,
        )
        .await;
    assert_ok(&out);
    let db = store(&h).await;
    let paid = step(&db, "run_early", "paid").await;
    let nap = step(&db, "run_early", "nap").await;
    let event_id = paid.output.as_ref().unwrap()["event_id"].as_i64().unwrap();
    let event = db.load_event(event_id).await.unwrap();
    assert!(
        event.received_at < nap.updated_at,
        "the event ({}) came before the await started ({})",
        event.received_at,
        nap.updated_at
    );
    assert_eq!(
        event.matched,
        Some(sluice::store::StepKey::step("run_early", "paid"))
    );
    assert_awaits_took_events(&db, "run_early").await;
    assert_each_payment_once(&h, 1);
}
