//! Approval policies end to end: four eyes (no self-approval, distinct approvers), an allow
//! list, a `when` threshold, a timeout, and a denial; each decision recorded and shown.

use std::process::Output;

use sluice::sandbox::Faults;

use super::harness::{Harness, text};

/// The payroll with a `sign_off` approval before `pay`, its `with` given as YAML flow text.
fn approved_payroll(h: &Harness, with: &str) -> String {
    h.variant(
        "payroll.yaml",
        "approved-payroll.yaml",
        &[(
            "  - id: pay\n    uses: transfer\n    needs: [check_budget]",
            &format!(
                "  - id: sign_off\n    uses: approval\n    needs: [check_budget]\n    with: {with}\n\n  - id: pay\n    uses: transfer\n    needs: [sign_off]"
            ),
        )],
    )
}

const FOUR_EYES: &str = "{ message: \"Treasury sign-off\", min_approvals: 2, allow_self_approval: false, approvers: [alice, bob, carol] }";

async fn start(h: &Harness, workflow: &str, run: &str, starter: &str, payees: usize) -> Output {
    let (csv, _) = h.payroll(payees);
    let input = format!("payees=@{}", csv.display());
    h.sluice(
        &[
            "run", workflow, "--run-id", run, "--input", &input, "--as", starter,
        ],
        None,
    )
    .await
}

async fn approve(h: &Harness, run: &str, who: &str) -> Output {
    h.sluice(
        &[
            "approve", run, "sign_off", "--as", who, "--reason", "checked",
        ],
        None,
    )
    .await
}

