//! *Resume* on a run's page: a payroll killed mid-way is continued by the console's own
//! process, through the engine as `sluice resume` would, and the sandbox's ledger shows every
//! payee paid exactly once; a second click while it runs starts nothing and is not recorded.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use sluice::ids::RunId;
use sluice::sandbox::{FaultRule, Faults};
use sluice::store::{ActionKind, Durability, RunStatus, open_store};

use super::support::{Browser, Door, Site, run_in_doubt};
use crate::engine::harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_from_the_console_finishes_a_stopped_run_and_pays_each_payee_once() {
    // Commits take a while, so the run is killed mid-batch (SIGKILL: its lease is left held
    // by a process that is gone).
    let slow = "latency=50ms@POST */transfer/commit"
        .parse::<FaultRule>()
        .unwrap();
    let h = Harness::start(Faults {
        routes: vec![slow],
        ..Faults::default()
    })
    .await;
    let (csv, payees) = h.payroll(300);
    let args = Harness::payroll_run("run_resumed", &csv);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut run = h.command(&args, None).spawn().unwrap();
    while h.transfers().len() < 16 {
        assert!(run.try_wait().unwrap().is_none(), "the run ended early");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    run.kill().unwrap();
    run.wait().unwrap();
    assert!(
        h.transfers().len() < payees.len(),
        "the run was not stopped mid-way"
    );

    let mut console = h.command(&["console", "--listen", "127.0.0.1:0"], None);
    console
        .env("USER", "lee")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = console.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.strip_prefix("console: ").expect(&first);
    let mut b = Browser {
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        cookie: None,
        base: url.trim_end_matches('/').to_owned(),
        extra: HeaderMap::new(),
    };

    let page = b.get("/runs/run_resumed").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("/runs/run_resumed/resume"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("reason", "the payroll process stopped"),
    ];
    let unguarded = b
        .post("/runs/run_resumed/resume", &[("reason", "no token")])
        .await;
    assert_eq!(unguarded.status, StatusCode::FORBIDDEN);
    let resumed = b.post("/runs/run_resumed/resume", &form).await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER, "{}", resumed.body);
    assert_eq!(resumed.location(), "/runs/run_resumed");
    // Held by the first click's engine, or finished by it already: either way refused.
    let again = b.post("/runs/run_resumed/resume", &form).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(
        again.body.contains("is held by") || again.body.contains("already finished"),
        "{}",
        again.body
    );

    let store = open_store(h.db().to_str().unwrap(), Durability::Full)
        .await
        .unwrap();
    let run_id = RunId::from("run_resumed");
    let mut status = RunStatus::Running;
    for _ in 0..1200 {
        status = store.load_run(&run_id).await.unwrap().status;
        if status.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, RunStatus::Succeeded);
    h.assert_paid_exactly_once(&payees);
    let resumes: Vec<_> = store
        .list_operator_actions(&run_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action.kind == ActionKind::Resume)
        .collect();
    assert_eq!(resumes.len(), 1, "{resumes:?}");
    assert_eq!(resumes[0].action.actor, "lee");
    assert_eq!(
        resumes[0].action.reason.as_deref(),
        Some("the payroll process stopped")
    );
    let run_page = b.get("/runs/run_resumed").await;
    assert!(run_page.body.contains("resume"), "{}", run_page.body);
    assert!(
        !run_page.body.contains("/runs/run_resumed/resume"),
        "a finished run offers no resume"
    );
    child.kill().unwrap();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_that_cannot_continue_runs_says_to_use_sluice_resume() {
    let site = Site::start(Door::Local).await;
    let key = run_in_doubt(&*site.store, 2).await;
    let mut b = site.browser();
    let page = b.get("/runs/run_doubt").await;
    assert!(
        page.body.contains("/runs/run_doubt/resume"),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    let refused = b
        .post(
            "/runs/run_doubt/resume",
            &[("csrf", csrf.as_str()), ("reason", "go on")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused.body.contains("sluice resume run_doubt"),
        "{}",
        refused.body
    );
    let actions = site.store.list_operator_actions(&key.run_id).await.unwrap();
    assert!(actions.is_empty(), "{actions:?}");
}
