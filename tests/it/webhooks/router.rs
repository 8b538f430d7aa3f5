//! The receiver's router driven with `oneshot`: forged, truncated, oversized and replayed
//! deliveries are refused with nothing stored; a signed body that is not an event is kept as
//! unparseable and refused; an event wakes exactly the waiting steps it fits in the
//! transaction that stores it; a duplicate changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use sluice::catalog::ProviderKind;
use sluice::engine::await_step::Wakeups;
use sluice::ids::RunId;
use sluice::providers::{HttpClient, Provider, build};
use sluice::signing::{hmac_sha256_hex, whalestack_webhook};
use sluice::spec::env::ResolvedProvider;
use sluice::spec::{AuthMode, Secret};
use sluice::store::{
    EventFilter, Lease, NewRun, NewStep, SqliteConfig, SqliteStore, StepKey, StepState, Store,
    Waiting, WriteBatch,
};
use sluice::webhooks::{Notice, Providers, Receiver, UNPARSEABLE, app};
use tokio::sync::mpsc;
use tower::ServiceExt;

use crate::support::root;

const WS_SECRET: &str = "ws-webhook-secret";
const WST_SECRET: &str = "wst-api-secret";

fn block(name: &str, kind: ProviderKind, creds: &[(&str, &str)]) -> ResolvedProvider {
    let get = |f: &str| {
        creds
            .iter()
            .find(|(k, _)| *k == f)
            .map(|(_, v)| Secret::new(*v))
    };
    ResolvedProvider {
        name: name.into(),
        kind,
        base_url: Some("http://127.0.0.1:9".into()),
        api_key: get("api_key"),
        api_secret: get("api_secret"),
        secret_key: get("secret_key"),
        token: get("token"),
        webhook_secret: get("webhook_secret"),
        webhook_signature_header: None,
        auth: AuthMode::Digest,
        timeout: Duration::from_millis(300),
        rate_limit: None,
        max_in_flight: None,
        paths: BTreeMap::new(),
        http_auth: None,
        headers: BTreeMap::new(),
        secret_headers: BTreeMap::new(),
        idempotency_header: None,
    }
}

struct Intake {
    store: Arc<dyn Store>,
    app: Router,
    wakeups: Wakeups,
    notices: mpsc::UnboundedReceiver<Notice>,
    dir: tempfile::TempDir,
}

async fn intake() -> Intake {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(SqliteConfig::new(dir.path().join("sluice.db")))
            .await
            .unwrap(),
    );
    let http = HttpClient::new().unwrap();
    let blocks = [
        block(
            "ws",
            ProviderKind::Whalestack,
            &[
                ("api_key", "k"),
                ("api_secret", "s"),
                ("webhook_secret", WS_SECRET),
            ],
        ),
        block(
            "wst",
            ProviderKind::Whitestones,
            &[("api_key", "k"), ("api_secret", WST_SECRET)],
        ),
        block("cards", ProviderKind::White, &[("secret_key", "sk")]),
    ];
    let adapters: HashMap<String, Arc<dyn Provider>> = blocks
        .iter()
        .map(|b| (b.name.clone(), build(b, &http).unwrap()))
        .collect();
    let providers = Providers::new();
    providers.add_all(&adapters, &Default::default());
    let wakeups = Wakeups::new();
    let (tx, notices) = mpsc::unbounded_channel();
    let receiver = Receiver::new(store.clone(), providers, wakeups.clone()).with_notices(tx);
    Intake {
        store,
        app: app(Arc::new(receiver)),
        wakeups,
        notices,
        dir,
    }
}

impl Intake {
    async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = Request::post(path).header("content-type", "application/json");
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = self
            .app
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// Posts `body` to `/webhooks/ws` signed as Whalestack signs it.
    async fn whalestack(&self, body: &[u8]) -> (StatusCode, Value) {
        let sig = whalestack_webhook(WS_SECRET, body);
        self.post("/webhooks/ws", &[("x-webhook-auth", &sig)], body.to_vec())
            .await
    }

    async fn event_count(&self) -> usize {
        self.store
            .list_events(&EventFilter::default())
            .await
            .unwrap()
            .len()
    }

