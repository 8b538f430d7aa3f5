//! `sluice plan` (issue 7): snapshots of every example workflow in every format, problems
//! and warnings, `--diff`, secrets, isolation from the providers, and `run --plan`.

mod apply;
mod diff;
mod isolation;

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{root, transcript};

/// Variables the example workflows read; removed so that output does not depend on the
/// machine's environment.
pub const PROVIDER_ENV: &[&str] = &[
    "WHALESTACK_BASE_URL",
    "WHALESTACK_API_KEY",
    "WHALESTACK_API_SECRET",
    "WHITE_BASE_URL",
    "WHITE_SECRET_KEY",
    "WHITESTONES_BASE_URL",
    "WHITESTONES_API_KEY",
    "WHITESTONES_API_SECRET",
    "WHITEPAY_BASE_URL",
    "WHITEPAY_TOKEN",
];

/// `sluice ARGS` run in `dir`, without colour and without provider variables.
pub fn sluice_in(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    for var in PROVIDER_ENV {
        cmd.env_remove(var);
    }
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("the sluice binary runs")
}

/// The example workflows, by file stem, with the inputs each needs.
pub fn examples() -> Vec<(String, Vec<String>)> {
    let mut stems: Vec<String> = std::fs::read_dir(root().join("workflows"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".yaml").map(String::from))
        .collect();
    stems.sort();
    assert!(stems.len() >= 4, "{stems:?}");
    stems
        .into_iter()
        .map(|stem| {
            let inputs = match stem.as_str() {
                "payroll" => vec![
                    "--input".into(),
                    "payees=@workflows/data/payroll.csv".into(),
                ],
                _ => Vec::new(),
            };
            (stem, inputs)
        })
        .collect()
}

#[test]
fn every_example_workflow_plans_the_same_way_in_every_format() {
    for (stem, inputs) in examples() {
        for format in ["text", "markdown", "json"] {
            let file = format!("workflows/{stem}.yaml");
            let mut args = vec!["plan", file.as_str(), "--format", format];
            args.extend(inputs.iter().map(String::as_str));
            let out = output(&mut sluice_in(root(), &args));
            assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
            assert!(out.stderr.is_empty(), "{}", transcript(&out));
            let stdout = String::from_utf8(out.stdout).unwrap();
            // Twice the same: nothing in a plan depends on the clock or chance.
            let again = output(&mut sluice_in(root(), &args));
            assert_eq!(String::from_utf8(again.stdout).unwrap(), stdout);
            if format == "json" {
                let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                assert_eq!(plan["format"], "sluice-plan/2");
                assert_eq!(plan["run"]["id"], "(assigned at apply)");
            }
            insta::assert_snapshot!(format!("{stem}-{format}"), stdout);
        }
    }
}

/// A scratch directory holding a copy of the payroll workflow and `files`, so that paths in
/// the output are relative and the same on every machine.
pub fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("workflows/payroll.yaml"),
        dir.path().join("payroll.yaml"),
    )
    .unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

pub const PROBLEM_PAYROLL: &str = "employee_id,name,amount,iban_label
E001,Ada Lovelace,2500.00,Ada Lovelace EUR
E002,Alan Turing,3120.50,Alan Turing EUR
E003,Grace Hopper,2500.00,Ada Lovelace EUR
E002,Alan Turing again,10.00,Alan Turing EUR
E005,Tiny Amount,0.123456789,Tiny EUR
E006,Big Amount,9000.00,Big EUR
";

#[test]
fn problems_are_shown_not_crashed_on_and_exit_2() {
    let dir = scratch(&[
        ("payroll.csv", PROBLEM_PAYROLL),
        ("balances.json", r#"{"EURC": "10000.00"}"#),
    ]);
    for format in ["text", "markdown"] {
        let out = output(&mut sluice_in(
            dir.path(),
            &[
                "plan",
                "payroll.yaml",
                "--input",
                "payees=@payroll.csv",
                "--threshold",
                "5000",
                "--threshold",
                "EURC=3000",
                "--balances",
                "balances.json",
                "--format",
                format,
            ],
        ));
        let text = transcript(&out);
        assert_eq!(out.status.code(), Some(2), "{text}");
        for expected in [
            "elements 2 and 4 have the key `E002`",
            "has 9 decimals but `EURC` allows 7",
            "`pay[E001]`, `pay[E003]` pay 2500.00 EURC to `Ada Lovelace EUR`: a duplicate row?",
            "9000.00 EURC is above the threshold of 3000",
            "the plan sends 17130.50 EURC but the balances snapshot has 10000.00 available",
            "error: the plan has 2 errors",
        ] {
            assert!(
                text.contains(expected),
                "{format}: no {expected:?} in {text}"
            );
        }
        insta::assert_snapshot!(format!("problems-{format}"), text);
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = scratch(&[("bad.json", "[1]")]);
    let cases: [&[&str]; 4] = [
        &["plan", "payroll.yaml"],
        &["plan", "payroll.yaml", "-i", "payees=@nope.csv"],
        &[
            "plan",
            "payroll.yaml",
            "-i",
            "payees=@bad.json",
            "--threshold",
            "1e3",
        ],
        &["plan", "--diff", "bad.json", "bad.json"],
    ];
    for args in cases {
        let out = output(&mut sluice_in(dir.path(), args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", transcript(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error"),
            "{args:?}: {}",
            transcript(&out)
        );
    }
}
