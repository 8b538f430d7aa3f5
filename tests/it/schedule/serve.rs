//! `sluice serve --workflows DIR` firing an every-second schedule against the sandbox, killed
//! with SIGKILL and started again: every slot that ran, ran once, and paid once.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sluice::sandbox::Faults;

use crate::engine::harness::{Harness, text};

const WORKFLOW: &str = r#"version: 1
name: tick
schedule:
  cron: "* * * * * *"
  catch_up: all
  overlap: allow
providers:
  ws:
    kind: whalestack
    base_url: ${WHALESTACK_BASE_URL}
    api_key: ${WHALESTACK_API_KEY:-sandbox-key}
    api_secret: ${WHALESTACK_API_SECRET:-sandbox-secret}
steps:
  - id: pay
    uses: transfer
    with:
      network: SEPA
      asset: EURC
      amount: "1.00"
      target_account: Ops EUR
      note: "tick {{run.id}}"
"#;

fn serve(h: &Harness, dir: &std::path::Path) -> Child {
    let dir = dir.display().to_string();
    h.command(
        &["serve", "--workflows", &dir, "--listen", "127.0.0.1:0"],
        None,
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("serve starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_slot_runs_once_across_a_kill_and_a_restart() {
    let h = Harness::start(Faults::default()).await;
    let dir = h.dir.path().join("scheduled");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tick.yaml"), WORKFLOW).unwrap();

    let mut first = serve(&h, &dir);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    first.kill().unwrap(); // SIGKILL, possibly mid-run
    first.wait().unwrap();
    let after_kill = h.transfers().len();
    assert!(after_kill >= 1, "nothing fired before the kill");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut second = serve(&h, &dir);
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let pid = second.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    second.wait().unwrap();
    // A slot that fired as the stop began was handed back at its last checkpoint, as a stop
    // does: the next start would continue it; here `resume` does.
    let runs = h
        .sluice(&["runs", "--workflow", "tick", "--limit", "1000"], None)
        .await;
    for line in String::from_utf8_lossy(&runs.stdout).lines().skip(1) {
        let run = line.split_whitespace().next().unwrap_or_default();
        if !line.contains(" succeeded ") {
            let out = h.sluice(&["resume", run], None).await;
            assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        }
    }

    let mut paid: BTreeMap<String, usize> = BTreeMap::new();
    for e in h.transfers() {
        let note = e.reference.unwrap_or_default();
        let run = note
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        assert!(run.starts_with("sched_tick_"), "{note}");
        *paid.entry(run).or_default() += 1;
    }
    let twice: Vec<_> = paid.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "slots paid twice: {twice:?}");
    assert!(paid.len() > after_kill, "the restarted serve fired nothing");

    // Every run of a slot ended, and the slots missed while down were caught up.
    let runs = h
        .sluice(&["runs", "--workflow", "tick", "--limit", "1000"], None)
        .await;
    let listed = String::from_utf8_lossy(&runs.stdout).to_string();
    let slots: Vec<&str> = listed.lines().skip(1).collect();
    assert!(slots.iter().all(|l| l.contains(" succeeded ")), "{listed}");
    assert_eq!(slots.len(), paid.len(), "{listed}");
}
