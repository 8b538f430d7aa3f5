//! End to end in a real headless browser: a run whose swap was lost in flight waits for an
//! operator; the operator opens the console that `sluice serve` serves, reads the evidence,
//! decides "it did not happen: send again with the same key" with a reason, and watches the
//! run continue to success, with the decision and their name in the audit trail. The sandbox
//! ledger shows one swap.
//!
//! Chromium and chromedriver (Debian's `chromium`, `chromium-driver`) drive it over
//! WebDriver. Without them the test says so and passes, except under CI, where
//! `scripts/test.sh` installs them and their absence is a failure.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use sluice::sandbox::{FaultKind, FaultRule, Faults};

use crate::engine::harness::{Harness, text};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long the run may take to finish once decided; generous, the test stops as soon as
/// the page shows it.
const PATIENCE: Duration = Duration::from_secs(120);

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether the browser is here; outside CI a missing browser skips the test.
fn browser_present() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have {CHROMIUM} and {CHROMEDRIVER} (scripts/test.sh installs them)"
        );
        eprintln!(
            "skipped: {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
        );
    }
    present
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver on a free port, and a session in headless Chromium with a fresh profile.
async fn open_browser(profile: &Path) -> (Running, Client) {
    let port = free_port();
    let driver = Running(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1600",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let capabilities = capabilities.as_object().unwrap().clone();
    let started = Instant::now();
    loop {
        // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match connected {
            Ok(client) => return (driver, client),
            Err(e) if started.elapsed() < PATIENCE => {
                eprintln!("waiting for chromedriver: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no browser session: {e}"),
        }
    }
}

/// `sluice serve` on a free loopback port as operator `user`; returns it and its address.
fn serve(h: &Harness, user: &str) -> (Running, String) {
    let mut child = h
        .command(
            &["serve", "--listen", "127.0.0.1:0", "--rescan", "1s"],
            None,
        )
        .env("USER", user)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("serve prints its address").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep reading so serve never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (Running(child), addr)
}

/// The page's text once `done` holds for it, reloading the page until it does.
async fn page_when(client: &Client, url: &str, done: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        client.goto(url).await.unwrap();
        let source = client.source().await.unwrap();
        if done(&source) {
            return source;
        }
        assert!(started.elapsed() < PATIENCE, "never came:\n{source}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The page's source once `done` holds for it, without reloading: only the page's own script
/// can change it.
async fn page_live(client: &Client, done: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let source = client.source().await.unwrap();
        if done(&source) {
            return source;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the page never changed:\n{source}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_resolves_an_item_in_doubt_in_the_browser_and_the_run_continues() {
    if !browser_present() {
        return;
    }
    let h = Harness::start(Faults {
        routes: vec![FaultRule {
            route: "POST /whalestack/api/v1/swap".into(),
            fault: FaultKind::LostResponse,
            times: Some(1),
            skip: 0,
        }],
        webhooks: vec![],
    })
    .await;
    let workflow = h.fast_workflow("settlement-sweep.yaml");
    let out = h
        .sluice(&["run", &workflow, "--run-id", "run_browser"], None)
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    let (_serve, addr) = serve(&h, "treasury-ana");
    let profile = tempfile::tempdir().unwrap();
    let (_driver, client) = open_browser(profile.path()).await;
    let base = format!("http://{addr}");

    let inbox = page_when(&client, &format!("{base}/"), |s| s.contains("run_browser")).await;
    assert!(
        inbox.contains("convert") && inbox.contains("Request as dispatched"),
        "{inbox}"
    );
    let card = client.find(Locator::Css("article.doubt")).await.unwrap();
    let retry = card
        .find(Locator::XPath(
            ".//form[.//input[@name='decision' and @value='retry']]",
        ))
        .await
        .unwrap();
    retry
        .find(Locator::Css("input[name=reason]"))
        .await
        .unwrap()
        .send_keys("no commit in the provider dashboard")
        .await
        .unwrap();
    retry
        .find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The form's answer is the run's page; from here the page must change by itself, over
    // server-sent events, as the worker continues the run.
    // The click returns before the browser has followed the form's redirect.
    let mut path = String::new();
    for _ in 0..100 {
        path = client.current_url().await.unwrap().path().to_string();
        if path == "/runs/run_browser" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(path, "/runs/run_browser");
    let succeeded =
        |s: &str| s.contains("<dd><span class=\"badge state-succeeded\">succeeded</span>");
    let first = client.source().await.unwrap();
    let run = page_live(&client, succeeded).await;
    eprintln!(
        "the run finished after its page loaded: {}",
        !succeeded(&first)
    );
    if !succeeded(&first) {
        assert!(
            run.contains("data-refreshed"),
            "the script swapped the page in"
        );
    }
    assert!(
        run.contains("treasury-ana"),
        "the audit trail names the operator:\n{run}"
    );
    assert!(run.contains("resolve_retry") && run.contains("no commit in the provider dashboard"));
    let swaps: std::collections::BTreeSet<String> = h
        .sandbox
        .ledger()
        .into_iter()
        .filter(|e| e.kind.starts_with("swap."))
        .map(|e| e.object_id)
        .collect();
    assert_eq!(swaps.len(), 1, "exactly one swap moved money");
    client.close().await.unwrap();
}