async fn status(h: &Harness, run: &str) -> String {
    text(&h.sluice(&["status", run], None).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_eyes_refuses_the_starter_a_stranger_and_a_second_vote() {
    let h = Harness::start(Faults::default()).await;
    let workflow = approved_payroll(&h, FOUR_EYES);
    let out = start(&h, &workflow, "run_4eyes", "bob", 3).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    let out = approve(&h, "run_4eyes", "bob").await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`bob` started this run"),
        "{}",
        text(&out)
    );
    let out = approve(&h, "run_4eyes", "mallory").await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`mallory` is not one of the approvers (alice, bob, carol)"),
        "{}",
        text(&out)
    );

    let out = approve(&h, "run_4eyes", "alice").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let progress = "1 of 2 approvals: alice; waiting for one more, not bob";
    assert!(text(&out).contains(progress), "{}", text(&out));
    let out = h.sluice(&["resume", "run_4eyes"], None).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(h.transfers().is_empty(), "paid after one approval of two");
    let shown = status(&h, "run_4eyes").await;
    assert!(shown.contains(progress), "{shown}");
    assert!(shown.contains(" by bob\n"), "{shown}");

    let out = approve(&h, "run_4eyes", "alice").await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`alice` has already approved"),
        "{}",
        text(&out)
    );

    let out = approve(&h, "run_4eyes", "carol").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = h.sluice(&["resume", "run_4eyes"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(h.transfers().len(), 3);

    let shown = status(&h, "run_4eyes").await;
    assert!(
        shown.contains("approve sign_off by alice: checked"),
        "{shown}"
    );
    assert!(
        shown.contains("approve sign_off by carol: checked"),
        "{shown}"
    );
    let runs = text(&h.sluice(&["runs"], None).await);
    assert!(
        runs.lines()
            .any(|l| l.starts_with("run_4eyes") && l.ends_with(" bob")),
        "{runs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_fails_the_step_and_the_run_and_pays_nothing() {
    let h = Harness::start(Faults::default()).await;
    let workflow = approved_payroll(&h, FOUR_EYES);
    let out = start(&h, &workflow, "run_denied", "bob", 2).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    let out = h
        .sluice(&["deny", "run_denied", "sign_off", "--as", "carol"], None)
        .await;
    assert_eq!(out.status.code(), Some(2), "a denial needs a reason");
    let out = h
        .sluice(
            &[
                "deny",
                "run_denied",
                "sign_off",
                "--as",
                "mallory",
                "--reason",
                "no",
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = h
        .sluice(
            &[
                "deny",
                "run_denied",
                "sign_off",
                "--as",
                "carol",
                "--reason",
                "payee E0002 is not on the list",
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let shown = status(&h, "run_denied").await;
    assert!(shown.contains("run_denied (payroll): failed"), "{shown}");
    assert!(
        shown.contains("denied by carol: payee E0002 is not on the list"),
        "{shown}"
    );
    assert!(
        shown.contains("deny sign_off by carol: payee E0002 is not on the list"),
        "{shown}"
    );
    let out = approve(&h, "run_denied", "alice").await;
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let out = h.sluice(&["resume", "run_denied"], None).await;
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(h.transfers().is_empty(), "paid after a denial");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_is_asked_only_above_its_threshold() {
    let h = Harness::start(Faults::default()).await;
    let workflow = approved_payroll(
        &h,
        "{ message: \"large payroll\", when: \"{{gt (sum inputs.payees 'amount') '50.00'}}\" }",
    );
    // Three payees of 11.13, 21.26 and 31.39: 63.78 is above 50.00.
    let out = start(&h, &workflow, "run_large", "bob", 3).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    // One payee of 11.13 is not.
    let out = start(&h, &workflow, "run_small", "bob", 1).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(h.transfers().len(), 1);

    let (csv, _) = h.payroll(3);
    let plan = h
        .sluice(
            &[
                "plan",
                &workflow,
                "--input",
                &format!("payees=@{}", csv.display()),
            ],
            None,
        )
        .await;
    assert!(
        text(&plan).contains("1 distinct approval"),
        "{}",
        text(&plan)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_approval_times_out_as_its_policy_says() {
    let h = Harness::start(Faults::default()).await;
    let fails = approved_payroll(&h, "{ min_approvals: 2, timeout: 1s }");
    let out = start(&h, &fails, "run_timeout", "bob", 1).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let out = approve(&h, "run_timeout", "alice").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Past the deadline, a resume ends the wait.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let out = h.sluice(&["resume", "run_timeout"], None).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = status(&h, "run_timeout").await;
    assert!(
        shown.contains("no approval within 1s: 1 of 2 approvals: alice"),
        "{shown}"
    );
    assert!(h.transfers().is_empty());

    let goes_on = approved_payroll(&h, "{ timeout: 1s, on_timeout: continue }");
    let out = start(&h, &goes_on, "run_goes_on", "bob", 1).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let out = h.sluice(&["resume", "run_goes_on"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(h.transfers().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_policy_is_refused_with_its_place_in_the_file() {
    let h = Harness::start(Faults::default()).await;
    let workflow = approved_payroll(&h, "{ min_approvals: 0, on_timeout: retry }");
    let out = h.sluice(&["validate", &workflow], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`min_approvals` must be a whole number of at least 1"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("approved-payroll.yaml:"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_of_the_users_file_admits_its_members_and_nobody_else() {
    let h = Harness::start(Faults::default()).await;
    let users = h.dir.path().join("users.yaml");
    std::fs::write(
        &users,
        "users:\n  - { name: ana, role: approver, groups: [treasury] }\n  - { name: otto, role: approver, groups: [sales] }\n",
    )
    .unwrap();
    let policy = "{ message: \"Treasury sign-off\", approvers: [\"@treasury\"] }";
    let workflow = approved_payroll(&h, policy);
    let out = start(&h, &workflow, "run_group", "bob", 2).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    let users = users.display().to_string();
    let approve_as = |who: &'static str| {
        let users = users.clone();
        let h = &h;
        async move {
            let args = [
                "approve",
                "run_group",
                "sign_off",
                "--as",
                who,
                "--users",
                &users,
            ];
            h.sluice(&args, None).await
        }
    };
    // Not in the group, and without the users file nobody's groups are known.
    let out = approve_as("otto").await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`otto` is not one of the approvers (@treasury)"),
        "{}",
        text(&out)
    );
    let out = approve(&h, "run_group", "ana").await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let out = approve_as("ana").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = h.sluice(&["resume", "run_group"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(h.transfers().len(), 2);
    assert!(
        status(&h, "run_group")
            .await
            .contains("approve sign_off by ana")
    );
}
