//! Planning cannot reach a provider and never holds a secret: a plan against a live sandbox
//! leaves its ledger and webhook log as they were, a plan pointed at a listening socket
//! opens no connection, and a sentinel secret in the environment appears in no output and
//! no plan file (plans never read credentials, so they also work without them).

use std::net::TcpListener;

use sluice::sandbox::Faults;

use super::{PROVIDER_ENV, examples, output, sluice_in};
use crate::engine::harness::Harness;
use crate::support::{root, transcript};

const FORMATS: [&str; 3] = ["text", "markdown", "json"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_against_a_sandbox_moves_nothing() {
    let h = Harness::start(Faults::default()).await;
    let before = h.sandbox.ledger();
    assert!(!before.is_empty());
    assert!(before.iter().all(|e| e.kind == "opening"), "{before:?}");
    for (stem, inputs) in examples() {
        for format in FORMATS {
            let file = format!("workflows/{stem}.yaml");
            let mut args = vec!["plan", file.as_str(), "--format", format];
            args.extend(inputs.iter().map(String::as_str));
            let out = h.sluice(&args, None).await;
            assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
            // The plan shows the sandbox's URL: it really was pointed at it.
            if format == "text" {
                let shown = String::from_utf8_lossy(&out.stdout);
                assert!(shown.contains(&h.sandbox.origin()), "{shown}");
            }
        }
    }
    assert_eq!(h.sandbox.ledger(), before);
    assert!(h.sandbox.deliveries().is_empty());
}

#[test]
fn a_plan_opens_no_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    for (stem, inputs) in examples() {
        let file = format!("workflows/{stem}.yaml");
        let mut args = vec!["plan", file.as_str()];
        args.extend(inputs.iter().map(String::as_str));
        let mut cmd = sluice_in(root(), &args);
        for var in PROVIDER_ENV.iter().filter(|v| v.ends_with("_BASE_URL")) {
            cmd.env(var, &url);
        }
        let out = output(&mut cmd);
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&url));
    }
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a plan connected to the provider: {other:?}"),
    }
}

#[test]
fn no_secret_reaches_a_plan_and_credentials_are_not_needed() {
    const SENTINEL: &str = "sentinel-plan-secret-7c21";
    let dir = tempfile::tempdir().unwrap();
    for (stem, inputs) in examples() {
        let file = format!("workflows/{stem}.yaml");
        for format in FORMATS {
            let out_file = dir.path().join(format!("{stem}-{format}.json"));
            let out_path = out_file.display().to_string();
            let mut args = vec![
                "plan",
                file.as_str(),
                "--format",
                format,
                "--out",
                &out_path,
            ];
            args.extend(inputs.iter().map(String::as_str));
            let mut with_secret = sluice_in(root(), &args);
            for var in PROVIDER_ENV.iter().filter(|v| !v.ends_with("_BASE_URL")) {
                with_secret.env(var, SENTINEL);
            }
            let out = output(&mut with_secret);
            assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
            let written = std::fs::read_to_string(&out_file).unwrap();
            let shown = transcript(&out);
            assert!(
                !shown.contains(SENTINEL),
                "{stem} {format} printed the secret"
            );
            assert!(
                !written.contains(SENTINEL),
                "{stem} {format} wrote the secret"
            );
            assert!(
                shown.contains("***"),
                "{stem} {format}: no masked credential shown"
            );
            // Credentials are not part of the plan: without them, the same plan.
            let without = output(&mut sluice_in(root(), &args));
            assert_eq!(without.status.code(), Some(0), "{}", transcript(&without));
            assert_eq!(without.stdout, out.stdout, "{stem} {format}");
            assert_eq!(std::fs::read_to_string(&out_file).unwrap(), written);
        }
    }
    // A workflow whose credentials have no default plans with them unset, and an amount
    // with too many decimals is a problem in the plan, not a crash.
    std::fs::write(dir.path().join("creds.yaml"), CREDENTIALS_WITHOUT_DEFAULTS).unwrap();
    let out = output(
        sluice_in(dir.path(), &["plan", "creds.yaml"])
            .env_remove("SLUICE_TEST_KEY")
            .env_remove("SLUICE_TEST_SECRET"),
    );
    let shown = transcript(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(!shown.contains("is not set"), "{shown}");
    assert!(shown.contains("error: `broken`"), "{shown}");
    assert!(shown.contains("`1.123456789` has 9 decimals"), "{shown}");
    let out = output(
        sluice_in(dir.path(), &["plan", "creds.yaml", "--format", "json"])
            .env("SLUICE_TEST_KEY", SENTINEL)
            .env("SLUICE_TEST_SECRET", SENTINEL),
    );
    assert!(transcript(&out).contains(r#""decision":"fail""#));
    assert!(!transcript(&out).contains(SENTINEL));
}

const CREDENTIALS_WITHOUT_DEFAULTS: &str = r#"
version: 1
name: secret-check
inputs:
  amount: { type: decimal, default: "1.123456789" }
providers:
  ws:
    kind: whalestack
    base_url: http://127.0.0.1:8788/whalestack/api/v1
    api_key: ${SLUICE_TEST_KEY}
    api_secret: ${SLUICE_TEST_SECRET}
steps:
  - id: broken
    uses: transfer
    with: { asset: EURC, network: SEPA, amount: "{{inputs.amount}}" }
"#;
