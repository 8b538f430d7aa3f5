//! Whalestack checkouts over HTTP: self-hosted and hosted, committed, paid in full or
//! short, settled, accepted when underpaid, and expired, with shapes checked against the seed.

use reqwest::Method;
use rust_decimal_macros::dec;
use serde_json::json;
use sluice::catalog::ProviderKind;

use super::support::*;

#[tokio::test]
async fn self_hosted_checkout_is_committed_paid_and_settled() {
    let s = sandbox().await;
    let created = s
        .ws(
            Method::POST,
            "/checkout",
            Some(fixture("whalestack/checkout_request_minimal.json")),
        )
        .await
        .expect(200);
    assert_shape(&created, "whalestack/checkout_create.json");
    let id = created["id"].as_str().unwrap().to_string();
    let usd = created["paymentMethods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["assetCode"] == "USD")
        .unwrap();
    // 169.99 EUR at 1.08 USD per EUR, settled in USDC, 0.5 % fee.
    assert_eq!(usd["settlement"]["amount"], "183.5892");
    assert_eq!(usd["settlement"]["fee"], "0.917946");
    assert_eq!(usd["paymentAmount"], "183.5892000");

    let got = s
        .ws(Method::GET, &format!("/checkout?id={id}"), None)
        .await
        .expect(200);
    assert_shape(&got, "whalestack/checkout_get.json");
    assert_eq!(got["checkout"]["state"], "PENDING_CHARGE");
    assert_eq!(got["checkout"]["type"], "SELF-HOSTED");
    assert_eq!(
        got["checkout"]["payload"],
        fixture("whalestack/checkout_request_minimal.json")
    );

    let commit = json!({"checkoutId": id, "network": "BITCOIN"});
    let committed = s
        .ws(Method::POST, "/checkout/commit", Some(commit))
        .await
        .expect(200);
    assert_shape(&committed, "whalestack/checkout_commit.json");
    let required = committed["depositInstructions"]["amount"].clone();
    assert_eq!(required, "0.0061197");
    let got = s
        .ws(Method::GET, &format!("/checkout?id={id}"), None)
        .await
        .expect(200);
    assert_eq!(got["checkout"]["state"], "NEW_CHARGE");
    assert_eq!(got["checkout"]["sourceNetwork"], "BITCOIN");

    let paid = s
        .hook(Method::POST, &format!("/checkouts/{id}/pay"), None)
        .await
        .expect(200);
    assert_eq!(paid["checkout"]["state"], "IN_PROGRESS");
    assert_eq!(paid["checkout"]["sourceAmountReceived"], required);
    s.advance("10s").await;
    let done = s
        .ws(Method::GET, &format!("/checkout?id={id}"), None)
        .await
        .expect(200);
    assert_shape(&done, "whalestack/checkout_get.json");
    let c = &done["checkout"];
    assert_eq!(c["state"], "COMPLETED");
    assert_eq!(c["settlementAmountReceived"], "182.6712540");
    assert_eq!(c["settlementAmountFeePaid"], "0.9179460");
    let kinds: Vec<_> = c["blockchainTransactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["CHECKOUT_ORIGIN", "CHECKOUT_BRIDGE", "CHECKOUT_SETTLEMENT"]
    );
    assert_eq!(
        s.handle.balance(ProviderKind::Whalestack, USDC),
        dec!(100182.6712540)
    );
    let entries = s.entries_of(&id);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].kind.as_str(), entries[0].amount),
        ("checkout.settlement", dec!(182.6712540))
    );

    // Committing a paid checkout is refused; a late extra payment is recorded, not credited.
    s.ws(
        Method::POST,
        "/checkout/commit",
        Some(json!({"checkoutId": id, "network": "STELLAR"})),
    )
    .await
    .expect(400);
    s.hook(
        Method::POST,
        &format!("/checkouts/{id}/pay"),
        Some(json!({"amount": "0.001"})),
    )
    .await
    .expect(200);
    s.advance("1m").await;
    assert_eq!(s.entries_of(&id).len(), 1);

    let list = s.ws(Method::GET, "/checkouts", None).await.expect(200);
    assert_shape(&list, "whalestack/checkouts_list.json");
    assert_eq!(list["count"], 1);
}

#[tokio::test]
async fn hosted_checkout_underpaid_accepted_and_expired() {
    let s = sandbox().await;
    // The full example's webhook points outside this machine: tests stay on loopback.
    let mut request = fixture("whalestack/checkout_request_full.json");
    request.as_object_mut().unwrap().remove("webhook");
    // It also links a customer that does not exist in this sandbox.
    s.ws(Method::POST, "/checkout/hosted", Some(request.clone()))
        .await
        .expect(400);
    let customer = s
        .ws(
            Method::POST,
            "/customer",
            Some(json!({"customer": {"email": "buyer@example.com"}})),
        )
        .await
        .expect(200);
    request["charge"]["customerId"] = customer["customerId"].clone();
    let created = s
        .ws(Method::POST, "/checkout/hosted", Some(request))
        .await
        .expect(200);
    assert_shape(&created, "whalestack/checkout_hosted.json");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(
        created["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("checkout?id={id}"))
    );
    let got = s
        .ws(Method::GET, &format!("/checkout?id={id}"), None)
        .await
        .expect(200);
    assert_eq!(
        (
            got["checkout"]["state"].clone(),
            got["checkout"]["type"].clone()
        ),
        (json!("NEW_CHARGE"), json!("HOSTED"))
    );
    // Hosted checkouts are paid on their page, not committed through the API.
    s.ws(
        Method::POST,
        "/checkout/commit",
        Some(json!({"checkoutId": id, "network": "BITCOIN"})),
    )
    .await
    .expect(400);

    // (199 - 5 + 3.99) + 194 * 8.25 % = 213.995 → 214.00 USD, paid in USDC on Stellar.
    let short = s
        .hook(
            Method::POST,
            &format!("/checkouts/{id}/pay"),
            Some(json!({"amount": "200"})),
        )
        .await
        .expect(200);
    assert_eq!(short["checkout"]["sourceAmountRequired"], "214.0000000");
    s.advance("10s").await;
    let c = s
        .ws(Method::GET, &format!("/checkout?id={id}"), None)
        .await
        .expect(200);
    assert_eq!(c["checkout"]["state"], "UNRESOLVED_UNDERPAID");
    assert!(s.entries_of(&id).is_empty());
    let accepted = s
        .hook(
            Method::POST,
            &format!("/checkouts/{id}/accept-underpaid"),
            None,
        )
        .await
        .expect(200);
    assert_eq!(accepted["checkout"]["state"], "COMPLETED");
    // 200/214 of the 214 USDC settlement, minus 0.5 %.
    assert_eq!(s.entries_of(&id)[0].amount, dec!(199.0000000));
    s.hook(
        Method::POST,
        &format!("/checkouts/{id}/accept-underpaid"),
        None,
    )
    .await
    .expect(400);

    let unpaid = s
        .ws(
            Method::POST,
            "/checkout/hosted",
            Some(fixture("whalestack/checkout_request_minimal.json")),
        )
        .await
        .expect(200);
    let unpaid_id = unpaid["id"].as_str().unwrap();
    s.advance("59m").await;
    assert_eq!(
        s.ws(Method::GET, &format!("/checkout?id={unpaid_id}"), None)
            .await
            .expect(200)["checkout"]["state"],
        "NEW_CHARGE"
    );
    s.advance("2m").await;
    assert_eq!(
        s.ws(Method::GET, &format!("/checkout?id={unpaid_id}"), None)
            .await
            .expect(200)["checkout"]["state"],
        "EXPIRED"
    );
}
