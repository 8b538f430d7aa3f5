//! Failing fast and kindly: refused credentials stop a batch before anything is sent (one
//! authentication call at the provider, not one per item), a provider that goes down mid-batch
//! leaves the untouched items pending and the run waiting until `resume`, and `sluice check`
//! says which provider block is wrong.

use std::time::{Duration, Instant};

use sluice::sandbox::{FaultRule, Faults};

use super::harness::{Harness, text};

const WRONG: &str = "not-the-sandbox-secret";

/// The payroll's `sluice run` with `WHALESTACK_API_SECRET` set to `secret`.
fn payroll(
    h: &Harness,
    run_id: &str,
    csv: &std::path::Path,
    secret: &str,
) -> std::process::Command {
    let args = Harness::payroll_run(run_id, csv);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = h.command(&args, None);
    cmd.env("WHALESTACK_API_SECRET", secret);
    cmd
}

/// The provider API calls the sandbox answered with `status`.
fn answered(h: &Harness, status: u16) -> Vec<String> {
    h.sandbox
        .requests()
        .into_iter()
        .filter(|r| r.status == status)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_stops_the_payroll_before_any_write_with_one_call() {
    let h = Harness::start(Faults::default()).await;
    let (csv, payees) = h.payroll(1000);
    let out = payroll(&h, "run_wrong_secret", &csv, WRONG)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "credentials for `ws` (whalestack) were refused: check `WHALESTACK_API_KEY` and \
             `WHALESTACK_API_SECRET`"
        ),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(WRONG), "the secret was printed");
    // One authenticated call (the public clock read that digest signing starts with aside).
    let calls: Vec<String> = h
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path != "/whalestack/api/v1/time")
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect();
    assert_eq!(calls, ["GET /whalestack/api/v1/auth-test 401"]);
    assert!(h.transfers().is_empty());

    // Nothing was dispatched and nothing failed: the run waits, and `resume` after the fix
    // pays everyone once, with nothing to retry.
    let status = h.sluice(&["status", "run_wrong_secret"], None).await;
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains("run run_wrong_secret (payroll): waiting"),
        "{shown}"
    );
    assert!(shown.contains("1000 items: 1000 pending"), "{shown}");
    let out = h.sluice(&["resume", "run_wrong_secret"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    h.assert_paid_exactly_once(&payees);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_down_mid_batch_leaves_the_rest_pending_until_resume() {
    let slow = Faults {
        routes: vec!["latency=30ms@*".parse::<FaultRule>().unwrap()],
        webhooks: Vec::new(),
    };
    let h = Harness::start(slow).await;
    let (csv, payees) = h.payroll(300);
    let child = payroll(&h, "run_outage", &csv, "sandbox-secret")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while h.transfers().len() < 40 {
        assert!(started.elapsed() < Duration::from_secs(60), "no payments");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Whalestack goes down: every call answers 503.
    h.sandbox.set_faults(Faults {
        routes: vec!["error=503@/whalestack/*".parse::<FaultRule>().unwrap()],
        webhooks: Vec::new(),
    });
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let paid = h.transfers().len();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("provider `ws` (whalestack) is unavailable"),
        "{}",
        text(&out)
    );
    assert!(paid < payees.len(), "the run ended before the outage");
    let failed = answered(&h, 503).len();
    assert!(
        failed < 200,
        "{failed} calls went to the provider while it was down"
    );
    let status = h.sluice(&["status", "run_outage"], None).await;
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains("run run_outage (payroll): waiting"),
        "{shown}"
    );
    assert!(shown.contains(" pending"), "{shown}");
    assert!(!shown.contains(" failed"), "{shown}");

    // The provider is back: resume finishes the batch, every payee paid once.
    h.sandbox.set_faults(Faults::default());
    let out = h.sluice(&["resume", "run_outage"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    h.assert_paid_exactly_once(&payees);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_each_provider_block_and_exits_by_the_worst() {
    let h = Harness::start(Faults::default()).await;
    let check = |secret: &str| {
        let mut cmd = h.command(&["check", "workflows/payroll.yaml"], None);
        cmd.env("WHALESTACK_API_SECRET", secret);
        cmd.output().unwrap()
    };
    let out = check("sandbox-secret");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("ok      ws (whalestack)"),
        "{}",
        text(&out)
    );

    let out = check(WRONG);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("refused ws (whalestack): credentials were refused: check"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(WRONG), "the secret was printed");

    let mut down = h.command(&["check", "workflows/payroll.yaml"], None);
    down.env(
        "WHALESTACK_BASE_URL",
        "http://127.0.0.1:9/whalestack/api/v1",
    );
    let out = down.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("down    ws (whalestack)"),
        "{}",
        text(&out)
    );

    let out = h.sluice(&["check", "no-such-file.yaml"], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// Without the preflight (`preflight: false`), the first calls that meet the refused
/// credentials open the breaker: those items are held like the rest, none fails, and the
/// provider sees a handful of refused calls, not one per payee.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_mid_run_hold_every_item_without_failing_one() {
    let h = Harness::start(Faults::default()).await;
    let workflow = h.variant(
        "payroll.yaml",
        "payroll-no-preflight.yaml",
        &[(
            "    kind: whalestack\n",
            "    kind: whalestack\n    preflight: false\n",
        )],
    );
    let (csv, payees) = h.payroll(300);
    let input = format!("payees=@{}", csv.display());
    let args = [
        "run",
        &workflow,
        "--run-id",
        "run_refused",
        "--input",
        &input,
        "--input",
        "budget=100000000.00",
    ];
    let mut cmd = h.command(&args, None);
    cmd.env("WHALESTACK_API_SECRET", WRONG);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("credentials for `ws` (whalestack) were refused"),
        "{}",
        text(&out)
    );
    let refused = answered(&h, 401).len();
    assert!((1..=32).contains(&refused), "{refused} refused calls");
    let status = h.sluice(&["status", "run_refused"], None).await;
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(!shown.contains(" failed"), "{shown}");

    let out = h.sluice(&["resume", "run_refused"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    h.assert_paid_exactly_once(&payees);
}
