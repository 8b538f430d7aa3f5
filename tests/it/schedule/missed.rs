//! `sluice serve` down past a slot: the next `serve` records the slot missed and delivers one
//! `schedule_missed` webhook, signed, to a receiver in the test; a third start (another life
//! of the outbox's deliverer) does not deliver it again.

use std::process::{Child, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use sluice::sandbox::Faults;

use crate::engine::harness::{Harness, text};
use crate::notify::{SECRET, assert_signed, receiver, wait_for};

const WORKFLOW: &str = r#"version: 1
name: tick
schedule:
  cron: "* * * * * *"
  catch_up: none
  overlap: allow
notify:
  - on: [schedule_missed]
    webhook: { url: "${OPS_HOOK}", secret: "${OPS_HOOK_SECRET}" }
steps:
  - id: hello
    uses: log
    with: { message: "tick {{run.id}}" }
"#;

fn serve(h: &Harness, hook: &str, workflows: Option<&std::path::Path>) -> Child {
    let mut args = vec!["serve".to_string(), "--listen".into(), "127.0.0.1:0".into()];
    if let Some(dir) = workflows {
        args.extend(["--workflows".into(), dir.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = h.command(&args, None);
    cmd.env("OPS_HOOK", hook)
        .env("OPS_HOOK_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().expect("serve starts")
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_missed_while_serve_was_down_pages_once_across_a_restart() {
    let h = Harness::start(Faults::default()).await;
    let (hook, inbox) = receiver(StatusCode::OK).await;
    let dir = h.dir.path().join("scheduled");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tick.yaml"), WORKFLOW).unwrap();

    // Fires a few slots, then dies; slots come due while nothing watches.
    let first = serve(&h, &hook, Some(&dir));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    kill(first);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(inbox.bodies().is_empty(), "paged before the restart");

    // The next start records them missed and pages; killed once the delivery is recorded
    // (killed between sending and recording, it would be sent again, with the same event id,
    // once its claim expired: at least once).
    let second = serve(&h, &hook, Some(&dir));
    wait_for(&inbox, 1).await;
    for _ in 0..200 {
        let listed = text(&h.sluice(&["notifications"], None).await);
        if listed.contains(" delivered ") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kill(second);
    // Another life of the deliverer: what was delivered is not delivered again.
    let third = serve(&h, &hook, None);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    kill(third);

    let bodies = inbox.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let body = &bodies[0];
    assert_eq!(body["event"], "schedule_missed");
    assert_eq!(body["workflow"], "tick");
    assert!(body["run"].is_null(), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("missed"), "{message}");
    assert!(message.contains("`catch_up: none`"), "{message}");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("sluice: schedule of `tick`: "),
        "{body}"
    );
    let (headers, raw) = inbox.0.lock().unwrap()[0].clone();
    assert_signed(&headers, &raw);

    // The operator sees the slots and the notification.
    let slots = h
        .sluice(
            &["schedule", "slots", "--workflow", "tick", "-n", "100"],
            None,
        )
        .await;
    assert_eq!(slots.status.code(), Some(0), "{}", text(&slots));
    let listed = text(&slots);
    assert!(listed.contains(" missed "), "{listed}");
    assert!(listed.contains(" fired "), "{listed}");
    let listed = text(&h.sluice(&["notifications"], None).await);
    assert!(
        listed.contains("schedule tick") && listed.contains(" delivered "),
        "{listed}"
    );
}
