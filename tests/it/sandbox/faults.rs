//! Each route fault kind over HTTP, set from the config or at run time through
//! `POST /__sandbox/faults`: provider-shaped errors, 429 with `Retry-After`, latency, a reset
//! before the handler, and "applied but response lost".

use std::time::{Duration, Instant};

use reqwest::Method;
use rust_decimal_macros::dec;
use serde_json::json;
use sluice::catalog::ProviderKind;
use sluice::sandbox::Faults;

use super::support::*;

async fn set_faults(s: &Sandbox, routes: serde_json::Value) {
    s.hook(Method::POST, "/faults", Some(json!({ "routes": routes })))
        .await
        .expect(200);
}

#[tokio::test]
async fn error_faults_answer_in_each_providers_shape_and_run_nothing() {
    let s = sandbox().await;
    set_faults(
        &s,
        json!([
            {"route": "POST /white/charges", "fault": "error", "times": 1},
            {"route": "/whalestack/*", "fault": "error", "status": 503, "times": 1},
            {"route": "/whitepay/*", "fault": "error", "times": 1},
            {"route": "POST /whitestones/v1/payouts", "fault": "error", "times": 1},
        ]),
    )
    .await;
    let form = [
        ("amount", "1000"),
        ("currency", "aed"),
        ("email", "a@b.co"),
        ("card[number]", "4242424242424242"),
        ("card[exp_month]", "1"),
        ("card[exp_year]", "2030"),
        ("card[cvc]", "123"),
    ];
    let failed = s.white(Method::POST, "/charges", &form).await.expect(500);
    assert_shape(&failed, "white/error.json");
    assert_eq!(failed["error"]["type"], "processing");
    assert!(
        s.white(Method::GET, "/charges", &[]).await.expect(200)["charges"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    s.white(Method::POST, "/charges", &form).await.expect(201);

    assert_shape(
        &s.ws(Method::GET, "/wallets", None).await.expect(503),
        "whalestack/error.json",
    );
    s.ws(Method::GET, "/wallets", None).await.expect(200);
    assert!(
        s.wp(Method::GET, "/private-api/balances", None)
            .await
            .expect(500)["message"]
            .is_string()
    );
    let payout = fixture("whitestones/payout_request.json");
    let refused = s
        .wst(Method::POST, "/payouts", Some(payout.clone()), Some("k"))
        .await
        .expect(500);
    assert_eq!(refused["error"]["code"], "server_error");
    assert!(
        s.handle
            .ledger()
            .iter()
            .all(|e| e.provider != ProviderKind::Whitestones || e.kind == "opening")
    );
    s.wst(Method::POST, "/payouts", Some(payout), Some("k"))
        .await
        .expect(200);
}

#[tokio::test]
async fn rate_limit_and_latency_faults() {
    let s = sandbox().await;
    set_faults(
        &s,
        json!([
            {"route": "/whitestones/*", "fault": "rate_limit", "retry_after": "2s", "times": 1},
            {"route": "GET /whalestack/api/v1/ping", "fault": "latency", "delay": "150ms"},
        ]),
    )
    .await;
    let limited = s.wst(Method::GET, "/merchant/profile", None, None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "2");
    assert_eq!(limited.body["error"]["code"], "rate_limited");
    s.wst(Method::GET, "/merchant/profile", None, None)
        .await
        .expect(200);

    let started = Instant::now();
    let (status, _) = get_json(&s.http, &s.url(ProviderKind::Whalestack, "/ping")).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));

    let rules = s.hook(Method::GET, "/faults", None).await.expect(200);
    assert_eq!(rules["routes"].as_array().unwrap().len(), 2);
    s.hook(Method::DELETE, "/faults", None).await.expect(200);
    assert!(
        s.hook(Method::GET, "/faults", None).await.expect(200)["routes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Hooks are never faulted, even by a catch-all rule.
    set_faults(&s, json!([{"route": "*", "fault": "error"}])).await;
    s.hook(Method::GET, "/ledger", None).await.expect(200);
    s.ws(Method::GET, "/wallets", None).await.expect(500);
}

#[tokio::test]
async fn drop_resets_the_connection_before_anything_happens() {
    let s = sandbox().await;
    set_faults(
        &s,
        json!([{"route": "POST /whitestones/v1/payouts", "fault": "drop", "times": 1}]),
    )
    .await;
    let request = fixture("whitestones/payout_request.json");
    let sent = with_json(
        s.http
            .post(s.url(ProviderKind::Whitestones, "/payouts"))
            .bearer_auth(KEY)
            .header("X-WS-Secret", SECRET)
            .header("Idempotency-Key", "drop-1"),
        &request,
    )
    .send()
    .await;
    assert!(
        sent.is_err(),
        "the client must see a transport error, got {sent:?}"
    );
    assert_eq!(
        s.handle.balance(ProviderKind::Whitestones, "USD"),
        dec!(100000)
    );
    let payout = s
        .wst(Method::POST, "/payouts", Some(request), Some("drop-1"))
        .await
        .expect(200);
    assert_eq!(s.entries_of(payout["id"].as_str().unwrap()).len(), 2);
}

#[tokio::test]
async fn lost_response_applies_the_write_and_the_client_sees_a_reset() {
    let s = sandbox_with(|c| {
        c.faults = Faults {
            routes: vec![
                "lost_response@POST /whalestack/api/v1/transfer/commit,times=1"
                    .parse()
                    .unwrap(),
            ],
            webhooks: vec![],
        }
    })
    .await;
    let account = json!({"network": "SEPA", "label": "anna", "fields": {"iban": "DE23100110012624331586", "bic": "NTSBDEB1XXX", "bankName": "N26", "bankAddress": "Berlin"}});
    s.ws(Method::POST, "/target-account", Some(account))
        .await
        .expect(200);
    let t = s
        .ws(Method::POST, "/transfer", Some(json!({"network": "SEPA", "asset": USDC, "amount": "250", "targetAccount": "anna", "note": "run-9/anna"})))
        .await
        .expect(200);
    let id = t["transfer"]["id"].as_str().unwrap().to_string();

    // Sign and send the commit by hand so the transport error is visible.
    let body = serde_json::to_vec(&json!({"transferId": id})).unwrap();
    let ts = unix_now().to_string();
    let message = [
        b"/transfer/commit".as_slice(),
        ts.as_bytes(),
        b"POST",
        &body,
    ]
    .concat();
    let sent = s
        .http
        .post(s.url(ProviderKind::Whalestack, "/transfer/commit"))
        .header("X-Digest-Key", KEY)
        .header("X-Digest-Timestamp", &ts)
        .header("X-Digest-Signature", hmac_hex(SECRET.as_bytes(), &message))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    assert!(
        sent.is_err(),
        "the client must see a transport error, got {sent:?}"
    );

    // The commit happened: the ledger has the debit, the transfer is processing.
    let entries = s.entries_of(&id);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].amount, entries[0].reference.as_deref()),
        (dec!(-250), Some("run-9/anna"))
    );
    let got = s
        .ws(Method::GET, &format!("/transfer?id={id}"), None)
        .await
        .expect(200);
    assert_eq!(got["transfer"]["state"], "PROCESSING");
    // Committing again is refused: the payment exists exactly once.
    s.ws(
        Method::POST,
        "/transfer/commit",
        Some(json!({"transferId": id})),
    )
    .await
    .expect(400);
    assert_eq!(s.entries_of(&id).len(), 1);
}

