//! WHITESTONES against a fake: Bearer + X-WS-Secret, Idempotency-Key and
//! `metadata.idempotency_key`, path overrides, lookup by key, and failure classes.

use std::sync::Arc;

use serde_json::json;
use sluice::catalog::ProviderKind;
use sluice::providers::{Call, HttpClient, IdempotencyKey, Lookup, Outcome, Provider, build};
use sluice::signing;

use super::fake::{Fake, Reply, Scenario, block, execute, failure_classes, with};

const KEY: &str = "ws_live_abc123";
const SECRET: &str = "ws_secret_def456";

fn provider_with(base_url: &str, paths: &[(&str, &str)]) -> Arc<dyn Provider> {
    let mut b = block(
        ProviderKind::Whitestones,
        base_url,
        &[("api_key", KEY), ("api_secret", SECRET)],
    );
    b.paths = paths
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    build(&b, &HttpClient::new().unwrap()).unwrap()
}

fn provider(base_url: &str) -> Arc<dyn Provider> {
    provider_with(base_url, &[])
}

fn payout(status: &str) -> serde_json::Value {
    json!({"id": "po_9876543210", "status": status, "amount": 5000, "currency": "USD",
           "estimated_arrival": "2024-01-15T10:00:00Z", "fee": 25, "created": 1640995200,
           "metadata": {"idempotency_key": "idk_po"}})
}

fn payout_with() -> serde_json::Map<String, serde_json::Value> {
    with(json!({
        "amount": "50.00", "currency": "USD", "description": "Freelance payment - Project ABC",
        "recipient": {"type": "individual", "name": "Jane Smith", "email": "jane@example.com"}
    }))
}

#[tokio::test]
async fn payout_carries_credentials_and_the_key_twice() {
    let fake = Fake::start("/v1").await;
    fake.on("POST", "/v2/payouts", Reply::json(200, payout("pending")));
    let p = provider_with(&fake.base_url, &[("payouts", "/v2/payouts")]);
    let Outcome::Done(out) = execute(p.as_ref(), "transfer", &payout_with(), "idk_po", None)
        .await
        .unwrap()
    else {
        panic!("expected done");
    };
    let j = out.to_json();
    assert_eq!(
        (j["amount"].as_str(), j["fee"].as_str()),
        (Some("50.00"), Some("0.25"))
    );
    assert_eq!(j["state"], "pending");
    let got = &fake.received()[0];
    assert_eq!(got.header("authorization"), format!("Bearer {KEY}"));
    assert_eq!(got.header("x-ws-secret"), SECRET);
    assert_eq!(got.header("idempotency-key"), "idk_po");
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(
        got.body_text(),
        r#"{"amount":5000,"currency":"USD","recipient":{"type":"individual","name":"Jane Smith","email":"jane@example.com"},"description":"Freelance payment - Project ABC","metadata":{"idempotency_key":"idk_po"}}"#
    );
}

#[tokio::test]
async fn payment_intent_for_a_checkout() {
    let fake = Fake::start("/v1").await;
    fake.on("POST", "/payment_intents", Reply::json(200, json!({
        "id": "pi_1234567890", "status": "requires_payment_method", "amount": 1000, "currency": "USD",
        "client_secret": "pi_1234567890_secret_abc123",
        "payment_url": "https://checkout.whitestones.com/pi_1234567890", "created": 1640995200
    })));
    let p = provider(&fake.base_url);
    let w = with(
        json!({"amount": "10", "currency": "USD", "description": "Order #12345",
                        "customer_email": "customer@example.com", "customer_name": "John Doe",
                        "reference": "12345", "return_url": "https://yoursite.com/success"}),
    );
    let Outcome::Done(out) = execute(p.as_ref(), "checkout.create", &w, "idk_pi", None)
        .await
        .unwrap()
    else {
        panic!("expected done");
    };
    let j = out.to_json();
    assert_eq!(
        j["payment_url"],
        "https://checkout.whitestones.com/pi_1234567890"
    );
    assert_eq!(j["raw"]["client_secret"], "***");
    assert_eq!(
        fake.received()[0].body_text(),
        r#"{"amount":1000,"currency":"USD","description":"Order #12345","customer":{"email":"customer@example.com","name":"John Doe"},"metadata":{"reference":"12345","idempotency_key":"idk_pi"},"return_url":"https://yoursite.com/success"}"#
    );
}

