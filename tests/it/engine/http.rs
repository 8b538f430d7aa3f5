//! `http.request` end to end, the real binary against the sandbox's generic API: a batch
//! killed at every point of the write protocol and resumed creates each object exactly
//! once with its exact amount; writes refused with 5xx are decided by their lookup and land
//! once; an answer lost with no lookup stops for an operator, never sent twice on a guess.

use serde_json::Value;
use sluice::catalog::ProviderKind;
use sluice::sandbox::Faults;

use super::harness::{Harness, Payee, text};

/// Where the `record` step posts, in the example workflow.
const RECORD_PATH: &str = "path: /objects\n      json:";

/// The example workflow pointed at the sandbox, with `edits`, and fast retries.
fn workflow(h: &Harness, file: &str, edits: &[(&str, &str)]) -> String {
    let base = h.sandbox.base_url(ProviderKind::Http);
    let mut all = vec![
        (
            "${LEDGER_BASE_URL:-http://127.0.0.1:8788/http}",
            base.as_str(),
        ),
        (
            "\nsteps:\n",
            "\ndefaults:\n  retry: { max_attempts: 5, initial: 10ms, max: 50ms }\n\nsteps:\n",
        ),
    ];
    all.extend_from_slice(edits);
    h.variant("ledger-export.yaml", file, &all)
}

fn run_args(file: &str, run_id: &str, csv: &std::path::Path) -> Vec<String> {
    let input = format!("rows=@{}", csv.display());
    ["run", file, "--run-id", run_id, "--input", &input]
        .map(String::from)
        .to_vec()
}

/// The generic API's objects, oldest first: its ledger.
async fn objects(h: &Harness) -> Vec<Value> {
    let url = format!("{}/objects", h.sandbox.base_url(ProviderKind::Http));
    let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    let list: Value = serde_json::from_slice(&bytes).unwrap();
    list["objects"].as_array().unwrap().clone()
}

/// Every payee has exactly one object, with exactly its amount (a JSON number with the
/// CSV's digits), and there are no others.
async fn assert_recorded_exactly_once(h: &Harness, payees: &[Payee]) {
    let all = objects(h).await;
    for p in payees {
        let mine: Vec<&Value> = all.iter().filter(|o| o["ref"] == p.id.as_str()).collect();
        assert_eq!(mine.len(), 1, "{} has {} objects", p.id, mine.len());
        assert_eq!(
            mine[0]["amount"].to_string(),
            p.amount.to_string(),
            "{}",
            p.id
        );
    }
    assert_eq!(all.len(), payees.len());
}

#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_killed_at_every_protocol_point_records_each_row_exactly_once() {
    for fp in [
        "before_dispatch",
        "after_dispatch",
        "after_send",
        "after_record",
    ] {
        let h = Harness::start(Faults::default()).await;
        let (csv, payees) = h.payroll(60);
        let file = workflow(&h, "ledger.yaml", &[]);
        let run_id = format!("run_http_{fp}");
        let args = run_args(&file, &run_id, &csv);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = h.sluice(&args, Some(&format!("{fp}=20*off->return"))).await;
        assert!(
            text(&out).contains(&format!("failpoint `{fp}` hit")),
            "{fp}: {}",
            text(&out)
        );
        let mut finished = false;
        for _ in 0..5 {
            let out = h.sluice(&["resume", &run_id], None).await;
            if out.status.code() == Some(0) || text(&out).contains("already finished") {
                finished = true;
                break;
            }
        }
        assert!(finished, "{fp}: the run did not finish");
        assert_recorded_exactly_once(&h, &payees).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_refused_with_5xx_are_looked_up_and_land_once() {
    let h = Harness::start(Faults::default()).await;
    let (csv, payees) = h.payroll(12);
    let file = workflow(
        &h,
        "failing.yaml",
        &[(RECORD_PATH, "path: /fail/2/objects\n      json:")],
    );
    let args = run_args(&file, "run_http_failing", &csv);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.sluice(&args, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_recorded_exactly_once(&h, &payees).await;
    // Each row: two 503s, each followed by a lookup that found nothing, then the create.
    let requests = h.sandbox.requests();
    let lookups = requests
        .iter()
        .filter(|r| r.path.starts_with("/http/objects/by-ref/") && r.status == 404)
        .count();
    assert_eq!(lookups, 2 * payees.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_without_a_lookup_needs_an_operator() {
    let h = Harness::start(Faults::default()).await;
    let (csv, payees) = h.payroll(3);
    let lookup = "      lookup: { method: GET, path: \"/objects/by-ref/{{request.json.ref}}\" }\n";
    let file = workflow(
        &h,
        "blind.yaml",
        &[
            (RECORD_PATH, "path: /lose/1/objects\n      json:"),
            (lookup, ""),
        ],
    );
    let args = run_args(&file, "run_http_blind", &csv);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.sluice(&args, None).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let status = h
        .sluice(&["status", "run_http_blind", "--items"], None)
        .await;
    let shown = text(&status);
    assert!(shown.contains("needs_attention"), "{shown}");
    assert!(shown.contains("has no `lookup`"), "{shown}");
    // Each was applied once, and nothing was sent again on a guess.
    assert_recorded_exactly_once(&h, &payees).await;
}
