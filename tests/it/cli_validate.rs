//! `sluice validate` and `sluice graph` as a user runs them: exit codes and the exact
//! diagnostics, with file:line:col and carets, for every broken fixture.

use crate::support::{root, sluice, transcript};

fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("tests/fixtures/invalid"))
        .expect("fixtures exist")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_example_workflow_is_valid() {
    let mut args = vec!["validate"];
    let files: Vec<String> = std::fs::read_dir(root().join("workflows"))
        .unwrap()
        .map(|e| format!("workflows/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    assert!(files.len() >= 4, "at least four examples: {files:?}");
    args.extend(files.iter().map(String::as_str));
    let out = sluice(&args);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("valid: ").count(), files.len());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("error"));
}

#[test]
fn every_invalid_fixture_fails_with_exit_2_and_its_code_at_a_line() {
    let names = fixtures();
    assert!(names.len() >= 15, "at least 15 broken fixtures");
    for name in names {
        let path = format!("tests/fixtures/invalid/{name}");
        let out = sluice(&["validate", &path]);
        let text = transcript(&out);
        assert_eq!(out.status.code(), Some(2), "{text}");
        if let Some(code) = name.split('-').next().filter(|c| c.starts_with('e')) {
            let code = code.to_ascii_uppercase();
            assert!(text.contains(&format!("error[{code}]")), "{name}: {text}");
        }
        assert!(
            text.contains(&format!("--> {path}:")),
            "{name} names no place: {text}"
        );
        insta::assert_snapshot!(name.trim_end_matches(".yaml"), text);
    }
}

#[test]
fn many_problems_are_reported_at_once() {
    let out = sluice(&["validate", "tests/fixtures/invalid/many-problems.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for code in ["E010", "E012", "E018", "E019", "E020", "E022"] {
        assert!(
            stderr.contains(&format!("error[{code}]")),
            "{code} missing: {stderr}"
        );
    }
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = sluice(&["validate", "workflows/nope.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read `workflows/nope.yaml`"),
        "{stderr}"
    );
}

#[test]
fn graph_draws_the_settlement_sweep_in_mermaid_and_dot() {
    let out = sluice(&[
        "graph",
        "workflows/settlement-sweep.yaml",
        "--format",
        "mermaid",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    insta::assert_snapshot!(
        "graph-settlement-sweep-mermaid",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = sluice(&["graph", "workflows/payroll.yaml", "--format", "dot"]);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    insta::assert_snapshot!("graph-payroll-dot", String::from_utf8_lossy(&out.stdout));
}

/// The provider's own table decides: a field its adapter cannot carry, a field it requires
/// and an action it lacks all fail `validate`, before `plan` or `run` would meet them.
#[test]
fn validate_checks_each_field_against_the_providers_table() {
    let cases = [
        (
            "e032-no-equivalent",
            "error[E032]: `whitestones` has no equivalent of `network` for `transfer`; send the provider's own field through `extra`",
            "14 |       network: SEPA\n   |       ^^^^^^^",
        ),
        (
            "e019-provider-required",
            "error[E019]: step `pay` (`transfer`) is missing `recipient`",
            "11 |     with:\n   |     ^^^^",
        ),
        (
            "e018-unsupported-by-kind",
            "error[E018]: provider `wp` (whitepay) has no action `transfer`",
            "9 |     uses: transfer\n  |           ^^^^^^^^",
        ),
    ];
    for (name, message, caret) in cases {
        let out = sluice(&["validate", &format!("tests/fixtures/invalid/{name}.yaml")]);
        let text = transcript(&out);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains(message), "{name}: {text}");
        assert!(text.contains(caret), "{name}: {text}");
    }
}

#[test]
fn plan_refuses_a_field_the_provider_lacks_with_the_same_words() {
    let out = sluice(&["plan", "tests/fixtures/invalid/e032-no-equivalent.yaml"]);
    let text = transcript(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(
            "`whitestones` has no equivalent of `network` for `transfer`; send the provider's own field through `extra`"
        ),
        "{text}"
    );
}