    /// A run whose listed steps wait with the given stored requests, and the lease they were
    /// set waiting under.
    async fn waiting(&self, run_id: &str, steps: &[(&str, Value)]) -> Lease {
        let news: Vec<NewStep> = steps.iter().map(|(id, _)| NewStep::step(*id)).collect();
        let run = NewRun {
            id: run_id.into(),
            workflow_name: "settlement-sweep".into(),
            workflow_path: "workflows/settlement-sweep.yaml".into(),
            workflow_hash: "h".into(),
            inputs_hash: "i".into(),
            inputs: json!({}),
            plan_hash: None,
            scheduled_for: None,
            started_by: "alice".into(),
            notify: Vec::new(),
            lease: None,
        };
        self.store.create_run(&run, &news).await.unwrap();
        let lease = self
            .store
            .acquire_lease(&RunId::from(run_id), "engine", Duration::from_secs(60))
            .await
            .unwrap();
        let batch: Vec<Waiting> = steps
            .iter()
            .map(|(id, request)| Waiting {
                key: StepKey::step(run_id, *id),
                request: Some(request.clone()),
                next_check_at: None,
                deadline_at: None,
            })
            .collect();
        self.store
            .commit_batch(&lease, &WriteBatch::from(batch))
            .await
            .unwrap();
        lease
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/sandbox/whalestack").join(name)).unwrap()
}

#[tokio::test]
async fn forged_truncated_oversized_and_replayed_deliveries_are_refused_and_nothing_is_stored() {
    let mut t = intake().await;
    let body = fixture("webhook_checkout_completed.json");
    let good = whalestack_webhook(WS_SECRET, &body);
    let wrong_secret = whalestack_webhook("not-the-secret", &body);
    let upper_half = good[..32].to_string();
    let cases: [(&str, Vec<(&str, &str)>); 6] = [
        ("missing", vec![]),
        ("empty", vec![("x-webhook-auth", "")]),
        (
            "truncated by one byte",
            vec![("x-webhook-auth", &good[..62])],
        ),
        ("truncated to half", vec![("x-webhook-auth", &upper_half)]),
        (
            "signed with another secret",
            vec![("x-webhook-auth", &wrong_secret)],
        ),
        ("not hex", vec![("x-webhook-auth", "zz")]),
    ];
    for (what, headers) in cases {
        let (status, error) = t.post("/webhooks/ws", &headers, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {error}");
        assert_eq!(error["code"], "bad_signature", "{what}");
    }

    // A captured delivery replayed with a larger amount: the signature covers the body.
    let text = String::from_utf8(body.clone()).unwrap();
    let forged = text.replacen("\"117.8379738\"", "\"9117.8379738\"", 1);
    assert_ne!(forged, text);
    let (status, _) = t
        .post(
            "/webhooks/ws",
            &[("x-webhook-auth", &good)],
            forged.into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Over 1 MiB: refused before anything is checked, even when correctly signed.
    let mut big = b"{\"eventType\":\"CHECKOUT_COMPLETED\",\"pad\":\"".to_vec();
    big.resize(1024 * 1024 + 1, b'x');
    let (status, error) = t.whalestack(&big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
    assert_eq!(error["code"], "too_large");

    // An unknown block, and a provider that sends no webhooks.
    let (status, error) = t
        .post("/webhooks/nope", &[("x-webhook-auth", &good)], body.clone())
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_provider"))
    );
    assert_eq!(
        t.notices.try_recv().unwrap(),
        Notice::UnknownProvider("nope".into()),
        "`serve` is told to look for the block"
    );
    let (status, error) = t.post("/webhooks/cards", &[], body.clone()).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_webhooks"))
    );
    // WHITESTONES' HMAC does not accept Whalestack's plain hash.
    let (status, _) = t
        .post("/webhooks/wst", &[("x-ws-signature", &good)], body.clone())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    assert_eq!(
        t.event_count().await,
        0,
        "a refused delivery stored something"
    );
    let (_, metrics) = t.get("/metrics").await;
    for line in [
        "sluice_webhook_events_rejected_total{provider=\"ws\",reason=\"bad_signature\"} 7",
        "sluice_webhook_events_rejected_total{provider=\"ws\",reason=\"too_large\"} 1",
        "sluice_webhook_events_rejected_total{provider=\"\",reason=\"unknown_provider\"} 1",
        "sluice_webhook_events_rejected_total{provider=\"cards\",reason=\"no_webhooks\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in:\n{metrics}"
        );
    }

    // The genuine delivery is accepted: the refusals were about the signature alone.
    let (status, stored) = t.whalestack(&body).await;
    assert_eq!(
        (status, stored["status"].as_str()),
        (StatusCode::OK, Some("stored"))
    );
    assert_eq!(t.event_count().await, 1);
}

#[tokio::test]
async fn a_signed_body_that_is_not_an_event_is_kept_as_unparseable_and_refused() {
    let t = intake().await;
    for body in [
        &br#"{"eventType": "CHECKOUT_COMPLETED", "data": {"checkout": {"id": "#[..],
        br#"{"hello": "world"}"#,
    ] {
        let (status, error) = t.whalestack(body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        assert_eq!(error["code"], "unparseable");
        // The provider retries a 400: the second delivery adds nothing.
        let (status, _) = t.whalestack(body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let events = t.store.list_events(&EventFilter::default()).await.unwrap();
    assert_eq!(events.len(), 2, "{events:#?}");
    for e in &events {
        assert_eq!(e.event.event_type, UNPARSEABLE);
        assert_eq!(
            (e.event.signature_ok, e.event.object_id.as_deref()),
            (true, None)
        );
        assert_eq!(e.matched, None);
    }
    assert!(events[0].event.payload.starts_with("{\"eventType\""));
    let (status, health) = t.get("/healthz").await;
    assert_eq!(
        (status, health.as_str()),
        (StatusCode::OK, "{\"status\":\"ok\"}")
    );
}

#[tokio::test]
async fn an_event_wakes_the_steps_it_fits_in_the_same_transaction_and_a_duplicate_changes_nothing()
{
    let mut t = intake().await;
    let checkout = "a2d963a87d70";
    let awaits = |event: &str, id: &str| json!({"event": event, "match": {"id": id}, "timeout": "2h", "provider": "ws"});
    let run_a = t
        .waiting(
        "run_a",
        &[
            ("paid", awaits("CHECKOUT_COMPLETED", checkout)),
            ("other_checkout", awaits("CHECKOUT_COMPLETED", "ffffffffffff")),
            ("other_block", json!({"event": "CHECKOUT_COMPLETED", "match": {"id": checkout}, "provider": "ws_eu"})),
            ("approval", json!({"approval": true, "message": "CFO"})),
        ],
    )
    .await;
    t.waiting(
        "run_b",
        &[(
            "settled",
            json!({"event": ["CHECKOUT_COMPLETED"], "match": {"checkout.settlementAmountReceived": "117.83797380"}, "provider": "ws"}),
        )],
    )
    .await;
    let paid = StepKey::step("run_a", "paid");
    let waker = t.wakeups.register(&paid);

    // An underpaid checkout is not what `paid` waits for.
    let (status, _) = t
        .whalestack(&fixture("webhook_checkout_underpaid.json"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        t.store.load_step(&paid).await.unwrap().state,
        StepState::Waiting
    );

    let body = fixture("webhook_checkout_completed.json");
    let (status, stored) = t.whalestack(&body).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(
        (stored["status"].as_str(), stored["woken"].as_u64()),
        (Some("stored"), Some(2))
    );
    let id = stored["id"].as_i64().unwrap();
    let steps = |run: &str| {
        let store = t.store.clone();
        let run = run.to_string();
        async move { store.load_steps(&RunId::from(&run)).await.unwrap() }
    };
    let a = steps("run_a").await;
    let state = |id: &str| a.iter().find(|s| s.key.step_id == id).unwrap().clone();
    assert_eq!(
        (state("paid").state, state("paid").event_id),
        (StepState::Pending, Some(id))
    );
    for other in ["other_checkout", "other_block", "approval"] {
        assert_eq!(state(other).state, StepState::Waiting, "{other}");
    }
    let b = steps("run_b").await;
    assert_eq!(
        (b[0].state, b[0].event_id),
        (StepState::Pending, Some(id)),
        "an amount path compares as an exact decimal"
    );
    let event = t.store.load_event(id).await.unwrap();
    assert_eq!(event.matched, Some(paid.clone()));
    assert_eq!(event.event.object_id.as_deref(), Some(checkout));
    assert_eq!(
        serde_json::from_str::<Value>(&event.event.payload).unwrap(),
        serde_json::from_slice::<Value>(&body).unwrap(),
        "the body is kept (it has no personal fields)"
    );

    // The await of this process is woken; the step nobody here waits for goes to `serve`.
    tokio::time::timeout(Duration::from_millis(200), waker.woken())
        .await
        .expect("the registered await was woken");
    assert_eq!(
        t.notices.try_recv().unwrap(),
        Notice::Woken(StepKey::step("run_b", "settled"))
    );

    // Redelivered (the provider did not see our 200): answered 200, nothing changes, even
    // though `paid` waits again meanwhile.
    let waits_again = WriteBatch::from(vec![Waiting {
        key: paid.clone(),
        request: None,
        next_check_at: None,
        deadline_at: None,
    }]);
    t.store.commit_batch(&run_a, &waits_again).await.unwrap();
    let (before_a, before_b, events) = (
        steps("run_a").await,
        steps("run_b").await,
        t.event_count().await,
    );
    let (status, again) = t.whalestack(&body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (again["status"].as_str(), again["id"].as_i64()),
        (Some("duplicate"), Some(id))
    );
    assert_eq!(steps("run_a").await, before_a);
    assert_eq!(steps("run_b").await, before_b);
    assert_eq!(t.event_count().await, events);
    assert!(t.notices.try_recv().is_err());

    // WHITESTONES: HMAC of the body, deduplicated by its event id.
    let payout = br#"{"id":"evt_1","type":"payout.completed","data":{"object":{"id":"po_1","status":"completed"}}}"#;
    let sig = hmac_sha256_hex(WST_SECRET.as_bytes(), payout);
    let (status, first) = t
        .post(
            "/webhooks/wst",
            &[("x-ws-signature", &sig)],
            payout.to_vec(),
        )
        .await;
    assert_eq!(
        (status, first["status"].as_str()),
        (StatusCode::OK, Some("stored"))
    );
    let (_, second) = t
        .post(
            "/webhooks/wst",
            &[("x-ws-signature", &sig)],
            payout.to_vec(),
        )
        .await;
    assert_eq!(second["status"], "duplicate");

    let (_, metrics) = t.get("/metrics").await;
    for line in [
        "sluice_webhook_events_received_total{provider=\"ws\"} 2",
        "sluice_webhook_events_duplicate_total{provider=\"ws\"} 1",
        "sluice_webhook_events_received_total{provider=\"wst\"} 1",
        "sluice_webhook_steps_woken_total{provider=\"ws\"} 2",
        "sluice_runs{status=\"pending\"} 2",
        "sluice_steps{state=\"waiting\"} 4",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn replay_redelivers_a_stored_event_to_the_steps_waiting_now() {
    let t = intake().await;
    let body = fixture("webhook_checkout_completed.json");
    // It came while nothing waited for it.
    let (_, stored) = t.whalestack(&body).await;
    let first = stored["id"].as_i64().unwrap();
    t.whalestack(b"not json").await;
    let junk_id = t
        .store
        .list_events(&EventFilter {
            event_type: Some(UNPARSEABLE.into()),
            ..EventFilter::default()
        })
        .await
        .unwrap()[0]
        .id;
    t.waiting(
        "run_a",
        &[
            ("paid", json!({"event": "CHECKOUT_COMPLETED", "match": {"id": "a2d963a87d70"}, "provider": "ws"})),
            ("swapped", json!({"event": "SWAP_COMPLETED", "match": {"id": "a2d963a87d70"}, "provider": "ws"})),
        ],
    )
    .await;
    let db = t.dir.path().join("sluice.db").display().to_string();
    let replay = |id: i64| {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
                .args(["events", "replay", &id.to_string(), "--db", &db])
                .env("NO_COLOR", "1")
                .output()
                .unwrap()
        })
    };
    let out = replay(first).await.unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("woke run_a/paid"), "{shown}");
    assert!(shown.contains("sluice resume run_a"), "{shown}");
    let paid = t
        .store
        .load_step(&StepKey::step("run_a", "paid"))
        .await
        .unwrap();
    assert_eq!(paid.state, StepState::Pending);
    let copy = t.store.load_event(paid.event_id.unwrap()).await.unwrap();
    assert!(
        copy.event
            .dedupe_key
            .starts_with(&format!("replay:{first}:")),
        "{copy:?}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&copy.event.payload).unwrap(),
        serde_json::from_slice::<Value>(&body).unwrap()
    );
    assert_eq!(
        t.store
            .load_step(&StepKey::step("run_a", "swapped"))
            .await
            .unwrap()
            .state,
        StepState::Waiting,
        "another event type"
    );

    let out = replay(junk_id).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not parse"));
    let out = replay(999).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn an_event_is_stored_and_matched_with_its_personal_fields_redacted() {
    let t = intake().await;
    let body = String::from_utf8(fixture("webhook_transfer_completed.json"))
        .unwrap()
        .replace(
            "\"note\": null",
            "\"note\": \"refund to card 4111 2233 4455 6671\"",
        );
    let (status, stored) = t.whalestack(body.as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    let event = t
        .store
        .load_event(stored["id"].as_i64().unwrap())
        .await
        .unwrap();
    let payload: Value = serde_json::from_str(&event.event.payload).unwrap();
    let transfer = &payload["data"]["transfer"];
    assert_eq!(transfer["targetAccount"]["fields"], "***", "{payload}");
    assert_eq!(transfer["note"], "refund to card 4111 •••• •••• 6671");
    assert!(
        !event
            .event
            .payload
            .contains("bc1qj633nx575jm28smgcp3mx6n3gh0zg6ndr0ew24")
    );
    // What the engine reads of it is intact.
    assert_eq!(transfer["id"], "8947deb6a087");
    assert_eq!(transfer["targetAmountNet"], "0.4997990");
    assert_eq!(event.event.object_id.as_deref(), Some("8947deb6a087"));
}
