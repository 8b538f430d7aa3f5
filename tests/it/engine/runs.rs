//! Runs as an operator sees them: exactly-once payment, status, resume as a no-op, lost
//! responses reconciled by lookup, a run held by another process, and bad input.

use sluice::sandbox::{FaultKind, FaultRule, Faults};

use super::harness::{Harness, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payroll_pays_every_payee_once_and_status_shows_it() {
    let h = Harness::start(Faults::default()).await;
    let (csv, payees) = h.payroll(50);
    let input = format!("payees=@{}", csv.display());
    let out = h
        .sluice(
            &[
                "run",
                "workflows/payroll.yaml",
                "--run-id",
                "run_payroll_once",
                "--input",
                &input,
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    h.assert_paid_exactly_once(&payees);

    let status = h.sluice(&["status", "run_payroll_once"], None).await;
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains("run run_payroll_once (payroll): succeeded"),
        "{shown}"
    );
    assert!(shown.contains("50 items: 50 succeeded"), "{shown}");

    // A finished run is not run again, and nothing is sent; for a cron job or CI step that
    // resumes it, that is a success.
    let again = h.sluice(&["resume", "run_payroll_once"], None).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        text(&again).contains("run run_payroll_once already succeeded; nothing to do"),
        "{}",
        text(&again)
    );
    h.assert_paid_exactly_once(&payees);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_responses_are_looked_up_never_resent() {
    // The sandbox applies every third commit but resets the connection instead of answering.
    let faults = Faults {
        routes: vec![FaultRule {
            route: "POST /whalestack/api/v1/transfer/commit".into(),
            fault: FaultKind::LostResponse,
            times: Some(5),
            skip: 2,
        }],
        webhooks: vec![],
    };
    let h = Harness::start(faults).await;
    let (csv, payees) = h.payroll(20);
    let input = format!("payees=@{}", csv.display());
    let out = h
        .sluice(
            &[
                "run",
                "workflows/payroll.yaml",
                "--run-id",
                "run_lost",
                "--input",
                &input,
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        text(&out).matches("Write in doubt").count(),
        5,
        "{}",
        text(&out)
    );
    h.assert_paid_exactly_once(&payees);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_held_by_another_process_is_refused_with_the_holder_named() {
    let faults = Faults {
        routes: vec![FaultRule {
            route: "POST /whalestack/api/v1/transfer".into(),
            fault: FaultKind::Latency {
                delay: "400ms".parse().unwrap(),
            },
            times: None,
            skip: 0,
        }],
        webhooks: vec![],
    };
    let h = Harness::start(faults).await;
    let (csv, payees) = h.payroll(6);
    let input = format!("payees=@{}", csv.display());
    let mut first = h.command(
        &[
            "run",
            "workflows/payroll.yaml",
            "--run-id",
            "run_held",
            "--concurrency",
            "1",
            "--input",
            &input,
        ],
        None,
    );
    let child = first
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let first_pid = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(child.id()));
    let first = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    // Wait until the first process holds the run.
    let mut second = None;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let out = h.sluice(&["resume", "run_held"], None).await;
        if text(&out).contains("is held by") {
            second = Some(out);
            break;
        }
    }
    let second = second.expect("the second process was refused while the first ran");
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    // The holder is named as `host:pid:tag`, with the first process's pid.
    let holder = format!(
        ":{pid}:",
        pid = first_pid.load(std::sync::atomic::Ordering::SeqCst)
    );
    assert!(
        text(&second).contains(&holder),
        "holder {holder} not named: {}",
        text(&second)
    );
    let first = first.await.unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    h.assert_paid_exactly_once(&payees);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_csv_input_is_refused_before_anything_runs() {
    let h = Harness::start(Faults::default()).await;
    let csv = h.dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "employee_id,name,amount,iban_label\nE1,A,12.50,A EUR\nE2,B,12;50,B EUR\n",
    )
    .unwrap();
    let input = format!("payees=@{}", csv.display());
    let out = h
        .sluice(&["run", "workflows/payroll.yaml", "--input", &input], None)
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("row 3, column `amount`: `12;50` is not a decimal"),
        "{}",
        text(&out)
    );

    std::fs::write(
        &csv,
        "employee_id,name,amount,iban_label\nE1,A,12.50,A EUR\nE1,B,1.00,B EUR\n",
    )
    .unwrap();
    let out = h
        .sluice(&["run", "workflows/payroll.yaml", "--input", &input], None)
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("duplicate keys: `E1` (elements 1 and 2)"),
        "{}",
        text(&out)
    );

    std::fs::write(&csv, "employee_id,name,iban_label\nE1,A,A EUR\n").unwrap();
    let out = h
        .sluice(&["run", "workflows/payroll.yaml", "--input", &input], None)
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no column `amount`"), "{}", text(&out));

    // A file that cannot be read is bad input too, with `--detach` as without.
    let missing = format!("payees=@{}", h.dir.path().join("missing.csv").display());
    for extra in [&[][..], &["--detach"]] {
        let mut args = vec!["run", "workflows/payroll.yaml", "--input", &missing];
        args.extend_from_slice(extra);
        let out = h.sluice(&args, None).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            text(&out).contains("missing.csv` for input `payees`"),
            "{}",
            text(&out)
        );
    }

    let runs = h.sluice(&["runs"], None).await;
    assert_eq!(
        String::from_utf8_lossy(&runs.stdout).lines().count(),
        1,
        "no run was created"
    );
    assert!(h.transfers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_or_foreign_database_is_refused_and_left_untouched() {
    let h = Harness::start(Faults::default()).await;
    let garbage = b"this is not a database, it is a grocery list\n".repeat(100);
    std::fs::write(h.db(), &garbage).unwrap();
    let out = h.sluice(&["runs"], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("cannot open the checkpoint database"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read(h.db()).unwrap(),
        garbage,
        "the file was modified"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_failures_of_a_second_phase_give_up_after_max_attempts() {
    // Every commit is rate limited: the quote exists, nothing is committed, and the retry
    // policy (2 attempts) must end the item instead of retrying forever.
    let faults = Faults {
        routes: vec![FaultRule {
            route: "POST /whalestack/api/v1/transfer/commit".into(),
            fault: FaultKind::RateLimit {
                retry_after: "1s".parse().unwrap(),
            },
            times: None,
            skip: 0,
        }],
        webhooks: vec![],
    };
    let h = Harness::start(faults).await;
    let workflow = h.variant(
        "payroll.yaml",
        "payroll.yaml",
        &[("retry: { max_attempts: 5,", "retry: { max_attempts: 2,")],
    );
    let (csv, _) = h.payroll(1);
    let input = format!("payees=@{}", csv.display());
    let run = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        h.sluice(
            &[
                "run",
                &workflow,
                "--run-id",
                "run_phase2",
                "--input",
                &input,
            ],
            None,
        ),
    )
    .await
    .expect("the run gave up in time");
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    assert!(
        text(&run).contains("gave up after 2 attempts"),
        "{}",
        text(&run)
    );
    assert!(h.transfers().is_empty(), "nothing was committed");
    let commits = h
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/whalestack/api/v1/transfer/commit")
        .count();
    assert_eq!(commits, 2, "{}", text(&run));
    // The second identical warning is folded into a count.
    assert!(
        text(&run).contains("HTTP 429 from `ws` × 1 more in the last"),
        "{}",
        text(&run)
    );
}
