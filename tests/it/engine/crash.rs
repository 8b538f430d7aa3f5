//! Crash safety, tested rather than assumed (DESIGN.md §4): the process is aborted at each
//! point of the write protocol, or killed with SIGKILL at random moments, then resumed; the
//! sandbox's ledger must show every payment exactly once with its exact amount, and no step
//! may be left `dispatching`.

use std::time::Duration;

use sluice::sandbox::{FaultKind, FaultRule, Faults};

use super::harness::{Harness, text};

const FAILPOINTS: &[&str] = &[
    "before_dispatch",
    "after_dispatch",
    "after_send",
    "between_phases",
    "after_record",
];

/// Resumes until the run ends (a crash may leave nothing to do but finish).
async fn resume_to_the_end(h: &Harness, run_id: &str) {
    for _ in 0..5 {
        let out = h.sluice(&["resume", run_id], None).await;
        match out.status.code() {
            Some(0) => return,
            _ if text(&out).contains("already finished as `succeeded`") => return,
            _ => eprintln!("resume did not finish: {}", text(&out)),
        }
    }
    panic!("run {run_id} did not finish after five resumes");
}

async fn assert_nothing_in_doubt(h: &Harness, run_id: &str) {
    let status = h.sluice(&["status", run_id, "--items"], None).await;
    let shown = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(shown.contains(": succeeded"), "{shown}");
    assert!(
        !shown.contains("dispatching") && !shown.contains("in_flight"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payroll_killed_at_every_protocol_point_pays_each_payee_exactly_once() {
    for fp in FAILPOINTS {
        let h = Harness::start(Faults::default()).await;
        let (csv, payees) = h.payroll(200);
        let run_id = format!("run_crash_{fp}");
        let spec = format!("{fp}=40*off->return");
        let args = Harness::payroll_run(&run_id, &csv);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = h.sluice(&args, Some(&spec)).await;
        assert_ne!(
            out.status.code(),
            Some(0),
            "{fp}: the failpoint did not fire: {}",
            text(&out)
        );
        assert!(
            text(&out).contains(&format!("failpoint `{fp}` hit")),
            "{fp}: {}",
            text(&out)
        );
        resume_to_the_end(&h, &run_id).await;
        h.assert_paid_exactly_once(&payees);
        assert_nothing_in_doubt(&h, &run_id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_sweep_killed_between_phases_swaps_and_transfers_once() {
    for fp in ["between_phases", "after_send", "after_dispatch"] {
        let h = Harness::start(Faults::default()).await;
        let run_id = format!("run_sweep_{fp}");
        // The 1st hit is the swap's create, the 2nd the transfer's (after_send: the 2nd is
        // the swap's commit).
        let spec = format!("{fp}=1*off->return");
        let workflow = h.fast_workflow("settlement-sweep.yaml");
        let out = h
            .sluice(&["run", &workflow, "--run-id", &run_id], Some(&spec))
            .await;
        assert!(
            text(&out).contains(&format!("failpoint `{fp}` hit")),
            "{fp}: {}",
            text(&out)
        );
        resume_to_the_end(&h, &run_id).await;
        let ledger = h.sandbox.ledger();
        let count = |kind: &str| ledger.iter().filter(|e| e.kind == kind).count();
        assert_eq!(count("transfer.debit"), 1, "{fp}: {ledger:#?}");
        let swaps: std::collections::BTreeSet<&str> = ledger
            .iter()
            .filter(|e| e.kind.starts_with("swap."))
            .map(|e| e.object_id.as_str())
            .collect();
        assert_eq!(
            swaps.len(),
            1,
            "{fp}: more than one swap moved money: {ledger:#?}"
        );
        assert_nothing_in_doubt(&h, &run_id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_never_pays_twice() {
    // Each commit takes a little while, so kills land mid-batch.
    let faults = Faults {
        routes: vec![FaultRule {
            route: "POST /whalestack/api/v1/transfer/commit".into(),
            fault: FaultKind::Latency {
                delay: "20ms".parse().unwrap(),
            },
            times: None,
            skip: 0,
        }],
        webhooks: vec![],
    };
    let h = Harness::start(faults).await;
    let (csv, payees) = h.payroll(200);
    let run_id = "run_sigkill";
    let delays = [150u64, 420, 90, 260];
    let args = Harness::payroll_run(run_id, &csv);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = h
        .command(&args, None)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Under load the process may take a while to create the run; the kills are timed
    // from when it exists, so each lands mid-batch rather than before anything started.
    for _ in 0..200 {
        if h.sluice(&["status", run_id], None).await.status.code() == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for (i, delay) in delays.iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(*delay)).await;
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if i == 0 {
            let paid = h.transfers().len();
            assert!(
                paid < payees.len(),
                "the first kill came after the batch ended ({paid} paid)"
            );
        }
        if i + 1 < delays.len() {
            child = h
                .command(&["resume", run_id], None)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
        }
    }
    resume_to_the_end(&h, run_id).await;
    h.assert_paid_exactly_once(&payees);
    assert_nothing_in_doubt(&h, run_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_run_command_with_resume_finishes_a_crashed_job_once() {
    let h = Harness::start(Faults::default()).await;
    let (csv, payees) = h.payroll(30);
    let mut args = Harness::payroll_run("run_again", &csv);
    args.push("--resume".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.sluice(&args, Some("after_send=10*off->return")).await;
    assert!(
        text(&out).contains("failpoint `after_send` hit"),
        "{}",
        text(&out)
    );
    let out = h.sluice(&args, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("run run_again resumed"),
        "{}",
        text(&out)
    );
    h.assert_paid_exactly_once(&payees);
}
