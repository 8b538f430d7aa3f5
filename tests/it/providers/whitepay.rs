//! Whitepay against a fake: Bearer token, the balance id resolved from the ticker, the
//! conversion body checked against the currency's precision, rates, and failure classes.

use std::sync::Arc;

use serde_json::json;
use sluice::catalog::ProviderKind;
use sluice::providers::{FailureClass, HttpClient, Outcome, Provider, build};
use sluice::signing;

use super::fake::{Fake, Reply, Scenario, block, execute, failure_classes, with};

const TOKEN: &str = "wp_token_sentinel";

fn provider(base_url: &str) -> Arc<dyn Provider> {
    build(
        &block(ProviderKind::Whitepay, base_url, &[("token", TOKEN)]),
        &HttpClient::new().unwrap(),
    )
    .unwrap()
}

fn balances() -> Reply {
    Reply::json(
        200,
        json!({"balances": [
            {"id": "9a747ebd-1b42-4bd2-a72e-62ffedd3f4aa", "value": "87.06441001",
             "currency": {"id": "d9da", "ticker": "USDT", "is_fiat": false, "precision": 4, "title": "Tether US"}},
            {"id": "eebb66d9-1075-4db4-8a68-54d35689dd16", "value": "1200.5",
             "currency": {"id": "e1", "ticker": "DOGE", "precision": 8, "title": "Dogecoin"}}
        ]}),
    )
}

#[tokio::test]
async fn conversion_posts_to_the_tickers_balance() {
    let fake = Fake::start("").await;
    fake.on("GET", "/private-api/balances", balances()).on(
        "POST",
        "/private-api/balances/eebb66d9-1075-4db4-8a68-54d35689dd16",
        Reply::json(
            200,
            json!({"transaction": {
                "id": "85fec40f-b4df-4b52-a725-6cffdea4cf0e", "type": "CONVERT", "currency": "DOGE",
                "value": "40", "status": "INIT", "hash": null, "created_at": "2024-07-11 09:36:46",
                "completed_at": null, "currency_from": "DOGE", "value_from": "40.00000000",
                "currency_to": "USDT", "value_to": "0.00000000"
            }}),
        ),
    );
    let p = provider(&fake.base_url);
    let w = with(json!({"source_asset": "doge", "target_asset": "USDT", "source_amount": "40"}));
    let Outcome::Done(out) = execute(p.as_ref(), "swap", &w, "idk_wp", None)
        .await
        .unwrap()
    else {
        panic!("expected done");
    };
    assert_eq!(
        out.id.as_deref(),
        Some("85fec40f-b4df-4b52-a725-6cffdea4cf0e")
    );
    assert_eq!(out.to_json()["state"], "pending");
    let got = fake.received();
    assert_eq!(
        got[1].body_text(),
        r#"{"currency_to":"USDT","amount_to_convert":"40"}"#
    );
    for r in &got {
        assert_eq!(r.header("authorization"), format!("Bearer {TOKEN}"));
    }
}

#[tokio::test]
async fn precision_comes_from_the_balance_and_is_checked_before_the_write() {
    let fake = Fake::start("").await;
    fake.on("GET", "/private-api/balances", balances());
    let p = provider(&fake.base_url);
    let w =
        with(json!({"source_asset": "USDT", "target_asset": "DOGE", "source_amount": "1.00005"}));
    let e = execute(p.as_ref(), "swap", &w, "idk_wp", None)
        .await
        .unwrap_err();
    assert_eq!(e.class(), FailureClass::Invalid);
    assert!(
        e.to_string().contains("has 5 decimals but `USDT` allows 4"),
        "{e}"
    );
    assert_eq!(fake.lines(), ["GET /private-api/balances"]);
}

#[tokio::test]
async fn balance_and_rate_reads() {
    let fake = Fake::start("").await;
    fake.on("GET", "/private-api/balances", balances())
        .on("GET", "/private-api/balances", balances())
        .on("GET", "/private-api/balances/9a747ebd-1b42-4bd2-a72e-62ffedd3f4aa", Reply::json(200, json!({"balance": {
            "id": "9a747ebd-1b42-4bd2-a72e-62ffedd3f4aa",
            "currency": {"ticker": "USDT", "precision": 2, "min_exchange_amount": "1.00"},
            "value": "249.07714917",
            "currencies": [
                {"id": "7b8a", "precision": 8, "exchange_rate": "0.00001723", "ticker": "BTC"},
                {"id": "5992", "precision": 8, "exchange_rate": "0.9978", "ticker": "USDC"}
            ]
        }})));
    let p = provider(&fake.base_url);
    let Outcome::Done(b) = execute(
        p.as_ref(),
        "balance.get",
        &with(json!({"currency": "USDT"})),
        "k",
        None,
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert_eq!(b.to_json()["amount"], "87.06441001");
    let w = with(json!({"source_asset": "USDT", "target_asset": "BTC", "amount": "1000"}));
    let Outcome::Done(r) = execute(p.as_ref(), "rate.get", &w, "k", None)
        .await
        .unwrap()
    else {
        panic!()
    };
    let j = r.to_json();
    assert_eq!(j["exchange_rate"], "0.00001723");
    assert_eq!(j["amount"], "0.01723000");
    assert_eq!(j["asset"], "BTC");
}

#[tokio::test]
async fn transaction_is_polled_at_the_overridable_path() {
    let fake = Fake::start("").await;
    fake.on(
        "GET",
        "/private-api/transactions/85fec40f",
        Reply::json(
            200,
            json!({"transaction": {
                "id": "85fec40f", "status": "COMPLETE", "currency_from": "DOGE", "value_from": "40",
                "currency_to": "USDT", "value_to": "4.1234"
            }}),
        ),
    );
    let p = provider(&fake.base_url);
    let out = p.poll("transaction", "85fec40f").await.unwrap();
    assert_eq!(out.to_json()["target_amount"], "4.1234");
    assert_eq!(out.to_json()["state"], "succeeded");
}

#[tokio::test]
async fn webhooks_are_signed_with_the_token() {
    let p = provider("http://127.0.0.1:9");
    let body = br#"{"event_type":"transaction::completed","transaction":{"id":"85fec40f","status":"COMPLETE"}}"#;
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        "signature",
        signing::hmac_sha256_hex(TOKEN.as_bytes(), body)
            .parse()
            .unwrap(),
    );
    assert_eq!(p.verify_webhook(&h, body), Ok(()));
    h.insert(
        "signature",
        signing::hmac_sha256_hex(b"wrong", body).parse().unwrap(),
    );
    assert!(p.verify_webhook(&h, body).is_err());
}

#[tokio::test]
async fn every_failure_class_is_classified() {
    failure_classes(Scenario {
        build: provider,
        prefix: "",
        prelude: vec![("GET", "/private-api/balances", balances())],
        write: (
            "swap",
            json!({"source_asset": "DOGE", "target_asset": "USDT", "source_amount": "40"}),
        ),
        write_route: (
            "POST",
            "/private-api/balances/eebb66d9-1075-4db4-8a68-54d35689dd16",
        ),
        read: ("transaction", "85fec40f"),
        read_route: ("GET", "/private-api/transactions/85fec40f"),
        rejection: (
            json!({"message": "Insufficient balance"}),
            "Insufficient balance",
        ),
    })
    .await;
}
