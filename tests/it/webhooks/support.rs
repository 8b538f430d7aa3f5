//! What the end-to-end webhook tests share: a sandbox whose webhooks go to a receiver
//! address chosen up front, a `sluice serve` child process, and reads of the checkpoint
//! database the processes write.

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice::catalog::ProviderKind;
use sluice::ids::RunId;
use sluice::sandbox::{DeliveryOutcome, Faults, SandboxConfig, WebhookFaultKind, WebhookFaultRule};
use sluice::store::{RunStatus, SqliteConfig, SqliteStore, StepKey, StepRecord, Store};

use crate::engine::harness::{Harness, text};

/// A free loopback address for a receiver that is started later (the sandbox must know
/// where to send before it starts).
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// A Whalestack webhook fault for events matching `event`.
pub fn fault(fault: WebhookFaultKind, event: &str) -> WebhookFaultRule {
    WebhookFaultRule {
        provider: Some(ProviderKind::Whalestack),
        event: Some(event.into()),
        fault,
        times: None,
        skip: 0,
    }
}

/// A sandbox sending its webhooks to the `ws` block's receiver at `addr`, with `webhook`
/// faults and any further `edit`.
pub async fn hooked(
    addr: &str,
    webhook: Vec<WebhookFaultRule>,
    edit: impl FnOnce(&mut SandboxConfig),
) -> Harness {
    let faults = Faults {
        routes: vec![],
        webhooks: webhook,
    };
    let url = format!("http://{addr}/webhooks/ws");
    Harness::start_with(faults, |c| {
        c.webhooks.url = Some(url);
        edit(c);
    })
    .await
}

/// The run's checkpoint database, as another reader.
pub async fn store(h: &Harness) -> SqliteStore {
    SqliteStore::open(SqliteConfig::new(h.db())).await.unwrap()
}

/// Polls `check` every 50 ms until it gives a value, for at most `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A step's row.
pub async fn step(store: &dyn Store, run: &str, step: &str) -> StepRecord {
    store.load_step(&StepKey::step(run, step)).await.unwrap()
}

/// Waits until the run ends (succeeded or failed) and returns its status.
pub async fn finished(store: &dyn Store, run: &str, limit: Duration) -> RunStatus {
    wait_for(&format!("run `{run}` to finish"), limit, || async {
        let status = store.load_run(&RunId::from(run)).await.ok()?.status;
        status.is_finished().then_some(status)
    })
    .await
}

/// The run's await outputs were produced by an event the read-back confirmed.
pub async fn assert_awaits_took_events(store: &dyn Store, run: &str) {
    for (name, event) in [
        ("paid", "CHECKOUT_COMPLETED"),
        ("converted", "SWAP_COMPLETED"),
        ("swept", "TRANSFER_COMPLETED"),
    ] {
        let out = step(store, run, name).await.output.unwrap_or(Value::Null);
        assert_eq!(
            (out["event"].as_str(), out["confirmed"].as_bool()),
            (Some(event), Some(true)),
            "`{name}` of `{run}`: {out:#}"
        );
    }
    let paid = step(store, run, "paid").await.output.unwrap();
    assert!(
        paid["checkout"]["settlementAmountReceived"].is_string(),
        "{paid:#}"
    );
}

/// The ledger shows exactly `runs` swaps and `runs` transfers: nothing moved twice.
pub fn assert_each_payment_once(h: &Harness, runs: usize) {
    let ledger = h.sandbox.ledger();
    let transfers = ledger.iter().filter(|e| e.kind == "transfer.debit").count();
    let swaps: std::collections::BTreeSet<&str> = ledger
        .iter()
        .filter(|e| e.kind.starts_with("swap."))
        .map(|e| e.object_id.as_str())
        .collect();
    let settled = ledger
        .iter()
        .filter(|e| e.kind == "checkout.settlement")
        .count();
    assert_eq!(
        (transfers, swaps.len(), settled),
        (runs, runs, runs),
        "{ledger:#?}"
    );
}

/// How many webhook deliveries had `fault` and ended as `outcome`.
pub fn deliveries(h: &Harness, fault: Option<WebhookFaultKind>, outcome: DeliveryOutcome) -> usize {
    h.sandbox
        .deliveries()
        .iter()
        .filter(|d| d.fault == fault && d.outcome == outcome)
        .count()
}

/// A `sluice serve` child process.
pub struct Serve {
    child: Option<Child>,
    pub addr: String,
}

impl Serve {
    /// Starts `sluice serve --listen addr EXTRA…` and waits until `/healthz` answers.
    pub async fn start(h: &Harness, addr: &str, extra: &[&str]) -> Serve {
        let mut args = vec!["serve", "--listen", addr, "--rescan", "1h"];
        args.extend_from_slice(extra);
        let child = h
            .command(&args, None)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let serve = Serve {
            child: Some(child),
            addr: addr.to_string(),
        };
        let client = client();
        let url = format!("http://{addr}/healthz");
        wait_for("serve to answer /healthz", Duration::from_secs(10), || {
            let request = client.get(&url).send();
            async move { request.await.ok().filter(|r| r.status() == 200).map(|_| ()) }
        })
        .await;
        serve
    }

    /// `GET /metrics`.
    pub async fn metrics(&self) -> String {
        client()
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn stop(mut self) -> Output {
        let child = self.child.take().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Asserts a finished process exited 0.
pub fn assert_ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
}