#[tokio::test]
async fn lookup_trusts_only_an_exact_key_match() {
    let fake = Fake::start("/v1").await;
    fake.on(
        "GET",
        "/payouts",
        Reply::json(
            200,
            json!({"data": [payout("completed")], "has_more": false}),
        ),
    )
    .on(
        "GET",
        "/payouts",
        Reply::json(
            200,
            json!({"data": [payout("completed")], "has_more": false}),
        ),
    )
    .on(
        "GET",
        "/payouts",
        Reply::json(200, json!({"data": [], "has_more": true})),
    )
    .on(
        "GET",
        "/payouts/po_9876543210",
        Reply::json(200, payout("completed")),
    );
    let p = provider(&fake.base_url);
    let w = payout_with();
    let ours = IdempotencyKey::new("idk_po").unwrap();
    let call = Call {
        action: "transfer",
        with: &w,
        key: &ours,
        checkpoint: None,
    };
    assert!(
        matches!(p.lookup(&call, None).await.unwrap(), Lookup::Found(ref o) if o.state.raw.as_deref() == Some("completed"))
    );
    assert_eq!(
        fake.received()[0].query.as_deref(),
        Some("idempotency_key=idk_po")
    );
    let theirs = IdempotencyKey::new("idk_other").unwrap();
    let call_other = Call {
        action: "transfer",
        with: &w,
        key: &theirs,
        checkpoint: None,
    };
    assert_eq!(p.lookup(&call_other, None).await.unwrap(), Lookup::Absent);
    assert!(matches!(
        p.lookup(&call_other, None).await.unwrap(),
        Lookup::Unknown { .. }
    ));
    assert!(matches!(
        p.lookup(&call, Some("po_9876543210")).await.unwrap(),
        Lookup::Found(_)
    ));
    // No search endpoint: the fake answers 404, which proves nothing.
    assert!(matches!(
        p.lookup(&call, None).await.unwrap(),
        Lookup::Unknown { .. }
    ));
}

#[tokio::test]
async fn webhooks_use_hmac_of_the_raw_body_under_an_overridable_header() {
    let body =
        br#"{"type":"payout.completed","data":{"object":{"id":"po_1","status":"completed"}}}"#;
    let sig = signing::hmac_sha256_hex(SECRET.as_bytes(), body);
    let mut b = block(
        ProviderKind::Whitestones,
        "http://127.0.0.1:9",
        &[("api_key", KEY), ("api_secret", SECRET)],
    );
    let p = build(&b, &HttpClient::new().unwrap()).unwrap();
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("x-ws-signature", sig.parse().unwrap());
    assert_eq!(p.verify_webhook(&h, body), Ok(()));
    b.webhook_signature_header = Some("X-Custom-Sig".into());
    let p = build(&b, &HttpClient::new().unwrap()).unwrap();
    assert!(p.verify_webhook(&h, body).is_err());
    h.insert("x-custom-sig", sig.parse().unwrap());
    assert_eq!(p.verify_webhook(&h, body), Ok(()));
    assert_eq!(p.parse_event(body).unwrap().object_type, "payout");
}

#[tokio::test]
async fn every_failure_class_is_classified() {
    failure_classes(Scenario {
        build: provider,
        prefix: "/v1",
        prelude: Vec::new(),
        write: (
            "transfer",
            json!({"amount": "50", "currency": "USD", "recipient": {"name": "Jane"}}),
        ),
        write_route: ("POST", "/payouts"),
        read: ("payout", "po_1"),
        read_route: ("GET", "/payouts/po_1"),
        rejection: (
            json!({"error": {"code": "invalid_request", "message": "Invalid request parameters"}}),
            "Invalid request parameters",
        ),
    })
    .await;
}
