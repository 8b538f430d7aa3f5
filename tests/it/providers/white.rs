//! White Payments against a fake: form bodies in minor units, Basic auth, the provider's
//! own error messages (never its echo of the key), lookups by description marker, and
//! failure classes.

use std::sync::Arc;

use serde_json::json;
use sluice::catalog::ProviderKind;
use sluice::providers::{
    Call, FailureClass, HttpClient, IdempotencyKey, Lookup, Outcome, Provider, ProviderError, build,
};

use super::fake::{Fake, Reply, Scenario, block, execute, failure_classes, with};

const SECRET_KEY: &str = "sk_test_sentinel";

fn provider(base_url: &str) -> Arc<dyn Provider> {
    build(
        &block(ProviderKind::White, base_url, &[("secret_key", SECRET_KEY)]),
        &HttpClient::new().unwrap(),
    )
    .unwrap()
}

fn charge(state: &str, description: &str) -> serde_json::Value {
    json!({
        "id": "ch_913ac1cf34bb962d84f39f729ca3a", "object": "charge", "amount": 1050,
        "currency": "aed", "description": description, "email": "abdullah@example.com",
        "state": state, "captured_amount": 1050, "refunded_amount": 0,
        "failure_reason": null, "failure_code": null
    })
}

#[tokio::test]
async fn charge_is_form_encoded_in_minor_units_with_basic_auth() {
    let fake = Fake::start("").await;
    fake.on(
        "POST",
        "/charges",
        Reply::json(201, charge("captured", "Two widgets [sluice:idk_ch1]")),
    );
    let p = provider(&fake.base_url);
    let w = with(
        json!({"amount": "10.50", "currency": "AED", "source": "tok_visa",
                        "email": "abdullah@example.com", "description": "Two widgets"}),
    );
    let Outcome::Done(out) = execute(p.as_ref(), "charge.create", &w, "idk_ch1", None)
        .await
        .unwrap()
    else {
        panic!("expected done");
    };
    let j = out.to_json();
    assert_eq!(
        (j["amount"].as_str(), j["currency"].as_str()),
        (Some("10.50"), Some("AED"))
    );
    assert_eq!(j["state"], "succeeded");
    let got = &fake.received()[0];
    assert_eq!(
        got.body_text(),
        "amount=1050&currency=aed&card=tok_visa&email=abdullah%40example.com\
         &description=Two+widgets+%5Bsluice%3Aidk_ch1%5D"
    );
    assert_eq!(
        got.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    // printf 'sk_test_sentinel:' | base64
    assert_eq!(
        got.header("authorization"),
        "Basic c2tfdGVzdF9zZW50aW5lbDo="
    );
}

#[tokio::test]
async fn a_decline_is_rejected_with_the_providers_message_and_no_secret() {
    let fake = Fake::start("").await;
    fake.on(
        "POST",
        "/charges",
        Reply::json(
            402,
            json!({"error": {
                "type": "banking", "code": "card_declined", "message": "The card was declined.",
                "extras": {"provided_api_key": SECRET_KEY}
            }}),
        ),
    );
    fake.on(
        "POST",
        "/charges",
        Reply::json(
            401,
            json!({"error": {
                "type": "authentication", "code": "unauthorized",
                "message": format!("Can't authenticate with provided API Key {SECRET_KEY}.")
            }}),
        ),
    );
    let p = provider(&fake.base_url);
    let w = with(json!({"amount": "1", "currency": "KWD", "source": "tok_chargeDeclined"}));
    let e = execute(p.as_ref(), "charge.create", &w, "idk_d", None)
        .await
        .unwrap_err();
    assert_eq!(e.class(), FailureClass::Rejected);
    match &e {
        ProviderError::Rejected {
            status,
            code,
            message,
            ..
        } => {
            assert_eq!(*status, Some(402));
            assert_eq!(code.as_deref(), Some("card_declined"));
            assert_eq!(message, "The card was declined.");
        }
        other => panic!("{other}"),
    }
    assert!(
        fake.received()[0]
            .body_text()
            .starts_with("amount=1000&currency=kwd&")
    );
    let e = execute(p.as_ref(), "charge.create", &w, "idk_d", None)
        .await
        .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(SECRET_KEY), "{shown}");
    assert!(
        shown.contains("Can't authenticate with provided API Key ***."),
        "{shown}"
    );
}

