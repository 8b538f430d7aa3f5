//! The `/__sandbox/` hooks: ledger, balances, reset, clock, seeding without credentials,
//! auto-pay, and the background ticker of a running clock.

use std::time::Duration;

use reqwest::Method;
use rust_decimal_macros::dec;
use serde_json::json;
use sluice::catalog::ProviderKind;
use sluice::sandbox::AutoPay;

use super::support::*;

#[tokio::test]
async fn ledger_balances_reset_and_clock() {
    let s = sandbox().await;
    let opening = s
        .hook(Method::GET, "/ledger?kind=opening", None)
        .await
        .expect(200);
    assert!(opening["entries"].as_array().unwrap().len() >= 20);
    let balances = s.hook(Method::GET, "/balances", None).await.expect(200);
    assert_eq!(balances["whalestack"][USDC], "100000");
    assert_eq!(balances["whitestones"]["USD"], "100000");
    assert_eq!(balances["whitepay"]["BTC"], "2");
    assert_eq!(balances["white"]["AED"], "10000");

    // A smaller wallet makes the same transfer impossible.
    let set = s
        .hook(
            Method::PUT,
            "/balances",
            Some(json!({"provider": "whalestack", "asset": "USDC", "balance": "100"})),
        )
        .await
        .expect(200);
    assert_eq!(set["whalestack"][USDC], "100");
    s.ws(Method::POST, "/target-account", Some(json!({"network": "STELLAR", "label": "g", "fields": {"account": "GDONUHZKLSYLDOZWR2TDW25GFXOBWCCKTPK34DLUVSOMFHLGURX6FNU6"}}))).await.expect(200);
    s.ws(Method::POST, "/transfer", Some(json!({"network": "STELLAR", "asset": USDC, "amount": "100.0000001", "targetAccount": "g"}))).await.expect(400);
    let t = s
        .ws(
            Method::POST,
            "/transfer",
            Some(
                json!({"network": "STELLAR", "asset": USDC, "amount": "100", "targetAccount": "g"}),
            ),
        )
        .await
        .expect(200);
    let id = t["transfer"]["id"].as_str().unwrap().to_string();
    s.ws(
        Method::POST,
        "/transfer/commit",
        Some(json!({"transferId": id})),
    )
    .await
    .expect(200);
    let mine = s
        .hook(
            Method::GET,
            &format!("/ledger?provider=whalestack&object_id={id}"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(mine["entries"].as_array().unwrap().len(), 1);
    assert_eq!(mine["entries"][0]["amount"], "-100");
    assert_eq!(mine["entries"][0]["balance_after"], "0");
    s.hook(
        Method::PUT,
        "/balances",
        Some(json!({"provider": "whalestack", "asset": "USDC", "balance": "-1"})),
    )
    .await
    .expect(400);
    s.hook(Method::GET, "/ledger?provider=nowhere", None)
        .await
        .expect(400);

    let before = s.hook(Method::GET, "/clock", None).await.expect(200);
    assert_eq!(before["speed"], 0);
    let moved = s
        .hook(Method::POST, "/advance", Some(json!({"seconds": 3600})))
        .await
        .expect(200);
    assert_ne!(moved["now"], before["now"]);
    s.hook(Method::POST, "/advance", Some(json!({"by": "soon"})))
        .await
        .expect(400);
    assert_eq!(
        s.ws(Method::GET, &format!("/transfer?id={id}"), None)
            .await
            .expect(200)["transfer"]["state"],
        "COMPLETED"
    );

    s.hook(Method::POST, "/reset", None).await.expect(200);
    s.ws(Method::GET, &format!("/transfer?id={id}"), None)
        .await
        .expect(404);
    assert_eq!(
        s.handle.balance(ProviderKind::Whalestack, USDC),
        dec!(100000)
    );
    assert!(s.handle.ledger().iter().all(|e| e.kind == "opening"));
    assert!(
        s.hook(Method::GET, "/webhooks", None).await.expect(200)["deliveries"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn seed_routes_skip_credentials() {
    let s = sandbox().await;
    let origin = s.handle.hooks_url();
    let ws = with_json(
        s.http
            .post(format!("{origin}/seed/whalestack/api/v1/customer")),
        &json!({"customer": {"email": "seeded@example.com"}}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(ws.status(), 200);
    let id = serde_json::from_slice::<serde_json::Value>(&ws.bytes().await.unwrap()).unwrap()["customerId"].as_str().unwrap().to_string();
    let got = s
        .ws(Method::GET, &format!("/customer?id={id}"), None)
        .await
        .expect(200);
    assert_eq!(got["customer"]["email"], "seeded@example.com");
    let label = json!({"network": "SEPA", "label": "seeded", "fields": {"iban": "DE1", "bic": "B", "bankName": "N", "bankAddress": "A"}});
    let account = with_json(
        s.http
            .post(format!("{origin}/seed/whalestack/api/v1/target-account")),
        &label,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(account.status(), 200);

    let white = s
        .http
        .post(format!("{origin}/seed/white/customers"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=seeded%40example.com&name=Seeded")
        .send()
        .await
        .unwrap();
    assert_eq!(white.status(), 201);
    assert_eq!(
        s.white(Method::GET, "/customers", &[]).await.expect(200)["customers"][0]["name"],
        "Seeded"
    );
    let (status, _) = get_json(
        &s.http,
        &format!("{origin}/seed/whitepay/private-api/balances"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = get_json(
        &s.http,
        &format!("{origin}/seed/whitestones/v1/merchant/profile"),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn auto_pay_plays_the_customer_in_full_or_short() {
    let s = sandbox_with(|c| {
        c.auto_pay = Some(AutoPay {
            after: Duration::from_secs(5),
            ratio: dec!(1),
        })
    })
    .await;
    let checkout = s
        .ws(
            Method::POST,
            "/checkout/hosted",
            Some(fixture("whalestack/checkout_request_minimal.json")),
        )
        .await
        .expect(200);
    let id = checkout["id"].as_str().unwrap().to_string();
    let intent = s
        .wst(
            Method::POST,
            "/payment_intents",
            Some(json!({"amount": 2500, "currency": "GBP"})),
            None,
        )
        .await
        .expect(200);
    let pi = intent["id"].as_str().unwrap().to_string();
    s.advance("4s").await;
    assert_eq!(
        s.ws(Method::GET, &format!("/checkout?id={id}"), None)
            .await
            .expect(200)["checkout"]["state"],
        "NEW_CHARGE"
    );
    s.advance("1s").await;
    assert_eq!(
        s.ws(Method::GET, &format!("/checkout?id={id}"), None)
            .await
            .expect(200)["checkout"]["state"],
        "IN_PROGRESS"
    );
    s.advance("10s").await;
    assert_eq!(
        s.ws(Method::GET, &format!("/checkout?id={id}"), None)
            .await
            .expect(200)["checkout"]["state"],
        "COMPLETED"
    );
    assert_eq!(
        s.wst(Method::GET, &format!("/payment_intents/{pi}"), None, None)
            .await
            .expect(200)["status"],
        "succeeded"
    );
    assert_eq!(
        s.handle.balance(ProviderKind::Whitestones, "GBP"),
        dec!(100025.00)
    );

    let short = sandbox_with(|c| {
        c.auto_pay = Some(AutoPay {
            after: Duration::from_secs(5),
            ratio: dec!(0.9),
        })
    })
    .await;
    let checkout = short
        .ws(
            Method::POST,
            "/checkout",
            Some(fixture("whalestack/checkout_request_minimal.json")),
        )
        .await
        .expect(200);
    let id = checkout["id"].as_str().unwrap().to_string();
    short.advance("15s").await;
    let c = short
        .ws(Method::GET, &format!("/checkout?id={id}"), None)
        .await
        .expect(200);
    assert_eq!(c["checkout"]["state"], "UNRESOLVED_UNDERPAID");
    assert_eq!(c["checkout"]["sourceAmountReceived"], "165.2302800");
}

#[tokio::test]
async fn a_running_clock_moves_objects_without_advance() {
    let s = sandbox_with(|c| {
        c.speed = 1000;
        c.tick = Duration::from_millis(10);
    })
    .await;
    let quote = s
        .ws(
            Method::POST,
            "/swap",
            Some(json!({"sourceAsset": USDC, "sourceAmount": "1", "targetAsset": XLM})),
        )
        .await
        .expect(200);
    let id = quote["swap"]["id"].as_str().unwrap().to_string();
    s.ws(Method::POST, "/swap/commit", Some(json!({"swapId": id})))
        .await
        .expect(200);
    // 5 sandbox seconds are 5 ms here; the ticker finishes the swap within a few ticks.
    let mut state = json!(null);
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        state = s
            .ws(Method::GET, &format!("/swap?id={id}"), None)
            .await
            .expect(200)["swap"]["state"]
            .clone();
        if state == "COMPLETED" {
            break;
        }
    }
    assert_eq!(state, "COMPLETED");
    s.handle.shutdown().await;
}

#[tokio::test]
async fn the_urls_handed_out_are_pages_that_can_pay() {
    let s = sandbox().await;
    let checkout = s
        .ws(
            Method::POST,
            "/checkout/hosted",
            Some(fixture("whalestack/checkout_request_minimal.json")),
        )
        .await
        .expect(200);
    let id = checkout["id"].as_str().unwrap().to_string();
    let page = s
        .http
        .get(checkout["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&id) && html.contains("NEW_CHARGE"), "{html}");
    // The page's button posts an empty form to the pay hook.
    let paid = s
        .http
        .post(format!("{}/checkouts/{id}/pay", s.handle.hooks_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 200);
    assert_eq!(
        s.ws(Method::GET, &format!("/checkout?id={id}"), None)
            .await
            .expect(200)["checkout"]["state"],
        "IN_PROGRESS"
    );

    let intent = s
        .wst(
            Method::POST,
            "/payment_intents",
            Some(json!({"amount": 999, "currency": "EUR", "description": "<b>tea</b>"})),
            None,
        )
        .await
        .expect(200);
    let html = s
        .http
        .get(intent["payment_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("&lt;b&gt;tea&lt;/b&gt;") && html.contains("requires_payment_method"));
    let missing = s
        .http
        .get(format!(
            "{}/whalestack/en/checkout?id=nope",
            s.handle.origin()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
