//! `sluice schedule list`: the next fire times in each workflow's zone and in UTC, pinned
//! with the hidden `--now`.

use crate::support::{sluice, transcript};

const FIXTURES: &str = "tests/it/schedule/fixtures";

#[test]
fn list_shows_the_next_fire_times_and_reports_invalid_files() {
    let out = sluice(&[
        "schedule",
        "list",
        FIXTURES,
        "--now",
        "2026-03-27T12:00:00Z",
        "--count",
        "3",
    ]);
    let text = transcript(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("error[E014]"), "{text}");
    insta::assert_snapshot!("list_fixtures", text);
}

#[test]
fn list_of_the_example_workflows() {
    let out = sluice(&["schedule", "list", "--now", "2026-10-22T00:00:00Z"]);
    let text = transcript(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    insta::assert_snapshot!("list_examples", text);
}

#[test]
fn list_of_a_directory_without_workflows_is_an_error() {
    let out = sluice(&["schedule", "list", "docs"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: no workflow files (`*.yaml`, `*.yml`) in `docs`\n"
    );
}
