//! Outbound webhooks: each provider's signature checked here with the documented formula,
//! bodies against the seed, retries on non-200, a Whalestack object's own URL, and the
//! webhook faults (duplicate, out of order, drop).

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use sluice::sandbox::{DeliveryOutcome, SandboxConfig};

use super::support::*;

fn fast_retries(c: &mut SandboxConfig, url: &str) {
    c.webhooks.url = Some(url.to_string());
    c.webhooks.retry_initial = Duration::from_millis(20);
    c.webhooks.max_attempts = 4;
}

async fn committed_swap(s: &Sandbox, amount: &str) -> String {
    let quote = s
        .ws(
            Method::POST,
            "/swap",
            Some(json!({"sourceAsset": USDC, "sourceAmount": amount, "targetAsset": XLM})),
        )
        .await
        .expect(200);
    let id = quote["swap"]["id"].as_str().unwrap().to_string();
    s.ws(Method::POST, "/swap/commit", Some(json!({"swapId": id})))
        .await
        .expect(200);
    id
}

#[tokio::test]
async fn whalestack_webhooks_are_signed_and_match_the_seed() {
    let mut rx = Receiver::start(0).await;
    let s = sandbox_with(|c| fast_retries(c, &rx.url)).await;
    let id = committed_swap(&s, "100").await;
    s.advance("5s").await;
    let hook = rx.next().await;
    // X-Webhook-Auth = hex sha256(secret . raw body)
    assert_eq!(
        hook.headers["x-webhook-auth"],
        sha256(&[SECRET.as_bytes(), &hook.body]).as_str()
    );
    assert_eq!(hook.headers["content-type"], "application/json");
    let body = hook.json();
    assert_shape(&body, "whalestack/webhook_swap_completed.json");
    assert_eq!(
        (
            body["eventType"].clone(),
            body["data"]["swap"]["id"].clone()
        ),
        (json!("SWAP_COMPLETED"), json!(id))
    );

    // A checkout paid in full, and one underpaid then accepted.
    let full = s
        .ws(
            Method::POST,
            "/checkout/hosted",
            Some(fixture("whalestack/checkout_request_minimal.json")),
        )
        .await
        .expect(200);
    let full_id = full["id"].as_str().unwrap();
    s.hook(Method::POST, &format!("/checkouts/{full_id}/pay"), None)
        .await
        .expect(200);
    s.advance("10s").await;
    let completed = rx.next().await.json();
    assert_shape(&completed, "whalestack/webhook_checkout_completed.json");
    assert_eq!(completed["eventType"], "CHECKOUT_COMPLETED");
    let short = s
        .ws(
            Method::POST,
            "/checkout/hosted",
            Some(fixture("whalestack/checkout_request_minimal.json")),
        )
        .await
        .expect(200);
    let short_id = short["id"].as_str().unwrap();
    s.hook(
        Method::POST,
        &format!("/checkouts/{short_id}/pay"),
        Some(json!({"amount": "100"})),
    )
    .await
    .expect(200);
    s.advance("10s").await;
    let underpaid = rx.next().await.json();
    assert_shape(&underpaid, "whalestack/webhook_checkout_underpaid.json");
    assert_eq!(
        underpaid["data"]["checkout"]["state"],
        "UNRESOLVED_UNDERPAID"
    );
    s.hook(
        Method::POST,
        &format!("/checkouts/{short_id}/accept-underpaid"),
        None,
    )
    .await
    .expect(200);
    assert_shape(
        &rx.next().await.json(),
        "whalestack/webhook_underpaid_accepted.json",
    );

    s.hook(
        Method::POST,
        "/whalestack/deposits",
        Some(json!({"network": "BITCOIN", "asset": "BTC", "amount": "1"})),
    )
    .await
    .expect(200);
    assert_shape(
        &rx.next().await.json(),
        "whalestack/webhook_deposit_pending.json",
    );
    s.advance("10s").await;
    assert_shape(
        &rx.next().await.json(),
        "whalestack/webhook_deposit_completed.json",
    );
}

#[tokio::test]
async fn transfer_webhooks_go_to_the_objects_own_url_with_retries() {
    let mut global = Receiver::start(0).await;
    let mut own = Receiver::start(2).await;
    let s = sandbox_with(|c| fast_retries(c, &global.url)).await;
    let account = json!({"network": "BITCOIN", "label": "cold", "fields": {"address": "bc1qj633nx575jm28smgcp3mx6n3gh0zg6ndr0ew24"}});
    s.ws(Method::POST, "/target-account", Some(account))
        .await
        .expect(200);
    let t = s
        .ws(Method::POST, "/transfer", Some(json!({"network": "BITCOIN", "asset": BTC, "amount": "0.5", "targetAccount": "cold", "webhook": own.url})))
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
    s.advance("10s").await;
    // Two 500s, then a 200: three identical, identically signed attempts.
    let attempts = [own.next().await, own.next().await, own.next().await];
    assert!(attempts.iter().all(|a| a.body == attempts[0].body));
    assert_shape(
        &attempts[2].json(),
        "whalestack/webhook_transfer_completed.json",
    );
    own.nothing_within(Duration::from_millis(150)).await;
    global.nothing_within(Duration::from_millis(50)).await;
    let log = s.hook(Method::GET, "/webhooks", None).await.expect(200);
    let delivery = &log["deliveries"][0];
    assert_eq!(
        (delivery["attempts"].clone(), delivery["outcome"].clone()),
        (json!(3), json!("delivered"))
    );

    // A failing transfer sends TRANSFER_FAILED.
    s.ws(Method::POST, "/target-account", Some(json!({"network": "BITCOIN", "label": "fail-wallet", "fields": {"address": "bc1qfail"}}))).await.expect(200);
    let f = s.ws(Method::POST, "/transfer", Some(json!({"network": "BITCOIN", "asset": BTC, "amount": "0.1", "targetAccount": "fail-wallet"}))).await.expect(200);
    s.ws(
        Method::POST,
        "/transfer/commit",
        Some(json!({"transferId": f["transfer"]["id"]})),
    )
    .await
    .expect(200);
    s.advance("10s").await;
    assert_shape(
        &global.next().await.json(),
        "whalestack/webhook_transfer_failed.json",
    );
}

