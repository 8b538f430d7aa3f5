//! Settlement learned from webhooks: `serve` reads back the object a provider's event names
//! and records the committed payment made as it, without waiting for its polling pass.

use std::time::Duration;

use sluice::ids::RunId;
use sluice::sandbox::{DeliveryOutcome, WebhookFaultKind};
use sluice::store::{NotificationStore, SettlementStore};

use super::support::{Serve, deliveries, fault, free_addr, hooked, store, wait_for};
use crate::engine::harness::text;
use crate::engine::settlement::{hook_fail, json_of, report};

const SCHEDULE: &str = "schedule:\n  cron: \"0 9 * * FRI\"\n  timezone: Europe/Berlin\n  catch_up: latest\n  overlap: skip\n  inputs:\n    payees: \"@workflows/data/payroll.csv\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_failed_after_commit_is_recorded_once_from_its_duplicated_webhook() {
    let addr = free_addr();
    // Every transfer event is delivered twice; the clock stands still until advanced.
    let h = hooked(
        &addr,
        vec![fault(WebhookFaultKind::Duplicate, "TRANSFER_*")],
        |c| c.speed = 0,
    )
    .await;
    let workflow = h.variant(
        "payroll.yaml",
        "payroll.yaml",
        &[
            (SCHEDULE, ""),
            (
                "\nsteps:",
                "\nnotify:\n  - on: [item_failed_after_commit]\n    webhook: { url: \"http://127.0.0.1:9/unused\" }\n\nsteps:",
            ),
        ],
    );
    let (csv, _) = h.payroll(3);
    let input = format!("payees=@{}", csv.display());
    let run = [
        "run",
        &workflow,
        "--run-id",
        "run_hooked",
        "--input",
        &input,
        "--listen",
        "none",
    ];
    let out = h.sluice(&run, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (rows, _) = report(&h, "run_hooked").await;
    let id = |k: &str| rows[k]["provider_ref"].as_str().unwrap().to_string();

    // Polling is effectively off: its first pass would come in an hour.
    let dir = h.dir.path().display().to_string();
    let serve = Serve::start(&h, &addr, &["--workflows", &dir, "--settle-every", "1h"]).await;
    hook_fail(&h, &id("E0002")).await;
    h.sandbox.advance(Duration::from_secs(60));

    let store = store(&h).await;
    let run_id = RunId::from("run_hooked");
    let settled = wait_for("every payment settled", Duration::from_secs(30), || async {
        let recorded = store.load_settlements(&run_id).await.ok()?;
        (recorded.len() == 3).then_some(recorded)
    })
    .await;
    let shown: Vec<(&str, &str, &str)> = settled
        .iter()
        .map(|r| {
            (
                r.settlement.key.item_key.as_str(),
                r.settlement.settlement.as_str(),
                r.settlement.source.as_str(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("E0001", "settled", "webhook"),
            ("E0002", "failed_after_commit", "webhook"),
            ("E0003", "settled", "webhook"),
        ]
    );
    // Both copies of every transfer event were taken; the failure was recorded, and its
    // operator case raised, once.
    wait_for("both copies delivered", Duration::from_secs(30), || async {
        (deliveries(
            &h,
            Some(WebhookFaultKind::Duplicate),
            DeliveryOutcome::Delivered,
        ) >= 3)
            .then_some(())
    })
    .await;
    let failed = h
        .sandbox
        .deliveries()
        .into_iter()
        .filter(|d| d.event == "TRANSFER_FAILED" && d.outcome == DeliveryOutcome::Delivered)
        .count();
    assert_eq!(failed, 2);
    let owed = store.list_notifications(Some(&run_id), 100).await.unwrap();
    let cases: Vec<_> = owed
        .iter()
        .filter(|n| n.event == "item_failed_after_commit")
        .collect();
    assert_eq!(cases.len(), 1, "{owed:?}");
    let (rows, _) = report(&h, "run_hooked").await;
    assert_eq!(rows["E0002"]["state"], "failed_after_commit");
    let status = h.sluice(&["status", "run_hooked"], None).await;
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("  pay[E0002] FAILED"),
        "{}",
        text(&status)
    );
    serve.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whitestones_payout_failed_after_commit_is_learned_from_payout_failed() {
    let addr = free_addr();
    let h = hooked(&addr, vec![], |c| {
        c.speed = 0;
        for (kind, block) in [
            (sluice::catalog::ProviderKind::Whitestones, "wst"),
            (sluice::catalog::ProviderKind::Whitepay, "wp"),
        ] {
            c.webhooks
                .urls
                .insert(kind, format!("http://{addr}/webhooks/{block}"));
        }
    })
    .await;
    let workflow = h.variant(
        "charge-convert-payout.yaml",
        "charge-convert-payout.yaml",
        &[],
    );
    let out = h
        .sluice(
            &[
                "run",
                &workflow,
                "--run-id",
                "run_payout",
                "--listen",
                "none",
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = json_of(&h, &["report", "run_payout", "--format", "json"], 0).await;
    let payout = doc["payments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["step"] == "payout")
        .unwrap()["provider_ref"]
        .as_str()
        .unwrap()
        .to_string();

    let dir = h.dir.path().display().to_string();
    let serve = Serve::start(&h, &addr, &["--workflows", &dir, "--settle-every", "1h"]).await;
    hook_fail(&h, &payout).await;
    h.sandbox.advance(Duration::from_secs(600));

    let store = store(&h).await;
    let run_id = RunId::from("run_payout");
    let recorded = wait_for("the payout settled", Duration::from_secs(30), || async {
        let recorded = store.load_settlements(&run_id).await.ok()?;
        recorded
            .into_iter()
            .find(|r| r.settlement.key.step_id.as_str() == "payout")
    })
    .await;
    assert_eq!(
        (
            recorded.settlement.settlement.as_str(),
            recorded.settlement.source.as_str()
        ),
        ("failed_after_commit", "webhook")
    );
    let failed = h
        .sandbox
        .deliveries()
        .into_iter()
        .filter(|d| d.event == "payout.failed" && d.object_id == payout)
        .count();
    assert_eq!(failed, 1);
    serve.stop().await;
}
