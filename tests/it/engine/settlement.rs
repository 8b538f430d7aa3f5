//! `sluice report`, `sluice reconcile` and `sluice settle` against the sandbox: report rows
//! exact over a large payroll, every kind of discrepancy injected through the sandbox's hooks
//! named by its item key, and a payment failed after commit recorded once as an operator case.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sluice::sandbox::Faults;
use sluice::spec::NotifyEvent;

use super::harness::{Harness, text};

/// A sandbox whose clock stands still: transfers stay PROCESSING until the test advances it.
async fn frozen() -> Harness {
    Harness::start_with(Faults::default(), |c| c.speed = 0).await
}

async fn run_payroll(h: &Harness, run_id: &str, n: usize) -> Vec<super::harness::Payee> {
    let (csv, payees) = h.payroll(n);
    let args = Harness::payroll_run(run_id, &csv);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.sluice(&args, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    payees
}

pub(crate) async fn json_of(h: &Harness, args: &[&str], code: i32) -> Value {
    let out = h.sluice(args, None).await;
    assert_eq!(out.status.code(), Some(code), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

/// The report's payments by item key.
pub(crate) async fn report(h: &Harness, run_id: &str) -> (BTreeMap<String, Value>, Value) {
    let doc = json_of(h, &["report", run_id, "--format", "json"], 0).await;
    let rows = doc["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["item_key"].as_str().unwrap().to_string(), p.clone()))
        .collect();
    (rows, doc)
}

pub(crate) async fn hook(h: &Harness, method: reqwest::Method, path: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .request(method, format!("{}{path}", h.sandbox.hooks_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let body = answer.bytes().await.unwrap();
    assert!(
        status.is_success(),
        "{path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_rows_are_exact_over_a_ten_thousand_row_payroll() {
    let h = frozen().await;
    let payees = run_payroll(&h, "run_report_10k", 10_000).await;
    let by_note: BTreeMap<String, String> = h
        .transfers()
        .into_iter()
        .map(|e| (e.reference.unwrap_or_default(), e.object_id))
        .collect();

    let out = h
        .sluice(&["report", "run_report_10k", "--format", "csv"], None)
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut csv = csv::Reader::from_reader(&out.stdout[..]);
    let head = csv.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), payees.len());
    let mut total = Decimal::ZERO;
    for (row, p) in rows.iter().zip(&payees) {
        assert_eq!(&row[col("item_key")], p.id);
        assert_eq!(&row[col("step")], "pay");
        assert_eq!(&row[col("provider")], "ws");
        assert_eq!(&row[col("amount")], p.amount.to_string(), "{}", p.id);
        assert_eq!(&row[col("asset_or_currency")], "EURC");
        assert_eq!(&row[col("state")], "committed", "{}", p.id);
        assert_eq!(&row[col("provider_state")], "PROCESSING");
        assert_eq!(&row[col("fee")], "0.0000000");
        let key = &row[col("idempotency_key")];
        let note = format!("Payroll run_report_10k {} [sluice:{key}]", p.name);
        assert_eq!(
            by_note.get(&note).map(String::as_str),
            Some(&row[col("provider_ref")])
        );
        total += p.amount;
    }

    let (_, doc) = report(&h, "run_report_10k").await;
    assert_eq!(
        doc["totals"],
        json!([{
            "asset_or_currency": "EURC",
            "state": "committed",
            "count": 10_000,
            "amount": total.to_string(),
        }])
    );
    let md = h.sluice(&["report", "run_report_10k"], None).await;
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains(&format!("| EURC | committed | 10000 | {total} |")),
        "{}",
        &md[..600]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_names_every_discrepancy_by_item_key_and_never_writes() {
    let h = frozen().await;
    run_payroll(&h, "run_recon", 6).await;
    let clean = json_of(&h, &["reconcile", "run_recon", "--format", "json"], 0).await;
    assert_eq!(clean["counts"], json!({"matched": 6}), "{clean:#}");

    let (rows, _) = report(&h, "run_recon").await;
    let id = |k: &str| rows[k]["provider_ref"].as_str().unwrap().to_string();
    let ledger = h.transfers();
    let asset = ledger[0].asset.clone();
    // E0001 fails after commit: the provider returns the money.
    hook_fail(&h, &id("E0001")).await;
    // E0002's amount changes on the provider's side; E0003's transfer disappears.
    hook(
        &h,
        reqwest::Method::POST,
        &format!("/whalestack/transfers/{}/amount", id("E0002")),
        json!({"amount": "1.00"}),
    )
    .await;
    hook(
        &h,
        reqwest::Method::DELETE,
        &format!("/whalestack/transfers/{}", id("E0003")),
        json!({}),
    )
    .await;
    // E0004 is paid a second time outside the engine, with its marker; and a transfer with a
    // marker no run knows.
    let e4 = rows["E0004"]["idempotency_key"].as_str().unwrap();
    let duplicate = out_of_band(&h, &asset, &format!("again [sluice:{e4}]")).await;
    let stranger = out_of_band(&h, &asset, "by hand [sluice:sl_outofband]").await;
    h.sandbox.advance(Duration::from_secs(60));
    let reversed: Vec<_> = h
        .sandbox
        .ledger()
        .into_iter()
        .filter(|e| e.kind == "transfer.reversal")
        .map(|e| e.object_id)
        .collect();
    assert_eq!(reversed, [id("E0001")]);

    let writes_before = writes(&h);
    let found = json_of(&h, &["reconcile", "run_recon", "--format", "json"], 1).await;
    let verdicts: BTreeMap<(String, String), String> = found["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                (
                    f["item_key"].as_str().unwrap_or("-").to_string(),
                    f["provider_ref"].as_str().unwrap_or("-").to_string(),
                ),
                f["finding"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeMap<(String, String), String> = [
        ("E0001", id("E0001"), "state_mismatch"),
        ("E0002", id("E0002"), "amount_mismatch"),
        ("E0003", id("E0003"), "missing_at_provider"),
        ("E0004", id("E0004"), "matched"),
        ("E0004", duplicate.clone(), "unknown_to_sluice"),
        ("E0005", id("E0005"), "matched"),
        ("E0006", id("E0006"), "matched"),
    ]
    .into_iter()
    .map(|(k, r, v)| ((k.to_string(), r), v.to_string()))
    .collect();
    assert_eq!(verdicts, expected, "{found:#}");

    let shown = h.sluice(&["reconcile", "run_recon"], None).await;
    assert_eq!(shown.status.code(), Some(1), "{}", text(&shown));
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("sluice says committed, the provider says FAILED"),
        "{shown}"
    );
    assert!(shown.contains("| pay[E0002] |"), "{shown}");

    let since = json_of(
        &h,
        &[
            "reconcile",
            "--workflow",
            "payroll",
            "--since",
            "2000-01-01",
            "--format",
            "json",
        ],
        1,
    )
    .await;
    let strangers: Vec<&Value> = since["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["provider_ref"] == stranger.as_str())
        .collect();
    assert_eq!(strangers.len(), 1, "{since:#}");
    assert_eq!(strangers[0]["finding"], "unknown_to_sluice");
    assert_eq!(strangers[0]["idempotency_key"], "sl_outofband");
    assert_eq!(strangers[0]["item_key"], Value::Null);
    assert_eq!(writes(&h), writes_before, "reconcile wrote to the provider");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_refuses_bad_usage_with_exit_two() {
    let h = frozen().await;
    for args in [
        &["reconcile"][..],
        &[
            "reconcile",
            "run_x",
            "--workflow",
            "payroll",
            "--since",
            "2026-01-01",
        ],
        &["reconcile", "--workflow", "payroll"],
        &["reconcile", "--workflow", "payroll", "--since", "last week"],
        &["reconcile", "run_missing"],
    ] {
        let out = h.sluice(args, None).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
}

/// A transfer created and committed outside sluice, through the sandbox's unauthenticated
/// copy of the API; its id.
async fn out_of_band(h: &Harness, asset: &str, note: &str) -> String {
    let base = "/seed/whalestack/api/v1";
    let created = hook(
        h,
        reqwest::Method::POST,
        &format!("{base}/transfer"),
        json!({"network": "SEPA", "asset": asset, "amount": "3.00",
               "targetAccount": "Out Of Band EUR", "note": note}),
    )
    .await;
    let id = created["transfer"]["id"].as_str().unwrap().to_string();
    hook(
        h,
        reqwest::Method::POST,
        &format!("{base}/transfer/commit"),
        json!({"transferId": id}),
    )
    .await;
    id
}

/// The provider API requests other than reads answered so far.
pub(crate) fn writes(h: &Harness) -> usize {
    h.sandbox
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count()
}

/// A webhook receiver on loopback answering 200; its URL and what it got.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let inbox: Arc<Mutex<Vec<Value>>> = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(inbox): State<Arc<Mutex<Vec<Value>>>>, body: Bytes| async move {
                    inbox
                        .lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).unwrap());
                    StatusCode::OK
                },
            ),
        )
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), inbox)
}

async fn with_hook(h: &Harness, hook: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = h.command(args, None);
    cmd.env("OPS_HOOK", hook);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_failed_after_commit_is_recorded_once_and_becomes_an_operator_case() {
    assert_eq!(
        NotifyEvent::ItemFailedAfterCommit.as_str(),
        sluice::store::FAILED_AFTER_COMMIT_EVENT
    );
    let h = frozen().await;
    let (hook, inbox) = receiver().await;
    let workflow = h.variant("payroll.yaml", "settled-payroll.yaml", &[]);
    let mut text_wf = std::fs::read_to_string(&workflow).unwrap();
    text_wf.push_str(
        "\nnotify:\n  - on: [item_failed_after_commit]\n    webhook: { url: \"${OPS_HOOK}\" }\n",
    );
    std::fs::write(&workflow, text_wf).unwrap();
    let (csv, _) = h.payroll(3);
    let input = format!("payees=@{}", csv.display());
    let run = [
        "run",
        &workflow,
        "--run-id",
        "run_settle",
        "--input",
        &input,
    ];
    let out = with_hook(&h, &hook, &run).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (rows, _) = report(&h, "run_settle").await;
    let id = |k: &str| rows[k]["provider_ref"].as_str().unwrap().to_string();

    // Nothing is final yet: every payment stays committed.
    let out = with_hook(&h, &hook, &["settle", "run_settle"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("0 newly settled, 0 failed after commit, 3 still committed"),
        "{}",
        text(&out)
    );

    hook_fail(&h, &id("E0002")).await;
    h.sandbox.advance(Duration::from_secs(60));
    let out = with_hook(&h, &hook, &["settle", "run_settle"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains("run_settle/pay[E0002]  failed_after_commit (FAILED)"),
        "{shown}"
    );
    assert!(
        shown.contains("2 newly settled, 1 failed after commit, 0 still committed"),
        "{shown}"
    );
    // The provider returned the money of exactly that payment.
    let reversed: Vec<String> = h
        .sandbox
        .ledger()
        .into_iter()
        .filter(|e| e.kind == "transfer.reversal")
        .map(|e| e.object_id)
        .collect();
    assert_eq!(reversed, [id("E0002")]);

    let (rows, doc) = report(&h, "run_settle").await;
    let states: Vec<(&str, &str)> = ["E0001", "E0002", "E0003"]
        .iter()
        .map(|k| (*k, rows[*k]["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("E0001", "settled"),
            ("E0002", "failed_after_commit"),
            ("E0003", "settled")
        ]
    );
    let totals: Vec<(&str, u64)> = doc["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["state"].as_str().unwrap(), t["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(totals, [("settled", 2), ("failed_after_commit", 1)]);

    let status = h.sluice(&["status", "run_settle"], None).await;
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status
            .contains("payments failed after commit (the payee was not paid)\n  pay[E0002] FAILED"),
        "{status}"
    );
    assert!(
        status.contains("next: 1 payment(s) failed after commit"),
        "{status}"
    );

    // Told once, however often it is looked at again.
    let again = with_hook(&h, &hook, &["settle", "run_settle"]).await;
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    let got = inbox.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["event"], "item_failed_after_commit");
    assert!(
        got[0]["message"]
            .as_str()
            .unwrap()
            .contains("run_settle/pay[E0002] failed after commit"),
        "{got:?}"
    );
    // The records and the provider agree again.
    let out = h.sluice(&["reconcile", "run_settle"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

pub(crate) async fn hook_fail(h: &Harness, id: &str) {
    hook(
        h,
        reqwest::Method::POST,
        "/outcomes",
        json!({"id": id, "outcome": "fail"}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_tracking_settlements_and_reconciles_on_a_schedule() {
    let h = frozen().await;
    run_payroll(&h, "run_served", 3).await;
    let (rows, _) = report(&h, "run_served").await;
    let id = |k: &str| rows[k]["provider_ref"].as_str().unwrap().to_string();
    hook_fail(&h, &id("E0001")).await;
    hook(
        &h,
        reqwest::Method::POST,
        &format!("/whalestack/transfers/{}/amount", id("E0003")),
        json!({"amount": "1.00"}),
    )
    .await;
    h.sandbox.advance(Duration::from_secs(60));

    let log = h.dir.path().join("serve.log");
    let mut serve = h
        .command(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--rescan",
                "300ms",
                "--settle-every",
                "1s",
                "--reconcile-every",
                "1s",
            ],
            None,
        )
        .env("RUST_LOG", "sluice=info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("serve starts");
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    let mismatch = |item: &str| {
        logged().lines().any(|l| {
            l.contains("Reconciliation mismatch") && l.contains(&format!("item=\"{item}\""))
        })
    };
    let (mut recorded, mut reconciled) = (false, false);
    for _ in 0..600 {
        let status = h.sluice(&["status", "run_served"], None).await;
        recorded = String::from_utf8_lossy(&status.stdout).contains("  pay[E0001] FAILED");
        reconciled = mismatch("E0003");
        if recorded && reconciled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    super::workers::stop(&mut serve);
    assert!(
        recorded && reconciled,
        "serve did not settle ({recorded}) or reconcile ({reconciled}):\n{}",
        logged()
    );
    let (rows, _) = report(&h, "run_served").await;
    assert_eq!(rows["E0001"]["state"], "failed_after_commit");
    assert_eq!(rows["E0002"]["state"], "settled");
    assert_eq!(rows["E0003"]["state"], "settled");
    assert!(!mismatch("E0002"), "{}", logged());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_waits_for_settlement_fails_on_a_failure_after_commit() {
    let h = Harness::start(Faults::default()).await;
    let waiting = h.variant(
        "payroll.yaml",
        "payroll-wait.yaml",
        &[(
            "    max_parallel: 16\n",
            "    max_parallel: 16\n    settle: wait\n    settle_timeout: 5m\n",
        )],
    );
    let (csv, payees) = h.payroll(4);
    let args = |run: &str, csv: &std::path::Path| {
        vec![
            "run".to_string(),
            waiting.clone(),
            "--run-id".into(),
            run.into(),
            "--input".into(),
            format!("payees=@{}", csv.display()),
        ]
    };
    let clean = args("run_wait_clean", &csv);
    let clean: Vec<&str> = clean.iter().map(String::as_str).collect();
    let out = h.sluice(&clean, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    h.assert_paid_exactly_once(&payees);
    let (rows, _) = report(&h, "run_wait_clean").await;
    assert!(rows.values().all(|r| r["state"] == "settled"), "{rows:#?}");

    // A payee whose bank refuses the transfer after the provider accepted it.
    let failing = h.dir.path().join("failing.csv");
    std::fs::write(
        &failing,
        "employee_id,name,amount,iban_label\nE0001,Good Payee,5.00,Good EUR\nE0002,Bad Payee,7.00,fail EUR\n",
    )
    .unwrap();
    let run = args("run_wait_fail", &failing);
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    let out = h.sluice(&run, None).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let status = h.sluice(&["status", "run_wait_fail"], None).await;
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("1 payment(s) failed after commit: `E0002`"),
        "{status}"
    );
    assert!(status.contains("pay[E0002] FAILED"), "{status}");
    // The step after the payments did not run as if everyone were paid.
    assert!(
        status.contains("report                   pending"),
        "{status}"
    );
    let (rows, _) = report(&h, "run_wait_fail").await;
    assert_eq!(rows["E0001"]["state"], "settled");
    assert_eq!(rows["E0002"]["state"], "failed_after_commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_applies_only_to_batches_of_payments() {
    let h = Harness::start(Faults::default()).await;
    for (file, edit, said) in [
        (
            "settle-log.yaml",
            ("    uses: log\n", "    uses: log\n    settle: wait\n"),
            "error[E035]: `settle` applies to payment steps, and `log` moves no money",
        ),
        (
            "settle-timeout.yaml",
            (
                "    max_parallel: 16\n",
                "    max_parallel: 16\n    settle_timeout: 10m\n",
            ),
            "error[E035]: `settle_timeout` only applies with `settle: wait`",
        ),
    ] {
        let path = h.variant("payroll.yaml", file, &[edit]);
        let out = h.sluice(&["validate", &path], None).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains(said), "{}", text(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reconciles_each_workflow_as_often_as_it_says() {
    let h = frozen().await;
    let schedule = "schedule:\n  cron: \"0 9 * * FRI\"\n  timezone: Europe/Berlin\n  catch_up: latest\n  overlap: skip\n  inputs:\n    payees: \"@workflows/data/payroll.csv\"\n";
    let checked = h.variant(
        "payroll.yaml",
        "checked.yaml",
        &[(schedule, "reconcile:\n  every: 1s\n")],
    );
    let unchecked = h.variant(
        "payroll.yaml",
        "unchecked.yaml",
        &[
            (schedule, ""),
            ("name: payroll\n", "name: payroll-unchecked\n"),
        ],
    );
    let (csv, _) = h.payroll(2);
    let input = format!("payees=@{}", csv.display());
    let plan = h.sluice(&["plan", &checked, "--input", &input], None).await;
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("reconcile   every 1s in `sluice serve`"),
        "{}",
        text(&plan)
    );
    for (workflow, run) in [(&checked, "run_checked"), (&unchecked, "run_unchecked")] {
        let args = ["run", workflow.as_str(), "--run-id", run, "--input", &input];
        let out = h.sluice(&args, None).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        // Each run's second payment is changed on the provider's side.
        let (rows, _) = report(&h, run).await;
        let id = rows["E0002"]["provider_ref"].as_str().unwrap();
        hook(
            &h,
            reqwest::Method::POST,
            &format!("/whalestack/transfers/{id}/amount"),
            json!({"amount": "1.00"}),
        )
        .await;
    }

    // No `--reconcile-every`: only the workflow's own schedule reconciles.
    let log = h.dir.path().join("serve.log");
    let mut serve = h
        .command(
            &["serve", "--listen", "127.0.0.1:0", "--settle-every", "1h"],
            None,
        )
        .env("RUST_LOG", "sluice=info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("serve starts");
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    let mismatches = |run: &str| {
        logged()
            .lines()
            .filter(|l| {
                l.contains("Reconciliation mismatch")
                    && l.contains(&format!("run_id={run}"))
                    && l.contains("item=\"E0002\"")
            })
            .count()
    };
    // Two passes over the checked workflow's run: each also looked at the other run.
    for _ in 0..600 {
        if mismatches("run_checked") >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    super::workers::stop(&mut serve);
    assert!(mismatches("run_checked") >= 2, "{}", logged());
    assert_eq!(mismatches("run_unchecked"), 0, "{}", logged());
}

/// `serve` on a free loopback port with `args` and `OPS_HOOK`, logging to `log`; returns it
/// and its address.
fn serve_at(
    h: &Harness,
    args: &[&str],
    hook: &str,
    log: &std::path::Path,
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut serve = h
        .command(args, None)
        .env("OPS_HOOK", hook)
        .env("RUST_LOG", "sluice=info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("serve starts");
    let mut lines = std::io::BufReader::new(serve.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve prints its address").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep reading so serve never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (serve, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_raises_one_case_per_discrepancy_and_clears_it_when_the_payment_matches_again() {
    assert_eq!(
        NotifyEvent::ReconcileMismatch.as_str(),
        sluice::store::RECONCILE_MISMATCH_EVENT
    );
    let h = frozen().await;
    let (hook_url, inbox) = receiver().await;
    let workflow = h.variant("payroll.yaml", "reconciled-payroll.yaml", &[]);
    let mut text_wf = std::fs::read_to_string(&workflow).unwrap();
    text_wf.push_str(
        "\nnotify:\n  - on: [reconcile_mismatch]\n    webhook: { url: \"${OPS_HOOK}\" }\n",
    );
    std::fs::write(&workflow, text_wf).unwrap();
    let (csv, _) = h.payroll(3);
    let input = format!("payees=@{}", csv.display());
    let run = ["run", &workflow, "--run-id", "run_recon", "--input", &input];
    let out = with_hook(&h, &hook_url, &run).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (rows, _) = report(&h, "run_recon").await;
    let changed = rows["E0002"]["provider_ref"].as_str().unwrap().to_string();
    let amount_of = |amount: &str| {
        let path = format!("/whalestack/transfers/{changed}/amount");
        let h = &h;
        let body = json!({ "amount": amount });
        async move { hook(h, reqwest::Method::POST, &path, body).await }
    };
    let sent = rows["E0002"]["amount"].as_str().unwrap().to_string();
    amount_of("1.00").await;

    let log = h.dir.path().join("serve.log");
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--rescan",
        "300ms",
        "--reconcile-every",
        "1s",
    ];
    let (mut serve, addr) = serve_at(&h, &args, &hook_url, &log);
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    let passes = || {
        logged()
            .lines()
            .filter(|l| l.contains("Reconciliation mismatch") && l.contains("item=\"E0002\""))
            .count()
    };
    let told = || {
        inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|n| n["event"] == "reconcile_mismatch")
            .count()
    };
    // Several passes see the same discrepancy; it is one case, told once.
    for _ in 0..600 {
        if passes() >= 3 && told() >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(passes() >= 3 && told() == 1, "{:?}\n{}", inbox, logged());
    let got = inbox.lock().unwrap().clone();
    let message = got[0]["message"].as_str().unwrap();
    assert!(
        message.contains("run_recon/pay[E0002] amount_mismatch")
            && message.contains("the provider holds 1.00"),
        "{message}"
    );
    let status = h.sluice(&["status", "run_recon"], None).await;
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.contains(&format!(
            "reconciliation discrepancies (the provider's records disagree)\n  \
             #1 pay[E0002] amount_mismatch ({changed}): sluice recorded "
        )) && status.contains(", the provider holds 1.00"),
        "{status}"
    );
    assert!(
        status.contains("next: 1 payment(s) disagree with the provider's records: check them with `sluice reconcile run_recon`"),
        "{status}"
    );
    assert!(!status.contains("pay[E0001] amount"), "{status}");
    let page = reqwest::get(format!("http://{addr}/")).await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let page = page.text().await.unwrap();
    for shown in ["pay[E0002]", "state-amount_mismatch", "1 open"] {
        assert!(page.contains(shown), "`{shown}` missing:\n{page}");
    }

    // The provider's record is put right: the next pass clears the case.
    amount_of(&sent).await;
    let mut cleared = String::new();
    for _ in 0..600 {
        let status = h.sluice(&["status", "run_recon"], None).await;
        cleared = String::from_utf8_lossy(&status.stdout).into_owned();
        if !cleared.contains("reconciliation discrepancies") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = reqwest::get(format!("http://{addr}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    super::workers::stop(&mut serve);
    assert!(
        !cleared.contains("reconciliation discrepancies"),
        "{cleared}\n{}",
        logged()
    );
    assert!(
        cleared.contains("run run_recon (payroll): succeeded"),
        "{cleared}"
    );
    assert!(
        !page.contains("pay[E0002]") && page.contains("0 open"),
        "{page}"
    );
    assert_eq!(told(), 1, "{inbox:?}");
}
