//! Notifications end to end: a real HTTP receiver in the test takes sluice's webhooks and
//! checks their signature with its own HMAC; a target that fails is reported and never holds
//! up a run; and a process killed between a status change and its delivery leaves the
//! notification to the next process, which delivers it once. No secret is ever sent or shown.

use std::net::SocketAddr;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use sluice::sandbox::Faults;

use crate::engine::harness::{Harness, text};

pub(crate) const SECRET: &str = "sentinel-notify-secret-7c2e";

/// What the receiver got: each delivery's headers and exact body bytes.
#[derive(Clone, Default)]
pub(crate) struct Inbox(pub(crate) Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

impl Inbox {
    pub(crate) fn bodies(&self) -> Vec<Value> {
        let got = self.0.lock().unwrap();
        got.iter()
            .map(|(_, body)| serde_json::from_slice(body).unwrap())
            .collect()
    }
}

/// A webhook receiver on loopback answering `status`; returns its URL.
pub(crate) async fn receiver(status: StatusCode) -> (String, Inbox) {
    let inbox = Inbox::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State((inbox, status)): State<(Inbox, StatusCode)>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    inbox.0.lock().unwrap().push((headers, body));
                    status
                },
            ),
        )
        .with_state((inbox.clone(), status));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), inbox)
}

/// The payroll with `sign_off` before `pay` and notifications on `events` to `${OPS_HOOK}`.
fn notified_payroll(h: &Harness, events: &str) -> String {
    let path = h.variant(
        "payroll.yaml",
        "notified-payroll.yaml",
        &[(
            "  - id: pay\n    uses: transfer\n    needs: [check_budget]",
            "  - id: sign_off\n    uses: approval\n    needs: [check_budget]\n    with: { message: \"sign-off\", allow_self_approval: false }\n\n  - id: pay\n    uses: transfer\n    needs: [sign_off]",
        )],
    );
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        "\nnotify:\n  - on: {events}\n    webhook: {{ url: \"${{OPS_HOOK}}\", secret: \"${{OPS_HOOK_SECRET}}\" }}\n"
    ));
    std::fs::write(&path, text).unwrap();
    path
}