#[tokio::test]
async fn excess_precision_is_refused_before_anything_is_sent() {
    let fake = Fake::start("").await;
    let p = provider(&fake.base_url);
    for (amount, currency) in [("12.345", "AED"), ("1.2345", "BHD"), ("10.5", "JPY")] {
        let w = with(json!({"amount": amount, "currency": currency, "source": "tok"}));
        let e = execute(p.as_ref(), "charge.create", &w, "idk_p", None)
            .await
            .unwrap_err();
        assert_eq!(e.class(), FailureClass::Invalid, "{amount} {currency}");
    }
    assert!(fake.lines().is_empty());
}

#[tokio::test]
async fn lookups_find_charges_by_marker_and_captures_by_state() {
    let fake = Fake::start("").await;
    fake.on(
        "GET",
        "/charges",
        Reply::json(
            200,
            json!({"charges": [
                charge("captured", "Other [sluice:idk_other]"),
                charge("authorized", "Two widgets [sluice:idk_ch1]")
            ]}),
        ),
    )
    .on("GET", "/charges", Reply::json(200, json!({"charges": []})))
    .on(
        "GET",
        "/charges/ch_1",
        Reply::json(200, charge("authorized", "")),
    )
    .on(
        "GET",
        "/charges/ch_1",
        Reply::json(200, charge("captured", "")),
    );
    let p = provider(&fake.base_url);
    let w = with(json!({"amount": "10.50", "currency": "AED", "source": "tok"}));
    let key = IdempotencyKey::new("idk_ch1").unwrap();
    let call = Call {
        action: "charge.create",
        with: &w,
        key: &key,
        checkpoint: None,
    };
    let Lookup::Found(out) = p.lookup(&call, None).await.unwrap() else {
        panic!("expected found");
    };
    assert_eq!(out.to_json()["state"], "requires_action");
    assert_eq!(p.lookup(&call, None).await.unwrap(), Lookup::Absent);

    let cw = with(json!({"charge_id": "ch_1"}));
    let call = Call {
        action: "charge.capture",
        with: &cw,
        key: &key,
        checkpoint: None,
    };
    assert_eq!(p.lookup(&call, None).await.unwrap(), Lookup::Absent);
    assert!(matches!(
        p.lookup(&call, None).await.unwrap(),
        Lookup::Found(_)
    ));
}

#[tokio::test]
async fn refund_lookup_is_unknown_when_a_refund_could_be_this_steps() {
    let fake = Fake::start("").await;
    fake.on(
        "GET",
        "/charges/ch_1/refunds",
        Reply::json(200, json!({"refunds": [{"id": "re_1", "amount": 500}]})),
    )
    .on(
        "GET",
        "/charges/ch_1/refunds",
        Reply::json(200, json!({"refunds": [{"id": "re_1", "amount": 500}]})),
    );
    let p = provider(&fake.base_url);
    let key = IdempotencyKey::new("idk_r").unwrap();
    let same = with(json!({"charge_id": "ch_1", "amount": "5.00", "currency": "AED"}));
    let call = Call {
        action: "refund.create",
        with: &same,
        key: &key,
        checkpoint: None,
    };
    assert!(matches!(
        p.lookup(&call, None).await.unwrap(),
        Lookup::Unknown { .. }
    ));
    let other = with(json!({"charge_id": "ch_1", "amount": "7.00", "currency": "AED"}));
    let call = Call {
        action: "refund.create",
        with: &other,
        key: &key,
        checkpoint: None,
    };
    assert_eq!(p.lookup(&call, None).await.unwrap(), Lookup::Absent);
}

#[tokio::test]
async fn white_sends_no_webhooks() {
    let p = provider("http://127.0.0.1:9");
    assert!(
        p.verify_webhook(&reqwest::header::HeaderMap::new(), b"{}")
            .is_err()
    );
    assert!(p.parse_event(b"{}").is_err());
}

#[tokio::test]
async fn every_failure_class_is_classified() {
    failure_classes(Scenario {
        build: provider,
        prefix: "",
        prelude: Vec::new(),
        write: ("charge.create", json!({"amount": "10.00", "currency": "AED", "source": "tok_visa"})),
        write_route: ("POST", "/charges"),
        read: ("charge", "ch_1"),
        read_route: ("GET", "/charges/ch_1"),
        rejection: (
            json!({"error": {"type": "request", "code": "invalid_amount", "message": "Amount must be at least 50 cents"}}),
            "Amount must be at least 50 cents",
        ),
    })
    .await;
}
