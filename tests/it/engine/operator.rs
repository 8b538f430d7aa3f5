//! The operator's side: approvals, items in doubt resolved by hand, a changed request refused
//! on resume, tolerated failures and redrive. Every decision is recorded and shown by status.

use sluice::sandbox::{FaultKind, FaultRule, Faults};
use sluice::store::{DiscrepancyKind, Durability, NewDiscrepancy, StepKey, open_store};

use super::harness::{Harness, text};

fn fault(route: &str, fault: FaultKind, times: u32) -> Faults {
    Faults {
        routes: vec![FaultRule {
            route: route.into(),
            fault,
            times: Some(times),
            skip: 0,
        }],
        webhooks: vec![],
    }
}

async fn status(h: &Harness, run: &str) -> String {
    String::from_utf8_lossy(&h.sluice(&["status", run, "--items"], None).await.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_stops_the_run_until_approved() {
    let h = Harness::start(Faults::default()).await;
    let workflow = h.variant(
        "payroll.yaml",
        "approved-payroll.yaml",
        &[(
            "  - id: pay\n    uses: transfer\n    needs: [check_budget]",
            "  - id: sign_off\n    uses: approval\n    needs: [check_budget]\n    with: { message: \"CFO sign-off\" }\n\n  - id: pay\n    uses: transfer\n    needs: [sign_off]",
        )],
    );
    let (csv, payees) = h.payroll(3);
    let input = format!("payees=@{}", csv.display());
    let out = h
        .sluice(
            &[
                "run",
                &workflow,
                "--run-id",
                "run_approval",
                "--input",
                &input,
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("sluice approve run_approval sign_off"),
        "{}",
        text(&out)
    );
    assert!(h.transfers().is_empty(), "paid before approval");
    assert!(
        status(&h, "run_approval")
            .await
            .contains("next: sluice approve run_approval sign_off")
    );

    let out = h
        .sluice(
            &[
                "approve",
                "run_approval",
                "sign_off",
                "--as",
                "cfo",
                "--reason",
                "totals checked",
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = h.sluice(&["resume", "run_approval"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    h.assert_paid_exactly_once(&payees);
    let shown = status(&h, "run_approval").await;
    assert!(
        shown.contains("approve sign_off by cfo: totals checked"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_lost_in_flight_asks_the_operator_and_resolve_continues() {
    // A swap create carries no reference Whalestack could search: when its answer is lost,
    // only an operator can tell whether it exists.
    let h = Harness::start(fault(
        "POST /whalestack/api/v1/swap",
        FaultKind::LostResponse,
        1,
    ))
    .await;
    let workflow = h.fast_workflow("settlement-sweep.yaml");
    let out = h
        .sluice(&["run", &workflow, "--run-id", "run_doubt"], None)
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let shown = status(&h, "run_doubt").await;
    assert!(
        shown.contains("convert                  needs_attention"),
        "{shown}"
    );
    assert!(
        shown.contains("sluice resolve run_doubt convert --succeeded PROVIDER_ID"),
        "{shown}"
    );

    // The operator checks: the quote exists but was never committed, so nothing moved.
    assert!(
        h.sandbox
            .ledger()
            .iter()
            .all(|e| !e.kind.starts_with("swap."))
    );
    let out = h
        .sluice(
            &[
                "resolve",
                "run_doubt",
                "convert",
                "--retry",
                "--reason",
                "no commit in the dashboard",
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = h.sluice(&["resume", "run_doubt"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let swaps: std::collections::BTreeSet<String> = h
        .sandbox
        .ledger()
        .into_iter()
        .filter(|e| e.kind.starts_with("swap."))
        .map(|e| e.object_id)
        .collect();
    assert_eq!(swaps.len(), 1, "exactly one swap moved money");
    assert!(
        status(&h, "run_doubt")
            .await
            .contains("resolve_retry convert by")
    );
}

#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_request_is_never_resent_silently() {
    let h = Harness::start(Faults::default()).await;
    let workflow = h.variant(
        "payroll.yaml",
        "payroll.yaml",
        &[("max_parallel: 16", "max_parallel: 1")],
    );
    let (csv, _) = h.payroll(3);
    let input = format!("payees=@{}", csv.display());
    let args = [
        "run",
        workflow.as_str(),
        "--run-id",
        "run_changed",
        "--input",
        &input,
        "--input",
        "budget=1000000.00",
    ];
    let out = h.sluice(&args, Some("after_dispatch=return")).await;
    assert!(
        text(&out).contains("failpoint `after_dispatch` hit"),
        "{}",
        text(&out)
    );

    // Someone edits the amount template while the first item is in doubt.
    h.variant(
        "payroll.yaml",
        "payroll.yaml",
        &[
            ("max_parallel: 16", "max_parallel: 1"),
            (
                "amount: \"{{payee.amount}}\"",
                "amount: \"{{add payee.amount '0.01'}}\"",
            ),
        ],
    );
    let out = h.sluice(&["resume", "run_changed"], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("changed since run `run_changed` started"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("--allow-changed"), "{}", text(&out));

    let out = h
        .sluice(&["resume", "run_changed", "--allow-changed"], None)
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let shown = status(&h, "run_changed").await;
    assert!(
        shown.contains("the request changed since it was sent (`amount`)"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_within_tolerance_complete_and_retry_redrives_only_what_failed() {
    let rejected = FaultKind::Error { status: 400 };
    let h = Harness::start(fault("POST /whalestack/api/v1/transfer", rejected, 2)).await;
    let (csv, payees) = h.payroll(20);

    let tolerant = h.variant(
        "payroll.yaml",
        "tolerant.yaml",
        &[(
            "max_parallel: 16",
            "max_parallel: 16\n    tolerate_failures: \"10%\"",
        )],
    );
    let input = format!("payees=@{}", csv.display());
    let out = h
        .sluice(
            &[
                "run",
                &tolerant,
                "--run-id",
                "run_tolerant",
                "--input",
                &input,
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        status(&h, "run_tolerant")
            .await
            .contains("20 items: 2 failed, 18 succeeded")
    );
    assert_eq!(h.transfers().len(), 18);

    // The same failures without tolerance fail the run; `retry --failed` pays only those two.
    h.sandbox.set_faults(fault(
        "POST /whalestack/api/v1/transfer",
        FaultKind::Error { status: 400 },
        2,
    ));
    let strict = h.variant(
        "payroll.yaml",
        "strict.yaml",
        &[("Payroll {{run.id}}", "Payroll-strict {{run.id}}")],
    );
    let out = h
        .sluice(
            &["run", &strict, "--run-id", "run_strict", "--input", &input],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("2 of 20 items failed"),
        "{}",
        text(&out)
    );
    let out = h.sluice(&["retry", "run_strict", "--failed"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let strict_paid: Vec<_> = h
        .transfers()
        .into_iter()
        .filter(|e| {
            e.reference
                .as_deref()
                .is_some_and(|r| r.starts_with("Payroll-strict"))
        })
        .collect();
    assert_eq!(
        strict_paid.len(),
        payees.len(),
        "each payee paid once by the strict run"
    );
    assert!(status(&h, "run_strict").await.contains("retry by"));
}

/// A commit the provider refuses with a 400 (here the sandbox's, before its handler runs) is
/// never final on the strength of the error: the transfer is read back, still waits for its
/// commit, and is committed; every payee is paid once and the run succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_commit_is_looked_up_and_decided_by_the_transfer_s_state() {
    let h = Harness::start(fault(
        "POST /whalestack/api/v1/transfer/commit",
        FaultKind::Error { status: 400 },
        3,
    ))
    .await;
    let (csv, payees) = h.payroll(6);
    let args = Harness::payroll_run("run_refused_commit", &csv);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.sluice(&args, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    h.assert_paid_exactly_once(&payees);
    let shown = status(&h, "run_refused_commit").await;
    assert!(shown.contains("6 items: 6 succeeded"), "{shown}");
}

/// A run whose record says some payments failed although their money moved (what a lost race
/// between two processes recorded before the commit was fenced): `retry --failed` looks each
/// of them up, records it as succeeded, and sends nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_failed_looks_up_payments_that_moved_and_never_pays_twice() {
    let h = Harness::start(Faults::default()).await;
    let (csv, payees) = h.payroll(5);
    let args = Harness::payroll_run("run_misrecorded", &csv);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.sluice(&args, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    h.assert_paid_exactly_once(&payees);

    // Two paid items recorded as refused, as the losing process of the race recorded them, and
    // the step failed for them.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", h.db().display()))
        .await
        .unwrap();
    let changed = sqlx::query(
        "UPDATE step_runs SET state = 'failed', error_class = 'rejected', \
         error_message = 'ws rejected the request (HTTP 400): transfer is PROCESSING, not \
         PENDING_API_COMMIT', output_json = NULL \
         WHERE run_id = 'run_misrecorded' AND step_id = 'pay' \
           AND item_key IN ('', 'E0001', 'E0003')",
    )
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(changed, 3);
    sqlx::query("UPDATE runs SET status = 'failed' WHERE id = 'run_misrecorded'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let out = h
        .command(
            &["retry", "run_misrecorded", "--failed", "--as", "ops"],
            None,
        )
        .env("RUST_LOG", "sluice=info")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("looked up there before anything is sent again"),
        "{}",
        text(&out)
    );
    assert_eq!(
        text(&out)
            .matches("Found at the provider; recorded as succeeded without sending it again")
            .count(),
        2,
        "{}",
        text(&out)
    );
    h.assert_paid_exactly_once(&payees);
    let shown = status(&h, "run_misrecorded").await;
    assert!(shown.contains("5 items: 5 succeeded"), "{shown}");
}

/// An object at the provider that no record names (paid outside the engine) never clears by a
/// match: an operator dismisses the case with a reason, and `status` shows who and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_dismisses_a_discrepancy_and_status_shows_who_and_why() {
    let h = Harness::start(Faults::default()).await;
    let (csv, _) = h.payroll(2);
    let args = Harness::payroll_run("run_outside", &csv);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.sluice(&args, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    {
        // What `serve`'s reconciliation records (its own test runs that path).
        let store = open_store(h.db().to_str().unwrap(), Durability::Full)
            .await
            .unwrap();
        let found = NewDiscrepancy {
            key: StepKey::item("run_outside", "pay", "E0002"),
            kind: DiscrepancyKind::UnknownToSluice,
            provider_ref: "tr_outside".into(),
            detail: "the provider holds an object with this payment's marker".into(),
        };
        assert!(store.record_discrepancy(&found).await.unwrap());
    }
    let shown = status(&h, "run_outside").await;
    assert!(
        shown.contains("  #1 pay[E0002] unknown_to_sluice (tr_outside): "),
        "{shown}"
    );
    assert!(
        shown.contains("`sluice dismiss run_outside ID --reason TEXT`"),
        "{shown}"
    );

    let out = h.sluice(&["dismiss", "run_outside", "1"], None).await;
    assert_eq!(out.status.code(), Some(2), "a dismissal needs a reason");
    let out = h
        .sluice(&["dismiss", "run_outside", "7", "--reason", "x"], None)
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("run `run_outside` has no open discrepancy 7"),
        "{}",
        text(&out)
    );
    let dismiss = [
        "dismiss",
        "run_outside",
        "1",
        "--as",
        "carol",
        "--reason",
        "paid by hand on purpose, ticket 812",
    ];
    let out = h.sluice(&dismiss, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let shown = status(&h, "run_outside").await;
    assert!(!shown.contains("reconciliation discrepancies"), "{shown}");
    assert!(!shown.contains("sluice dismiss"), "{shown}");
    assert!(
        shown.contains(
            "dismiss_discrepancy pay[E0002] by carol: paid by hand on purpose, ticket 812"
        ),
        "{shown}"
    );
    // Dismissed already: nothing to dismiss.
    let out = h.sluice(&dismiss, None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("already cleared or dismissed"),
        "{}",
        text(&out)
    );
}
