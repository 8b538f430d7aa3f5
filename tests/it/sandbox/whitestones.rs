//! WHITESTONES over HTTP: merchant profile, payment intents, payouts with
//! `Idempotency-Key` and real balances, and the configured rate limit.

use reqwest::Method;
use rust_decimal_macros::dec;
use serde_json::json;
use sluice::catalog::ProviderKind;

use super::support::*;

#[tokio::test]
async fn payment_intents_are_paid_once() {
    let s = sandbox().await;
    let profile = s
        .wst(Method::GET, "/merchant/profile", None, None)
        .await
        .expect(200);
    assert_eq!(
        profile["balances"][0],
        json!({"currency": "USD", "available": 10000000})
    );

    let request = fixture("whitestones/payment_intent_request.json");
    let intent = s
        .wst(
            Method::POST,
            "/payment_intents",
            Some(request.clone()),
            Some("order-12345"),
        )
        .await
        .expect(200);
    assert_shape(&intent, "whitestones/payment_intent.json");
    assert_eq!(intent["status"], "requires_payment_method");
    let id = intent["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("pi_"));
    let replay = s
        .wst(
            Method::POST,
            "/payment_intents",
            Some(request.clone()),
            Some("order-12345"),
        )
        .await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.expect(200)["id"], id);
    let mut other = request.clone();
    other["amount"] = json!(1001);
    let conflict = s
        .wst(
            Method::POST,
            "/payment_intents",
            Some(other),
            Some("order-12345"),
        )
        .await
        .expect(409);
    assert_eq!(conflict["error"]["code"], "idempotency_key_reused");

    let paid = s
        .hook(Method::POST, &format!("/checkouts/{id}/pay"), None)
        .await
        .expect(200);
    assert_eq!(paid["status"], "processing");
    s.hook(Method::POST, &format!("/checkouts/{id}/pay"), None)
        .await
        .expect(400);
    s.advance("5s").await;
    let done = s
        .wst(Method::GET, &format!("/payment_intents/{id}"), None, None)
        .await
        .expect(200);
    assert_shape(&done, "whitestones/payment_intent.json");
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["metadata"]["order_id"], "12345");
    let entries = s.entries_of(&id);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].amount, entries[0].idempotency_key.as_deref()),
        (dec!(10.00), Some("order-12345"))
    );

    // Paying less than the amount fails the payment and credits nothing.
    let short = s
        .wst(
            Method::POST,
            "/payment_intents",
            Some(json!({"amount": 5000, "currency": "EUR"})),
            None,
        )
        .await
        .expect(200);
    let short_id = short["id"].as_str().unwrap().to_string();
    s.hook(
        Method::POST,
        &format!("/checkouts/{short_id}/pay"),
        Some(json!({"amount": 4999})),
    )
    .await
    .expect(200);
    s.advance("5s").await;
    assert_eq!(
        s.wst(
            Method::GET,
            &format!("/payment_intents/{short_id}"),
            None,
            None
        )
        .await
        .expect(200)["status"],
        "failed"
    );
    assert!(s.entries_of(&short_id).is_empty());

    s.wst(
        Method::POST,
        "/payment_intents",
        Some(json!({"amount": 10.5, "currency": "USD"})),
        None,
    )
    .await
    .expect(400);
    s.wst(
        Method::POST,
        "/payment_intents",
        Some(json!({"amount": 100, "currency": "JPY"})),
        None,
    )
    .await
    .expect(400);
    s.wst(Method::GET, "/payment_intents/pi_nope", None, None)
        .await
        .expect(404);
}

#[tokio::test]
async fn payouts_debit_once_per_idempotency_key() {
    let s = sandbox().await;
    let request = fixture("whitestones/payout_request.json");
    let payout = s
        .wst(
            Method::POST,
            "/payouts",
            Some(request.clone()),
            Some("payroll/run-1/cont_456"),
        )
        .await
        .expect(200);
    assert_shape(&payout, "whitestones/payout.json");
    assert_eq!(
        (payout["status"].clone(), payout["fee"].clone()),
        (json!("pending"), json!(25))
    );
    let id = payout["id"].as_str().unwrap().to_string();
    assert_eq!(
        s.handle.balance(ProviderKind::Whitestones, "USD"),
        dec!(99949.75)
    );

    // The same request again (a retry after a lost answer): the same payout, no new debit.
    let replay = s
        .wst(
            Method::POST,
            "/payouts",
            Some(request.clone()),
            Some("payroll/run-1/cont_456"),
        )
        .await
        .expect(200);
    assert_eq!(replay["id"], id);
    let mut changed = request.clone();
    changed["amount"] = json!(6000);
    s.wst(
        Method::POST,
        "/payouts",
        Some(changed),
        Some("payroll/run-1/cont_456"),
    )
    .await
    .expect(409);
    let kinds: Vec<_> = s
        .entries_of(&id)
        .iter()
        .map(|e| (e.kind.clone(), e.amount, e.idempotency_key.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "payout.debit".to_string(),
                dec!(-50.00),
                Some("payroll/run-1/cont_456".to_string())
            ),
            (
                "payout.fee".to_string(),
                dec!(-0.25),
                Some("payroll/run-1/cont_456".to_string())
            ),
        ]
    );
    s.advance("30s").await;
    let done = s
        .wst(Method::GET, &format!("/payouts/{id}"), None, None)
        .await
        .expect(200);
    assert_shape(&done, "whitestones/payout.json");
    assert_eq!(done["status"], "completed");

    // Larger than the balance: refused, nothing recorded.
    let mut huge = request.clone();
    huge["amount"] = json!(10_000_000_000_i64);
    let refused = s
        .wst(Method::POST, "/payouts", Some(huge), Some("huge"))
        .await
        .expect(400);
    assert_eq!(refused["error"]["code"], "insufficient_funds");
    assert_eq!(
        s.handle
            .ledger()
            .iter()
            .filter(|e| e.idempotency_key.as_deref() == Some("huge"))
            .count(),
        0
    );

    // A recipient named `Fail…` makes the payout fail; amount and fee come back.
    let mut failing = request.clone();
    failing["recipient"]["name"] = json!("Failing Bank Account");
    let f = s
        .wst(Method::POST, "/payouts", Some(failing), None)
        .await
        .expect(200);
    let fid = f["id"].as_str().unwrap().to_string();
    s.advance("30s").await;
    assert_eq!(
        s.wst(Method::GET, &format!("/payouts/{fid}"), None, None)
            .await
            .expect(200)["status"],
        "failed"
    );
    assert_eq!(
        s.entries_of(&fid)
            .iter()
            .map(|e| e.amount)
            .sum::<rust_decimal::Decimal>(),
        dec!(0)
    );
    assert_eq!(
        s.handle.balance(ProviderKind::Whitestones, "USD"),
        dec!(99949.75)
    );

    let no_recipient = json!({"amount": 100, "currency": "USD"});
    s.wst(Method::POST, "/payouts", Some(no_recipient), None)
        .await
        .expect(400);
}

#[tokio::test]
async fn a_configured_rate_limit_answers_429_with_retry_after() {
    let s = sandbox_with(|c| c.rate_limit = Some(2)).await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..6 {
        let reply = s.wst(Method::GET, "/merchant/profile", None, None).await;
        if reply.status == 429 {
            retry_after = reply.headers.get("retry-after").cloned();
            assert_eq!(reply.body["error"]["code"], "rate_limited");
        }
        statuses.push(reply.status.as_u16());
    }
    assert_eq!(statuses[0], 200);
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(retry_after.unwrap(), "1");
}
