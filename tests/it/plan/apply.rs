//! `sluice run --plan plan.json`: runs exactly the reviewed plan against the sandbox and
//! records its hash with the run; refuses (exit 2, naming what differs) a plan whose CSV,
//! workflow file or provider block changed, or whose file was edited after review.

use std::path::Path;

use sluice::ids::RunId;
use sluice::sandbox::Faults;
use sluice::store::{RunStore, SqliteConfig, SqliteStore};

use crate::engine::harness::{Harness, text};

async fn plan_hash_of(db: &Path, run_id: &str) -> Option<String> {
    let store = SqliteStore::open(SqliteConfig::new(db)).await.unwrap();
    let run = store.load_run(&RunId::from(run_id)).await.unwrap();
    store.close().await;
    run.plan_hash
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_plan_refuses_a_one_character_csv_change_then_runs_the_reviewed_plan() {
    let h = Harness::start(Faults::default()).await;
    let (csv, payees) = h.payroll(12);
    let plan = h.dir.path().join("plan.json");
    let plan_arg = plan.display().to_string();
    let input = format!("payees=@{}", csv.display());
    let out = h
        .sluice(
            &[
                "plan",
                "workflows/payroll.yaml",
                "-i",
                &input,
                "-i",
                "budget=100000000.00",
                "--out",
                &plan_arg,
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let reviewed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let hash = reviewed["plan_hash"].as_str().unwrap().to_string();
    assert_eq!(reviewed["steps"][1]["items"].as_array().unwrap().len(), 12);

    // One character of one amount changes: refused, nothing sent.
    let original = std::fs::read_to_string(&csv).unwrap();
    let first = payees[0].amount.to_string();
    let last = first.chars().last().unwrap();
    let edited_amount = format!(
        "{}{}",
        &first[..first.len() - 1],
        if last == '9' {
            '8'
        } else {
            char::from(last as u8 + 1)
        }
    );
    let edited = original.replacen(&format!(",{first},"), &format!(",{edited_amount},"), 1);
    assert_eq!(edited.len(), original.len());
    assert_ne!(edited, original);
    std::fs::write(&csv, &edited).unwrap();
    let refused = h
        .sluice(
            &["run", "--plan", &plan_arg, "--run-id", "run_plan_refused"],
            None,
        )
        .await;
    let shown = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains(&format!("input `payees` changed (`{}`)", csv.display())),
        "{shown}"
    );
    assert!(!shown.contains("workflow file changed"), "{shown}");
    assert!(
        shown.contains("hint: review a new plan: sluice plan workflows/payroll.yaml"),
        "{shown}"
    );
    assert!(h.transfers().is_empty());

    // Back to the reviewed CSV: the plan runs, exactly once per payee, and the run
    // records the plan it executed.
    std::fs::write(&csv, &original).unwrap();
    let ran = h
        .sluice(
            &["run", "--plan", &plan_arg, "--run-id", "run_plan_ok"],
            None,
        )
        .await;
    assert_eq!(ran.status.code(), Some(0), "{}", text(&ran));
    assert!(
        text(&ran).contains(&format!("matches (hash {hash})")),
        "{}",
        text(&ran)
    );
    h.assert_paid_exactly_once(&payees);
    assert_eq!(plan_hash_of(&h.db(), "run_plan_ok").await, Some(hash));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_plan_names_a_changed_workflow_provider_or_plan_file() {
    let h = Harness::start(Faults::default()).await;
    let workflow = h.fast_workflow("settlement-sweep.yaml");
    let plan = h.dir.path().join("sweep.json");
    let plan_arg = plan.display().to_string();
    let out = h
        .sluice(&["plan", &workflow, "--out", &plan_arg], None)
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Another base URL for the block: refused.
    let mut cmd = h.command(&["run", "--plan", &plan_arg], None);
    cmd.env(
        "WHALESTACK_BASE_URL",
        "http://127.0.0.1:9/whalestack/api/v1",
    );
    let moved = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(moved.status.code(), Some(2), "{}", text(&moved));
    assert!(
        text(&moved).contains("provider `ws` config changed"),
        "{}",
        text(&moved)
    );

    // The plan file edited after review: refused before anything else.
    let reviewed = std::fs::read_to_string(&plan).unwrap();
    let tampered = plan.with_file_name("tampered.json");
    std::fs::write(&tampered, reviewed.replace("250.00", "25.00")).unwrap();
    let tampered_arg = tampered.display().to_string();
    let out = h.sluice(&["run", "--plan", &tampered_arg], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("changed after it was written"),
        "{}",
        text(&out)
    );

    // A plan file of the first format (every request inline): refused, saying why.
    let older = plan.with_file_name("older.json");
    std::fs::write(&older, reviewed.replace("sluice-plan/2", "sluice-plan/1")).unwrap();
    let older_arg = older.display().to_string();
    let out = h.sluice(&["run", "--plan", &older_arg], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(
            "plan format `sluice-plan/1` is not `sluice-plan/2`; make the plan again with this sluice"
        ),
        "{}",
        text(&out)
    );

    // A comment added to the workflow: refused, naming the file.
    let original = std::fs::read_to_string(&workflow).unwrap();
    std::fs::write(&workflow, format!("{original}# reviewed\n")).unwrap();
    let out = h.sluice(&["run", "--plan", &plan_arg], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("the workflow file changed (`{workflow}`)")),
        "{}",
        text(&out)
    );
    assert!(h.sandbox.ledger().iter().all(|e| e.kind == "opening"));

    // As reviewed: the sweep runs end to end.
    std::fs::write(&workflow, original).unwrap();
    let out = h
        .sluice(
            &["run", "--plan", &plan_arg, "--run-id", "run_sweep_plan"],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // `--plan` takes its inputs from the plan.
    let out = h
        .sluice(
            &["run", "--plan", &plan_arg, "--input", "amount=1.00"],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