async fn sluice(h: &Harness, hook: &str, args: &[&str], failpoints: Option<&str>) -> Output {
    let mut cmd = h.command(args, failpoints);
    cmd.env("OPS_HOOK", hook).env("OPS_HOOK_SECRET", SECRET);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// `sluice run` of `workflow` as run `run` of `payees` payees, started by `bob`, with `extra`
/// arguments.
async fn start(
    h: &Harness,
    hook: &str,
    (workflow, run): (&str, &str),
    payees: usize,
    extra: &[&str],
    failpoints: Option<&str>,
) -> Output {
    let (csv, _) = h.payroll(payees);
    let input = format!("payees=@{}", csv.display());
    let mut args = vec![
        "run", workflow, "--run-id", run, "--input", &input, "--as", "bob",
    ];
    args.extend(extra);
    sluice(h, hook, &args, failpoints).await
}

/// Checks the signature with an HMAC computed here, over the bytes received.
pub(crate) fn assert_signed(headers: &HeaderMap, body: &[u8]) {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        headers
            .get("x-sluice-signature")
            .and_then(|v| v.to_str().ok()),
        Some(expected.as_str())
    );
    assert!(headers.contains_key("x-sluice-timestamp"));
    assert!(!String::from_utf8_lossy(body).contains(SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_run_and_its_denial_page_the_webhook_signed_and_without_secrets() {
    let h = Harness::start(Faults::default()).await;
    let (hook, inbox) = receiver(StatusCode::OK).await;
    let workflow = notified_payroll(&h, "[waiting, failed]");
    let out = start(&h, &hook, (&workflow, "run_paged"), 2, &[], None).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let bodies = inbox.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["event"], "waiting");
    assert_eq!(bodies[0]["run"], "run_paged");
    assert_eq!(bodies[0]["workflow"], "payroll");
    assert_eq!(bodies[0]["step"], "sign_off");
    assert!(
        bodies[0]["text"]
            .as_str()
            .unwrap()
            .contains("run `run_paged` (payroll) is waiting at `sign_off`"),
        "{bodies:?}"
    );

    // Resumed while still waiting: no second page.
    let out = sluice(&h, &hook, &["resume", "run_paged"], None).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(inbox.bodies().len(), 1);

    let deny = [
        "deny",
        "run_paged",
        "sign_off",
        "--as",
        "carol",
        "--reason",
        "wrong file",
    ];
    let out = sluice(&h, &hook, &deny, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let bodies = inbox.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["event"], "failed");
    assert!(
        bodies[1]["message"]
            .as_str()
            .unwrap()
            .contains("denied by carol: wrong file"),
        "{bodies:?}"
    );
    for (headers, body) in inbox.0.lock().unwrap().iter() {
        assert_signed(headers, body);
    }

    let listed = sluice(&h, &hook, &["notifications", "--run", "run_paged"], None).await;
    let listed = text(&listed);
    assert_eq!(listed.matches(" delivered ").count(), 2, "{listed}");
    assert!(listed.contains("webhook ${OPS_HOOK}"), "{listed}");
    assert!(
        !listed.contains(SECRET) && !listed.contains(&hook),
        "{listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_target_is_reported_and_never_holds_up_the_run() {
    let h = Harness::start(Faults::default()).await;
    let (hook, inbox) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    let workflow = notified_payroll(&h, "[waiting]");
    let out = start(&h, &hook, (&workflow, "run_unheard"), 1, &[], None).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("not delivered: webhook answered HTTP 500"),
        "{}",
        text(&out)
    );
    assert_eq!(inbox.bodies().len(), 1);
    let listed = text(&sluice(&h, &hook, &["notifications"], None).await);
    assert!(listed.contains(" pending "), "{listed}");
    assert!(listed.contains("webhook answered HTTP 500"), "{listed}");

    // The approval still goes through and the run finishes.
    let approve = ["approve", "run_unheard", "sign_off", "--as", "alice"];
    let out = sluice(&h, &hook, &approve, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = sluice(&h, &hook, &["resume", "run_unheard"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(h.transfers().len(), 1);
}

#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_owed_by_a_killed_process_is_delivered_once_by_serve() {
    let h = Harness::start(Faults::default()).await;
    let (hook, inbox) = receiver(StatusCode::OK).await;
    let workflow = notified_payroll(&h, "[failed]");
    // A budget below the payroll's total: `check_budget` fails the run.
    let budget = ["--input", "budget=1.00"];
    let kill = Some("before_notify=return");
    let out = start(&h, &hook, (&workflow, "run_killed"), 2, &budget, kill).await;
    assert!(
        text(&out).contains("failpoint `before_notify` hit"),
        "{}",
        text(&out)
    );
    assert!(inbox.bodies().is_empty(), "delivered before the kill");

    let mut serve = h.command(&["serve", "--listen", "127.0.0.1:0"], None);
    serve
        .env("OPS_HOOK", &hook)
        .env("OPS_HOOK_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut serve = serve.spawn().expect("serve starts");
    for _ in 0..200 {
        if !inbox.bodies().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Another pass or two of serve's, then it stops.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    serve.kill().unwrap();
    serve.wait().unwrap();
    let out = sluice(&h, &hook, &["notifications", "--deliver"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let bodies = inbox.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["event"], "failed");
    assert_eq!(bodies[0]["run"], "run_killed");
    let (headers, body) = inbox.0.lock().unwrap()[0].clone();
    assert_signed(&headers, &body);
}

/// Python's `aiosmtpd` writing what it receives into a Maildir; killed when dropped.
struct Smtpd {
    child: std::process::Child,
    port: u16,
    maildir: std::path::PathBuf,
}

impl Smtpd {
    /// Starts the server, or `None` (with a note) where `aiosmtpd` is not installed; in CI,
    /// where `scripts/test.sh` installs it, its absence fails the test.
    async fn start(dir: &std::path::Path) -> Option<Smtpd> {
        let installed = std::process::Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "aiosmtpd is missing (scripts/test.sh installs python3-aiosmtpd)"
            );
            eprintln!("note: python3 aiosmtpd is not installed; skipping the email check");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = dir.join("maildir");
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(Smtpd {
            child,
            port,
            maildir,
        })
    }

    /// The messages received, as text.
    fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|dir| {
                dir.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_emailed_through_a_real_smtp_server() {
    let h = Harness::start(Faults::default()).await;
    let Some(smtpd) = Smtpd::start(h.dir.path()).await else {
        return;
    };
    let path = h.variant("payroll.yaml", "emailed-payroll.yaml", &[]);
    let mut workflow = std::fs::read_to_string(&path).unwrap();
    workflow.push_str(
        "\nnotify:\n  - on: [failed]\n    email: { to: [treasury@example.com], smtp: \"${SMTP_URL}\" }\n",
    );
    std::fs::write(&path, workflow).unwrap();
    let (csv, _) = h.payroll(2);
    let input = format!("payees=@{}", csv.display());
    let mut cmd = h.command(
        &[
            "run",
            &path,
            "--run-id",
            "run_emailed",
            "--input",
            &input,
            "--input",
            "budget=1.00",
        ],
        None,
    );
    let smtp = format!("smtp://127.0.0.1:{}?tls=opportunistic", smtpd.port);
    cmd.env("SMTP_URL", &smtp).env("OPS_HOOK_SECRET", SECRET);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains("not delivered"), "{}", text(&out));

    let messages = smtpd.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let mail = &messages[0];
    assert!(mail.contains("To: treasury@example.com"), "{mail}");
    assert!(
        mail.contains("sluice: run `run_emailed` (payroll) failed"),
        "{mail}"
    );
    assert!(mail.contains("exceeds the budget"), "{mail}");
    assert!(!mail.contains(SECRET), "{mail}");
    let listed = text(&sluice(&h, "unused", &["notifications"], None).await);
    assert!(listed.contains("email treasury@example.com"), "{listed}");
    assert!(listed.contains(" delivered "), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_without_exactly_one_target_is_refused_with_its_place() {
    let h = Harness::start(Faults::default()).await;
    let path = h.variant("payroll.yaml", "targetless.yaml", &[]);
    let mut workflow = std::fs::read_to_string(&path).unwrap();
    workflow.push_str("\nnotify:\n  - on: [failed]\n");
    std::fs::write(&path, workflow).unwrap();
    let out = h.sluice(&["validate", &path], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("needs exactly one of `webhook` and `email`"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("targetless.yaml:"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_shows_who_is_paged_on_what_and_never_the_target_values() {
    let h = Harness::start(Faults::default()).await;
    let path = notified_payroll(&h, "[waiting, failed]");
    let (csv, _) = h.payroll(3);
    let input = format!("payees=@{}", csv.display());
    let hook = "https://hooks.example.com/services/sentinel-hook-token";
    for format in ["text", "markdown", "json"] {
        let args = ["plan", path.as_str(), "--input", &input, "--format", format];
        let out = sluice(&h, hook, &args, None).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let shown = text(&out);
        assert!(
            shown.contains("on waiting, failed: webhook ${OPS_HOOK}, signed")
                || shown.contains("\"target\": \"webhook ${OPS_HOOK}, signed\""),
            "{format}: {shown}"
        );
        assert!(!shown.contains(SECRET), "{format}: {shown}");
        assert!(!shown.contains("sentinel-hook-token"), "{format}: {shown}");
    }
}

/// Waits up to twenty seconds for `inbox` to hold `n` deliveries.
pub(crate) async fn wait_for(inbox: &Inbox, n: usize) {
    for _ in 0..400 {
        if inbox.bodies().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `serve --notify FILE` with `${OPS_HOOK}` set to `hook`.
fn serve_notifying(h: &Harness, hook: &str, rules: &str, extra: &[&str]) -> std::process::Child {
    let file = h.dir.path().join("serve-notify.yaml");
    std::fs::write(&file, rules).unwrap();
    let file = file.display().to_string();
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--notify", &file];
    args.extend(extra);
    let mut serve = h.command(&args, None);
    serve
        .env("OPS_HOOK", hook)
        .env("OPS_HOOK_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    serve.spawn().expect("serve starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_level_rules_page_for_a_run_whose_workflow_has_none() {
    let h = Harness::start(Faults::default()).await;
    let (hook, inbox) = receiver(StatusCode::OK).await;
    let rules = "notify:\n  - on: [failed]\n    webhook: { url: \"${OPS_HOOK}\", secret: \"${OPS_HOOK_SECRET}\" }\n";
    let mut serve = serve_notifying(&h, &hook, rules, &["--rescan", "1s"]);
    // The plain payroll, no `notify:`, left to serve; a budget below its total fails it.
    let (csv, _) = h.payroll(2);
    let input = format!("payees=@{}", csv.display());
    let args = [
        "run",
        "workflows/payroll.yaml",
        "--run-id",
        "run_serve_paged",
        "--input",
        &input,
        "--input",
        "budget=1.00",
        "--detach",
    ];
    let out = sluice(&h, &hook, &args, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    wait_for(&inbox, 1).await;
    serve.kill().unwrap();
    serve.wait().unwrap();

    let bodies = inbox.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(
        (&bodies[0]["event"], &bodies[0]["run"]),
        (&Value::from("failed"), &Value::from("run_serve_paged"))
    );
    let (headers, body) = inbox.0.lock().unwrap()[0].clone();
    assert_signed(&headers, &body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serve_notify_file_with_a_literal_secret_is_refused_with_its_place() {
    let h = Harness::start(Faults::default()).await;
    let file = h.dir.path().join("bad-notify.yaml");
    std::fs::write(
        &file,
        "notify:\n  - on: [failed]\n    webhook: { url: \"${OPS_HOOK}\", secret: sentinel-literal-5d1 }\n",
    )
    .unwrap();
    let file = file.display().to_string();
    let out = h
        .sluice(
            &["serve", "--listen", "127.0.0.1:0", "--notify", &file],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("error[E038]"), "{shown}");
    assert!(shown.contains("bad-notify.yaml:3:"), "{shown}");
    assert!(!h.db().exists(), "the database was touched");
}
