//! Card data and personal data (README, *Sensitive data*): sentinel card data and a
//! sentinel IBAN pushed through every command, the checkpoint database (WAL included) and a
//! plan file never appear in the clear; the changed-request check still sees an edited card;
//! the files sluice makes are private; providers' answers are kept with personal fields
//! redacted.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use sluice::sandbox::Faults;
use sqlx::{Connection, Row, SqliteConnection};

use crate::engine::harness::{Harness, text};
use crate::support::root;

const CARD: &str = "4111223344556671";
/// The same card with other middle digits: its masked form is the same.
const EDITED_CARD: &str = "4111100000016671";
const CVC: &str = "7391";
const IBAN: &str = "DE52SENT1NEL0000077123";
const WORKFLOW: &str = "tests/fixtures/sensitive/card-and-iban.yaml";

/// Where a sentinel shows in the clear in `bytes`, if anywhere: the card or the IBAN
/// anywhere, the verification code right after a field name (a bare four-digit number
/// could be part of any id).
fn leaked(bytes: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(bytes).to_ascii_lowercase();
    if text.contains(CARD) {
        return Some("card number");
    }
    if text.contains(&IBAN.to_ascii_lowercase()) {
        return Some("iban");
    }
    let cvc_after_name = text.match_indices("cvc").any(|(i, _)| {
        let window = &text[i..text.len().min(i + 16)];
        window.contains(CVC)
    });
    cvc_after_name.then_some("verification code")
}

