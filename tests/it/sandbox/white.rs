//! White Payments over HTTP: charges, captures, refunds, customers, tokens, test cards and
//! minor units, with shapes checked against the seed.

use reqwest::Method;
use rust_decimal_macros::dec;
use serde_json::json;
use sluice::catalog::ProviderKind;

use super::support::*;

const CARD: &[(&str, &str)] = &[
    ("card[name]", "Abdullah Ahmed"),
    ("card[number]", "4242424242424242"),
    ("card[exp_month]", "11"),
    ("card[exp_year]", "2016"),
    ("card[cvc]", "123"),
];

fn charge_form<'a>(
    amount: &'a str,
    currency: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("amount", amount),
        ("currency", currency),
        ("email", "buyer@example.com"),
    ];
    form.extend_from_slice(CARD);
    form.extend_from_slice(extra);
    form
}

#[tokio::test]
async fn charges_capture_and_refund_with_real_balances() {
    let s = sandbox().await;
    let form = charge_form(
        "1000",
        "aed",
        &[
            ("description", "Two widgets (run-7/item-3)"),
            ("metadata[sluice_key]", "run-7/item-3"),
        ],
    );
    let charge = s.white(Method::POST, "/charges", &form).await.expect(201);
    assert_shape(&charge, "white/charge.json");
    assert_eq!(
        (charge["state"].clone(), charge["captured_amount"].clone()),
        (json!("captured"), json!(1000))
    );
    assert_eq!(charge["metadata"]["sluice_key"], "run-7/item-3");
    let id = charge["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ch_"));
    let entries = s.entries_of(&id);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].amount, entries[0].asset.as_str()),
        (dec!(10.00), "AED")
    );
    assert!(
        entries[0]
            .reference
            .as_deref()
            .unwrap()
            .contains("run-7/item-3")
    );
    assert_eq!(s.handle.balance(ProviderKind::White, "AED"), dec!(10010));
    assert_shape(
        &s.white(Method::GET, &format!("/charges/{id}"), &[])
            .await
            .expect(200),
        "white/charge.json",
    );

    // Refund part, then the rest; never more than captured.
    let refund = s
        .white(
            Method::POST,
            &format!("/charges/{id}/refunds"),
            &[("amount", "300"), ("reason", "requested_by_customer")],
        )
        .await
        .expect(201);
    assert_shape(&refund, "white/refund.json");
    assert_eq!(
        (
            refund["charge"]["state"].clone(),
            refund["charge"]["refunded_amount"].clone()
        ),
        (json!("partially_refunded"), json!(300))
    );
    let too_much = s
        .white(
            Method::POST,
            &format!("/charges/{id}/refunds"),
            &[("amount", "701")],
        )
        .await
        .expect(400);
    assert_shape(&too_much, "white/error.json");
    assert_eq!(too_much["error"]["type"], "request");
    s.white(
        Method::POST,
        &format!("/charges/{id}/refunds"),
        &[("reason", "because")],
    )
    .await
    .expect(400);
    let rest = s
        .white(Method::POST, &format!("/charges/{id}/refunds"), &[])
        .await
        .expect(201);
    assert_eq!(
        (rest["amount"].clone(), rest["charge"]["state"].clone()),
        (json!(700), json!("refunded"))
    );
    let refunds = s
        .white(Method::GET, &format!("/charges/{id}/refunds"), &[])
        .await
        .expect(200);
    assert_shape(&refunds, "white/refunds_list.json");
    assert_eq!(refunds["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(s.handle.balance(ProviderKind::White, "AED"), dec!(10000));

    // Authorise, then capture part of it.
    let auth = s
        .white(
            Method::POST,
            "/charges/",
            &charge_form("1000", "usd", &[("capture", "false")]),
        )
        .await
        .expect(201);
    assert_eq!(
        (auth["state"].clone(), auth["captured_amount"].clone()),
        (json!("authorized"), json!(0))
    );
    let auth_id = auth["id"].as_str().unwrap().to_string();
    assert!(s.entries_of(&auth_id).is_empty());
    s.white(Method::POST, &format!("/charges/{auth_id}/refunds"), &[])
        .await
        .expect(400);
    s.white(
        Method::POST,
        &format!("/charges/{auth_id}/capture"),
        &[("amount", "1001")],
    )
    .await
    .expect(400);
    let captured = s
        .white(
            Method::POST,
            &format!("/charges/{auth_id}/capture"),
            &[("amount", "600")],
        )
        .await
        .expect(200);
    assert_shape(&captured, "white/charge_capture.json");
    assert_eq!(
        (
            captured["state"].clone(),
            captured["captured_amount"].clone()
        ),
        (json!("captured"), json!(600))
    );
    s.white(Method::POST, &format!("/charges/{auth_id}/capture"), &[])
        .await
        .expect(400);
    assert_eq!(s.entries_of(&auth_id)[0].amount, dec!(6.00));

    let list = s.white(Method::GET, "/charges", &[]).await.expect(200);
    assert_shape(&list, "white/charges_list.json");
    assert_eq!(list["charges"][0]["id"], auth_id);
    s.white(Method::GET, "/charges/ch_nope", &[])
        .await
        .expect(404);
}

#[tokio::test]
async fn test_cards_decline_or_fail_and_are_still_listed() {
    let s = sandbox().await;
    let mut form = charge_form("1000", "aed", &[]);
    form.retain(|(k, _)| *k != "card[number]");
    form.push(("card[number]", "4000000000000002"));
    let declined = s.white(Method::POST, "/charges", &form).await.expect(402);
    assert_shape(&declined, "white/error.json");
    assert_eq!(
        (
            declined["error"]["type"].clone(),
            declined["error"]["code"].clone()
        ),
        (json!("banking"), json!("card_declined"))
    );
    let failed_id = declined["error"]["extras"]["charge"]
        .as_str()
        .unwrap()
        .to_string();
    let failed = s
        .white(Method::GET, &format!("/charges/{failed_id}"), &[])
        .await
        .expect(200);
    assert_eq!(
        (failed["state"].clone(), failed["failure_code"].clone()),
        (json!("failed"), json!("card_declined"))
    );
    assert!(s.entries_of(&failed_id).is_empty());

    form.retain(|(k, _)| *k != "card[number]");
    form.push(("card[number]", "4000000000000119"));
    let processing = s.white(Method::POST, "/charges", &form).await.expect(500);
    assert_eq!(processing["error"]["type"], "processing");

    form.retain(|(k, _)| *k != "card[number]");
    form.push(("card[number]", "4242424242424241"));
    let invalid = s.white(Method::POST, "/charges", &form).await.expect(400);
    assert_eq!(invalid["error"]["extras"]["params"][0], "card[number]");
    assert_eq!(
        s.white(Method::GET, "/charges", &[]).await.expect(200)["charges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn amounts_are_exact_minor_units() {
    let s = sandbox().await;
    let kwd = s
        .white(Method::POST, "/charges", &charge_form("1234", "kwd", &[]))
        .await
        .expect(201);
    let entries = s.entries_of(kwd["id"].as_str().unwrap());
    assert_eq!(
        (
            entries[0].amount.to_string().as_str(),
            entries[0].asset.as_str()
        ),
        ("1.234", "KWD")
    );
    s.white(Method::POST, "/charges", &charge_form("100", "jpy", &[]))
        .await
        .expect(201);
    for (amount, currency, code) in [
        ("10.5", "aed", "invalid_amount"),
        ("-100", "aed", "invalid_amount"),
        ("40", "usd", "amount_too_small"),
        ("1000", "xyz", "invalid_currency"),
    ] {
        let refused = s
            .white(
                Method::POST,
                "/charges",
                &charge_form(amount, currency, &[]),
            )
            .await
            .expect(400);
        assert_eq!(refused["error"]["code"], code, "{amount} {currency}");
    }
    let missing = s
        .white(
            Method::POST,
            "/charges",
            &[("amount", "1000"), ("currency", "aed"), ("email", "a@b.co")],
        )
        .await
        .expect(400);
    assert_eq!(missing["error"]["extras"]["params"][0], "card");
}

#[tokio::test]
async fn customers_and_tokens() {
    let s = sandbox().await;
    let token = s
        .white(
            Method::POST,
            "/tokens",
            &[
                ("number", "4242424242424242"),
                ("exp_month", "11"),
                ("exp_year", "2016"),
                ("cvc", "123"),
                ("name", "Abdullah Mohammed"),
            ],
        )
        .await
        .expect(201);
    assert_shape(&token, "white/token.json");
    let tok = token["id"].as_str().unwrap();
    let form = [
        ("amount", "1000"),
        ("currency", "aed"),
        ("email", "a@b.co"),
        ("card", tok),
    ];
    s.white(Method::POST, "/charges", &form).await.expect(201);
    let reused = s.white(Method::POST, "/charges", &form).await.expect(400);
    assert_eq!(reused["error"]["code"], "token_already_used");

    let mut customer_form = vec![
        ("name", "Abdullah Ahmed"),
        ("email", "abdullah@example.com"),
        ("description", "Signed up at the Trade Show in Dec 2014"),
    ];
    customer_form.extend(CARD.iter().map(|(k, v)| (*k, *v)));
    let customer = s
        .white(Method::POST, "/customers", &customer_form)
        .await
        .expect(201);
    assert_shape(&customer, "white/customer.json");
    let cus = customer["id"].as_str().unwrap().to_string();
    let by_customer = s
        .white(
            Method::POST,
            "/charges",
            &[
                ("amount", "500"),
                ("currency", "aed"),
                ("customer_id", &cus),
            ],
        )
        .await
        .expect(201);
    assert_eq!(by_customer["email"], "abdullah@example.com");
    assert_eq!(by_customer["card"]["id"], customer["default_card_id"]);

    let updated = s
        .white(
            Method::PUT,
            &format!("/customers/{cus}"),
            &[("email", "new@example.com")],
        )
        .await
        .expect(200);
    assert_eq!(
        (updated["email"].clone(), updated["name"].clone()),
        (json!("new@example.com"), json!("Abdullah Ahmed"))
    );
    let got = s
        .white(Method::GET, &format!("/customers/{cus}"), &[])
        .await
        .expect(200);
    assert_shape(&got, "white/customer.json");
    s.white(Method::POST, "/customers", &[("name", "Anon")])
        .await
        .expect(400);
    let list = s.white(Method::GET, "/customers", &[]).await.expect(200);
    assert_shape(&list, "white/customers_list.json");
    s.white(Method::GET, "/customers/cus_nope", &[])
        .await
        .expect(404);
}