#[tokio::test]
async fn lost_response_on_an_idempotent_write_is_recovered_by_replaying_the_key() {
    let s = sandbox().await;
    set_faults(
        &s,
        json!([{"route": "POST /whitestones/v1/payouts", "fault": "lost_response", "times": 1}]),
    )
    .await;
    let request = fixture("whitestones/payout_request.json");
    let sent = with_json(
        s.http
            .post(s.url(ProviderKind::Whitestones, "/payouts"))
            .bearer_auth(KEY)
            .header("X-WS-Secret", SECRET)
            .header("Idempotency-Key", "lost-1"),
        &request,
    )
    .send()
    .await;
    assert!(sent.is_err());
    assert_eq!(
        s.handle.balance(ProviderKind::Whitestones, "USD"),
        dec!(99949.75)
    );
    let replay = s
        .wst(Method::POST, "/payouts", Some(request), Some("lost-1"))
        .await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    let id = replay.expect(200)["id"].as_str().unwrap().to_string();
    let keyed: Vec<_> = s
        .handle
        .ledger()
        .into_iter()
        .filter(|e| e.idempotency_key.as_deref() == Some("lost-1"))
        .collect();
    assert_eq!(keyed.len(), 2);
    assert!(keyed.iter().all(|e| e.object_id == id));
}
