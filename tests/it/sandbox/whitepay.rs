//! Whitepay over HTTP: balances, rates and conversions that really move balances.

use reqwest::Method;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use sluice::catalog::ProviderKind;

use super::support::*;

fn balance_id(balances: &Value, ticker: &str) -> String {
    balances["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency"]["ticker"] == ticker)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn conversion_moves_through_its_states_and_both_balances() {
    let s = sandbox().await;
    let balances = s
        .wp(Method::GET, "/private-api/balances", None)
        .await
        .expect(200);
    assert_shape(&balances, "whitepay/balances.json");
    let doge = balance_id(&balances, "DOGE");
    let usdt = balance_id(&balances, "USDT");

    let rates = s
        .wp(Method::GET, &format!("/private-api/balances/{usdt}"), None)
        .await
        .expect(200);
    assert_shape(&rates, "whitepay/balance.json");
    let btc = rates["balance"]["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["ticker"] == "BTC")
        .unwrap();
    assert_eq!(btc["exchange_rate"], "0.00003333");

    let request = fixture("whitepay/conversion_request.json");
    let created = s
        .wp(
            Method::POST,
            &format!("/private-api/balances/{doge}"),
            Some(request),
        )
        .await
        .expect(200);
    assert_shape(&created, "whitepay/conversion.json");
    let t = &created["transaction"];
    assert_eq!(
        (
            t["status"].clone(),
            t["value_to"].clone(),
            t["currency_from"].clone()
        ),
        (json!("INIT"), json!("0.00000000"), json!("DOGE"))
    );
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(
        s.handle.balance(ProviderKind::Whitepay, "DOGE"),
        dec!(99960)
    );

    s.advance("5s").await;
    let processing = s
        .wp(
            Method::GET,
            &format!("/private-api/transactions/{id}"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(processing["transaction"]["status"], "PROCESSING");
    s.advance("5s").await;
    let done = s
        .wp(
            Method::GET,
            &format!("/private-api/transactions/{id}"),
            None,
        )
        .await
        .expect(200);
    assert_shape(&done, "whitepay/conversion.json");
    assert_eq!(
        (
            done["transaction"]["status"].clone(),
            done["transaction"]["value_to"].clone()
        ),
        (json!("COMPLETED"), json!("4.00000000"))
    );
    assert!(done["transaction"]["completed_at"].is_string());
    assert_eq!(
        s.handle.balance(ProviderKind::Whitepay, "USDT"),
        dec!(100004)
    );
    let kinds: Vec<_> = s.entries_of(&id).iter().map(|e| e.kind.clone()).collect();
    assert_eq!(kinds, ["conversion.debit", "conversion.credit"]);
}

#[tokio::test]
async fn conversions_are_refused_or_reversed_as_the_balance_says() {
    let s = sandbox().await;
    let balances = s
        .wp(Method::GET, "/private-api/balances", None)
        .await
        .expect(200);
    let usdt = balance_id(&balances, "USDT");
    let path = format!("/private-api/balances/{usdt}");
    for (body, field) in [
        (
            json!({"currency_to": "BTC", "amount_to_convert": "100000.01"}),
            "amount_to_convert",
        ),
        (
            json!({"currency_to": "BTC", "amount_to_convert": "1.001"}),
            "amount_to_convert",
        ),
        (
            json!({"currency_to": "BTC", "amount_to_convert": "0.50"}),
            "amount_to_convert",
        ),
        (
            json!({"currency_to": "XYZ", "amount_to_convert": "10"}),
            "currency_to",
        ),
        (
            json!({"currency_to": "USDT", "amount_to_convert": "10"}),
            "currency_to",
        ),
    ] {
        let refused = s
            .wp(Method::POST, &path, Some(body.clone()))
            .await
            .expect(422);
        assert!(refused["errors"][field].is_array(), "{body}: {refused}");
    }
    s.wp(
        Method::POST,
        "/private-api/balances/00000000-0000-0000-0000-000000000000",
        Some(json!({})),
    )
    .await
    .expect(404);
    assert_eq!(
        s.handle.balance(ProviderKind::Whitepay, "USDT"),
        dec!(100000)
    );

    let created = s
        .wp(
            Method::POST,
            &path,
            Some(json!({"currency_to": "BTC", "amount_to_convert": 300})),
        )
        .await
        .expect(200);
    let id = created["transaction"]["id"].as_str().unwrap().to_string();
    s.hook(
        Method::POST,
        "/outcomes",
        Some(json!({"id": id, "outcome": "fail"})),
    )
    .await
    .expect(200);
    s.advance("10s").await;
    assert_eq!(
        s.wp(
            Method::GET,
            &format!("/private-api/transactions/{id}"),
            None
        )
        .await
        .expect(200)["transaction"]["status"],
        "FAILED"
    );
    assert_eq!(
        s.handle.balance(ProviderKind::Whitepay, "USDT"),
        dec!(100000)
    );
    assert_eq!(s.handle.balance(ProviderKind::Whitepay, "BTC"), dec!(2));
}
