//! `sluice console`: the password helper's hash signs a user in, and the command serves the
//! console for a database, with the next fire times of the scheduled workflows it is given.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use sluice::console::Users;

use crate::support::root;

#[test]
fn hash_password_reads_stdin_and_its_hash_signs_the_user_in() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["console", "hash-password"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"open sesame\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("open sesame"));
    let users = Users::parse(&format!(
        "users:\n  - {{name: ana, role: operator, password_hash: \"{hash}\"}}\n"
    ))
    .unwrap();
    assert!(users.verify("ana", "open sesame").is_some());
    assert!(users.verify("ana", "open sesame\n").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_serves_a_database_on_loopback_to_the_local_operator() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "console",
            "--listen",
            "127.0.0.1:0",
            "--workflows",
            "workflows",
            "--db",
        ])
        .arg(dir.path().join("sluice.db"))
        .current_dir(root())
        .env("USER", "lee")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.strip_prefix("console: ").expect(&first).to_owned();
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(body.contains("lee · operator"), "{body}");
    let schedules = reqwest::get(format!("{url}schedules"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        schedules.contains("<td>treasury-rebalance</td>") && schedules.contains("<td>payroll</td>"),
        "next fire times of the scheduled workflows:\n{schedules}"
    );
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("W008"),
        "loopback needs no users"
    );
}