#[tokio::test]
async fn whitestones_and_whitepay_webhooks_are_signed_with_hmac() {
    let mut rx = Receiver::start(0).await;
    let s = sandbox_with(|c| fast_retries(c, &rx.url)).await;
    let payout = s
        .wst(
            Method::POST,
            "/payouts",
            Some(fixture("whitestones/payout_request.json")),
            None,
        )
        .await
        .expect(200);
    let created = rx.next().await;
    // X-WS-Signature = hex HMAC-SHA256(secret, raw body)
    assert_eq!(
        created.headers["x-ws-signature"],
        hmac_hex(SECRET.as_bytes(), &created.body).as_str()
    );
    let body = created.json();
    assert_eq!(
        (body["type"].clone(), body["data"]["object"]["id"].clone()),
        (json!("payout.created"), payout["id"].clone())
    );
    s.advance("30s").await;
    assert_eq!(rx.next().await.json()["type"], "payout.completed");

    let balances = s
        .wp(Method::GET, "/private-api/balances", None)
        .await
        .expect(200);
    let usdt = balances["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["currency"]["ticker"] == "USDT")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.wp(
        Method::POST,
        &format!("/private-api/balances/{usdt}"),
        Some(json!({"currency_to": "EUR", "amount_to_convert": "108"})),
    )
    .await
    .expect(200);
    s.advance("5s").await;
    s.advance("5s").await;
    let processing = rx.next().await;
    // Signature = hex HMAC-SHA256(token, raw body)
    assert_eq!(
        processing.headers["signature"],
        hmac_hex(KEY.as_bytes(), &processing.body).as_str()
    );
    assert_eq!(processing.json()["event_type"], "transaction::processing");
    let completed = rx.next().await.json();
    assert_eq!(
        (
            completed["event_type"].clone(),
            completed["transaction"]["value_to"].clone()
        ),
        (json!("transaction::completed"), json!("100.00000000"))
    );
}

#[tokio::test]
async fn webhook_faults_duplicate_reorder_and_drop() {
    let mut rx = Receiver::start(0).await;
    let s = sandbox_with(|c| fast_retries(c, &rx.url)).await;
    s.hook(
        Method::POST,
        "/faults",
        Some(json!({"webhooks": [
            {"provider": "whalestack", "event": "SWAP_*", "fault": "duplicate", "times": 1},
            {"event": "SWAP_COMPLETED", "fault": "out_of_order", "times": 1},
            {"provider": "whalestack", "fault": "drop", "skip": 1, "times": 1},
        ]})),
    )
    .await
    .expect(200);
    let first = committed_swap(&s, "10").await;
    s.advance("5s").await;
    let a = rx.next().await;
    let b = rx.next().await;
    assert_eq!(a.body, b.body, "a duplicate is the same delivery twice");
    assert_eq!(a.json()["data"]["swap"]["id"], json!(first));

    // Two swaps completing together: the first one's event arrives second.
    let second = committed_swap(&s, "20").await;
    let third = committed_swap(&s, "30").await;
    s.advance("5s").await;
    let early = rx.next().await.json();
    let late = rx.next().await.json();
    assert_eq!(
        (
            early["data"]["swap"]["id"].clone(),
            late["data"]["swap"]["id"].clone()
        ),
        (json!(third), json!(second))
    );

    // The next Whalestack event is dropped.
    committed_swap(&s, "40").await;
    s.advance("5s").await;
    rx.nothing_within(Duration::from_millis(200)).await;
    let log = s.handle.deliveries();
    assert_eq!(log.last().unwrap().outcome, DeliveryOutcome::Dropped);
    assert_eq!(
        log.iter()
            .filter(|d| d.outcome == DeliveryOutcome::Delivered)
            .count(),
        4
    );
}

#[tokio::test]
async fn without_a_url_events_are_only_logged() {
    let s = sandbox().await;
    committed_swap(&s, "10").await;
    s.advance("5s").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let log = s.hook(Method::GET, "/webhooks", None).await.expect(200);
    assert_eq!(
        (
            log["deliveries"][0]["event"].clone(),
            log["deliveries"][0]["outcome"].clone()
        ),
        (json!("SWAP_COMPLETED"), json!("no_url"))
    );
}
