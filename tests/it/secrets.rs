//! No secret value appears in any output: a sentinel secret is set in the environment (and
//! written literally in a file) and every command's stdout and stderr is searched for it.

use std::process::Command;

use crate::support::root;

const SENTINEL: &str = "sentinel-env-secret-91d3";

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("SLUICE_TEST_KEY", SENTINEL)
        .env("SLUICE_TEST_SECRET", SENTINEL)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn commands_never_print_environment_secrets() {
    let file = "tests/fixtures/secrets/env-secret.yaml";
    for args in [
        vec!["validate", file],
        vec!["graph", file],
        vec!["graph", file, "--format", "dot"],
    ] {
        let text = run(&args);
        assert!(
            !text.contains(SENTINEL),
            "{args:?} printed the secret: {text}"
        );
        assert!(!text.is_empty(), "{args:?} printed nothing");
    }
    // The broken step is reported, so the check above did look at a diagnostic.
    assert!(run(&["validate", file]).contains("error[E022]"));
}

#[test]
fn a_credential_written_in_the_file_is_flagged_without_printing_it() {
    let text = run(&["validate", "tests/fixtures/secrets/literal-secret.yaml"]);
    assert!(
        text.contains("warning[W003]: `providers.ws.api_secret` is written in the file"),
        "{text}"
    );
    assert!(text.contains("`api_key: ${WS_API_KEY}`"), "{text}");
    assert!(!text.contains("sentinel-literal"), "{text}");
}

#[test]
fn an_http_blocks_credentials_stay_out_of_plans_runs_and_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sluice.db");
    let file = "tests/fixtures/secrets/http-secret.yaml";
    let with_db = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .env("SLUICE_DB", &db)
            .env("SLUICE_TEST_KEY", SENTINEL)
            .env("SLUICE_TEST_SECRET", SENTINEL)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let (code, plan) = with_db(&["plan", file, "--format", "json"]);
    assert_eq!(code, Some(0), "{plan}");
    assert!(plan.contains(r#""Authorization: ***""#), "{plan}");
    assert!(plan.contains(r#""X-Api-Key: ***""#), "{plan}");
    let (code, run) = with_db(&["run", "--sandbox", file, "--run-id", "run_http_secret"]);
    assert_eq!(code, Some(0), "{run}");
    // The sandbox echoed both credentials back; the stored output has them masked.
    let (_, status) = with_db(&["status", "run_http_secret", "--items"]);
    for text in [&plan, &run, &status] {
        assert!(!text.contains(SENTINEL), "printed the secret: {text}");
    }
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(String::from_utf8_lossy(&stored).contains("Bearer ***"));
    assert!(!String::from_utf8_lossy(&stored).contains(SENTINEL));
}
