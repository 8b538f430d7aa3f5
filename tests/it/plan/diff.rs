//! `sluice plan --diff OLD NEW`: items added, removed and changed between two plans.

use super::{output, scratch, sluice_in};
use crate::support::{root, transcript};

#[test]
fn diff_names_added_removed_and_changed_items() {
    let old_csv = std::fs::read_to_string(root().join("workflows/data/payroll.csv")).unwrap();
    let new_csv = old_csv
        .replace("3120.50", "3120.51")
        .replace("E004,Edsger Dijkstra,1999.99,Edsger Dijkstra EUR\n", "")
        .replace("Grace Hopper EUR", "Grace Hopper GBP")
        .replace("E005,Barbara Liskov,0.00", "E005,Barbara Liskov,100.00")
        + "E009,Niklaus Wirth,1500.00,Niklaus Wirth EUR\n";
    let dir = scratch(&[("old.csv", &old_csv), ("new.csv", &new_csv)]);
    for (csv, out) in [("old.csv", "old.json"), ("new.csv", "new.json")] {
        let input = format!("payees=@{csv}");
        let o = output(&mut sluice_in(
            dir.path(),
            &[
                "plan",
                "payroll.yaml",
                "-i",
                &input,
                "--out",
                out,
                "--format",
                "json",
            ],
        ));
        assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(&format!("plan written to `{out}`")),
            "{}",
            transcript(&o)
        );
    }
    let text = output(&mut sluice_in(
        dir.path(),
        &["plan", "--diff", "old.json", "new.json"],
    ));
    assert_eq!(text.status.code(), Some(0), "{}", transcript(&text));
    let shown = String::from_utf8(text.stdout).unwrap();
    for expected in [
        "input `payees` changed",
        "~ pay  transfer (1 added, 1 removed, 3 changed)",
        "+ E009  1500.00 EURC",
        "- E004  1999.99 EURC",
        "~ E002  3120.50 EURC → 3120.51 EURC",
        "~ E003  to Grace Hopper EUR → Grace Hopper GBP",
        "~ E005  0.00 EURC → 100.00 EURC; will skip → will run",
    ] {
        assert!(shown.contains(expected), "no {expected:?} in\n{shown}");
    }
    assert!(
        !shown.contains("E001"),
        "unchanged items are not listed:\n{shown}"
    );
    let markdown = output(&mut sluice_in(
        dir.path(),
        &[
            "plan", "--diff", "old.json", "new.json", "--format", "markdown",
        ],
    ));
    let json = output(&mut sluice_in(
        dir.path(),
        &["plan", "--diff", "old.json", "new.json", "--format", "json"],
    ));
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed["steps"][0]["added"][0]["key"], "E009");
    let same = output(&mut sluice_in(
        dir.path(),
        &["plan", "--diff", "old.json", "old.json"],
    ));
    assert!(String::from_utf8_lossy(&same.stdout).contains("No changes."));
    insta::with_settings!({ snapshot_path => "../snapshots" }, {
        insta::assert_snapshot!("diff-text", shown);
        insta::assert_snapshot!("diff-markdown", String::from_utf8(markdown.stdout).unwrap());
    });
}