fn assert_clean(what: &str, bytes: &[u8]) {
    if let Some(sentinel) = leaked(bytes) {
        panic!(
            "{what} shows the {sentinel} in the clear:\n{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn sluice(h: &Harness, db: &Path, args: &[&str], failpoints: Option<&str>) -> Output {
    let mut cmd = h.command(args, failpoints);
    cmd.env("SLUICE_DB", db).env("RUST_LOG", "debug");
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// The database file and its WAL, as bytes.
fn database_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).unwrap();
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    if let Ok(more) = std::fs::read(wal) {
        bytes.extend(more);
    }
    bytes
}

#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_and_iban_sentinels_never_appear_in_the_clear() {
    let h = Harness::start(Faults::default()).await;
    let db = h.dir.path().join("state/.sluice/sluice.db");
    let plan_file = h.dir.path().join("plan.json");

    let out = sluice(&h, &db, &["validate", WORKFLOW], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("warning[W004]: step `charge` holds card data in `with.source.number`, `with.source.cvc`"), "{}", text(&out));
    assert_clean("validate", text(&out).as_bytes());

    for format in ["text", "markdown", "json"] {
        let plan_out = plan_file.display().to_string();
        let args = ["plan", WORKFLOW, "--format", format, "--out", &plan_out];
        let out = sluice(&h, &db, &args, None).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(text(&out).contains("4111 •••• •••• 6671"), "{}", text(&out));
        assert_clean(&format!("plan --format {format}"), text(&out).as_bytes());
    }
    assert_clean("the plan file", &std::fs::read(&plan_file).unwrap());
    assert_eq!(mode(&plan_file), 0o600);

    // Killed right after the charge's answer is recorded: the WAL holds the latest pages.
    let run = ["run", WORKFLOW, "--run-id", "run_sensitive"];
    let out = sluice(&h, &db, &run, Some("after_record=return")).await;
    assert!(
        text(&out).contains("failpoint `after_record` hit"),
        "{}",
        text(&out)
    );
    assert_clean("run (debug logs)", text(&out).as_bytes());
    assert!(Path::new(&format!("{}-wal", db.display())).exists());
    assert_clean("the database and its WAL", &database_bytes(&db));
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&PathBuf::from(format!("{}-wal", db.display()))), 0o600);
    assert_eq!(
        mode(&PathBuf::from(format!("{}.lock", db.display()))),
        0o600
    );
    assert_eq!(mode(db.parent().unwrap()), 0o700);

    let out = sluice(&h, &db, &["resume", "run_sensitive"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_clean("resume (debug logs)", text(&out).as_bytes());
    let out = sluice(&h, &db, &["status", "run_sensitive", "--items"], None).await;
    assert_clean("status", text(&out).as_bytes());
    assert_clean("the database", &database_bytes(&db));

    // The payout's answer is kept with the payee's bank account and contact redacted, and
    // its id, state and amount intact.
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let row = sqlx::query("SELECT output_json FROM step_runs WHERE step_id = 'payout'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let output: serde_json::Value =
        serde_json::from_str(&row.get::<String, _>("output_json")).unwrap();
    let recipient = &output["raw"]["recipient"];
    assert_eq!(recipient["bank_account"], "***", "{output}");
    assert_eq!(recipient["email"], "***", "{output}");
    assert_eq!(output["raw"]["metadata"]["payee_ref"], "***", "{output}");
    assert_eq!(output["amount"], "40.00", "{output}");
    assert!(output["id"].as_str().is_some_and(|id| !id.is_empty()));
}

#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_card_is_still_a_changed_request_on_resume() {
    let h = Harness::start(Faults::default()).await;
    let db = h.db();
    let original = std::fs::read_to_string(root().join(WORKFLOW)).unwrap();
    let workflow = h.dir.path().join("card.yaml");
    std::fs::write(&workflow, &original).unwrap();
    let path = workflow.display().to_string();

    let run = ["run", path.as_str(), "--run-id", "run_card"];
    let out = sluice(&h, &db, &run, Some("after_dispatch=return")).await;
    assert!(
        text(&out).contains("failpoint `after_dispatch` hit"),
        "{}",
        text(&out)
    );

    // Only masked digits change: the stored (masked) requests look the same, the digests do not.
    std::fs::write(&workflow, original.replace(CARD, EDITED_CARD)).unwrap();
    let resume = ["resume", "run_card", "--allow-changed"];
    let out = sluice(&h, &db, &resume, None).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let out = sluice(&h, &db, &["status", "run_card", "--items"], None).await;
    assert!(
        text(&out).contains("the request changed since it was sent (`(masked data)`)"),
        "{}",
        text(&out)
    );
    assert_clean("status", text(&out).as_bytes());
    assert!(!text(&out).contains(EDITED_CARD), "{}", text(&out));
}

#[test]
fn raw_cards_can_be_refused() {
    let file = root().join("tests/fixtures/sensitive/card-refused.yaml");
    let out = crate::support::sluice(&["validate", file.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        crate::support::transcript(&out)
    );
    let shown = crate::support::transcript(&out);
    assert!(
        shown.contains("error[E034]: step `charge` holds card data"),
        "{shown}"
    );
    assert!(!shown.contains("4000056655665556"), "{shown}");
}

#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_finished_runs_keeps_their_audit_and_leaves_unfinished_runs() {
    let h = Harness::start(Faults::default()).await;
    let db = h.db();
    let run = |id: &'static str| ["run", WORKFLOW, "--run-id", id];
    let out = sluice(&h, &db, &run("run_done"), None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Killed after dispatching the charge: unfinished, its lease held by a dead process.
    let out = sluice(&h, &db, &run("run_open"), Some("after_dispatch=return")).await;
    assert!(
        text(&out).contains("failpoint `after_dispatch` hit"),
        "{}",
        text(&out)
    );

    let tomorrow = (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339();
    let prune = ["prune", "--finished-before", &tomorrow, "--keep-audit"];
    let out = sluice(&h, &db, &prune, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("pruned 1 run (2 audit rows kept)"),
        "{}",
        text(&out)
    );

    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    for (table, sql) in [
        ("runs", "SELECT COUNT(*) FROM runs WHERE id = 'run_done'"),
        (
            "step_runs",
            "SELECT COUNT(*) FROM step_runs WHERE run_id = 'run_done'",
        ),
        (
            "attempts",
            "SELECT COUNT(*) FROM attempts WHERE run_id = 'run_done'",
        ),
        (
            "run_inputs",
            "SELECT COUNT(*) FROM run_inputs WHERE run_id = 'run_done'",
        ),
    ] {
        assert_eq!(count(sql).fetch_one(&mut conn).await.unwrap(), 0, "{table}");
    }
    let audit = sqlx::query(
        "SELECT step_id, amount, asset, provider_ref, final_state FROM payment_audit \
         WHERE run_id = 'run_done' ORDER BY step_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let rows: Vec<(String, String, String, String)> = audit
        .iter()
        .map(|r| {
            (
                r.get("step_id"),
                r.get("amount"),
                r.get("asset"),
                r.get("final_state"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "charge".into(),
                "12.50".into(),
                "AED".into(),
                "succeeded".into()
            ),
            (
                "payout".into(),
                "40.00".into(),
                "USD".into(),
                "succeeded".into()
            ),
        ]
    );
    assert!(
        audit
            .iter()
            .all(|r| r.get::<Option<String>, _>("provider_ref").is_some())
    );
    conn.close().await.unwrap();

    // The unfinished run was not touched: it resumes from its checkpoints and finishes.
    let out = sluice(&h, &db, &["resume", "run_open"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_clean("the database", &database_bytes(&db));
}

#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_inputs_are_stored_masked_and_a_resume_must_be_given_them_again() {
    let h = Harness::start(Faults::default()).await;
    let db = h.dir.path().join("state/sluice.db");
    let file = root().join("tests/fixtures/sensitive/card-input.yaml");
    let workflow = file.display().to_string();
    let number = format!("card_number={CARD}");
    let cvc = format!("cvc={CVC}");
    let inputs = ["-i", number.as_str(), "-i", cvc.as_str()];
    let mut run = vec!["run", workflow.as_str(), "--run-id", "run_card_input"];
    run.extend(inputs);

    // Killed between the dispatch record and the send: the inputs are in the store only
    // masked, so another process cannot continue the run without them.
    let out = sluice(&h, &db, &run, Some("after_dispatch=return")).await;
    assert!(
        text(&out).contains("failpoint `after_dispatch` hit"),
        "{}",
        text(&out)
    );
    assert_clean("run", text(&out).as_bytes());
    assert_clean("the database and its WAL", &database_bytes(&db));
    let out = sluice(&h, &db, &["resume", "run_card_input"], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("carry card data, which is not stored"),
        "{}",
        text(&out)
    );
    assert!(charges(&h).is_empty(), "{:?}", charges(&h));

    // Other inputs are not taken for them; the ones it started with are.
    let other = format!("card_number={EDITED_CARD}");
    let wrong = ["resume", "run_card_input", "-i", &other, "-i", &cvc];
    let out = sluice(&h, &db, &wrong, None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not the ones run"), "{}", text(&out));
    let mut resume = vec!["resume", "run_card_input"];
    resume.extend(inputs);
    let out = sluice(&h, &db, &resume, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_clean("resume", text(&out).as_bytes());
    assert_clean("the database and its WAL", &database_bytes(&db));
    assert_eq!(charges(&h).len(), 1, "{:?}", charges(&h));

    // `--detach` cannot hand card inputs to a worker.
    let mut detach = vec!["run", workflow.as_str(), "--detach"];
    detach.extend(inputs);
    let out = sluice(&h, &db, &detach, None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no `serve` worker"), "{}", text(&out));
}

/// The sandbox's White charges captured.
fn charges(h: &Harness) -> Vec<sluice::sandbox::LedgerEntry> {
    let ledger = h.sandbox.ledger().into_iter();
    ledger.filter(|e| e.kind == "charge.capture").collect()
}
