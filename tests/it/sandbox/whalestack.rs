//! Whalestack over HTTP: catalogue, customers, target accounts, wallets, swaps, transfers
//! and deposits, with shapes checked against the seed (checkouts are in `checkouts`).

use reqwest::Method;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use sluice::catalog::ProviderKind;

use super::support::*;

fn dec_of(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn public_and_catalogue_endpoints_match_the_seed() {
    let s = sandbox().await;
    let (status, ping) = get_json(&s.http, &s.url(ProviderKind::Whalestack, "/ping")).await;
    assert_eq!(status, 200);
    assert_shape(&ping, "whalestack/ping.json");
    let (status, time) = get_json(&s.http, &s.url(ProviderKind::Whalestack, "/time")).await;
    assert_eq!(status, 200);
    assert_shape(&time, "whalestack/time.json");
    assert!((time["time"].as_i64().unwrap() - unix_now()).abs() <= 2);

    assert_shape(
        &s.ws(Method::GET, "/auth-test", None).await.expect(200),
        "whalestack/auth_test.json",
    );
    let assets = s.ws(Method::GET, "/assets", None).await.expect(200);
    assert_shape(&assets, "whalestack/assets.json");
    let ids: Vec<&str> = assets["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&USDC) && ids.contains(&XLM) && ids.contains(&BTC));
    assert_shape(
        &s.ws(Method::GET, "/networks", None).await.expect(200),
        "whalestack/networks.json",
    );
    assert_shape(
        &s.ws(Method::GET, "/currencies", None).await.expect(200),
        "whalestack/currencies.json",
    );

    let rate = s
        .ws(
            Method::GET,
            &format!("/exchange-rate?sourceAsset={USDC}&targetAsset={BTC}&amount=5000"),
            None,
        )
        .await
        .expect(200);
    assert_shape(&rate, "whalestack/exchange_rate.json");
    // 5000 USD at the default 30000 USD per BTC.
    assert_eq!(rate["targetAmount"], "0.1666666");
    assert_eq!(rate["pair"], "BTC/USD");
    assert_eq!(rate["exchangeRate"], "1:30000.0000000");
    let receive = s
        .ws(
            Method::GET,
            &format!(
                "/exchange-rate?sourceAsset={USDC}&targetAsset={BTC}&amount=1&switch=receive-amount"
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(receive["sourceAmount"], "30000");
    let bad = s
        .ws(
            Method::GET,
            "/exchange-rate?sourceAsset=USDC&targetAsset=BTC&amount=1",
            None,
        )
        .await
        .expect(400);
    assert_shape(&bad, "whalestack/error.json");
    let missing = s
        .ws(Method::GET, "/no-such-endpoint", None)
        .await
        .expect(404);
    assert_shape(&missing, "whalestack/error.json");
}

#[tokio::test]
async fn customers_and_beneficiaries_upsert_by_email() {
    let s = sandbox().await;
    for (one, many, id_key, prefix) in [
        ("customer", "customers", "customerId", "customer"),
        (
            "beneficiary",
            "beneficiaries",
            "beneficiaryId",
            "beneficiary",
        ),
    ] {
        let request = fixture(&format!("whalestack/{prefix}_request.json"));
        let created = s
            .ws(Method::POST, &format!("/{one}"), Some(request.clone()))
            .await
            .expect(200);
        assert_shape(&created, &format!("whalestack/{prefix}_create.json"));
        let id = created[id_key].as_str().unwrap().to_string();
        assert_eq!(id.len(), 12);

        // Same email again: an update of the same record.
        let again = s
            .ws(
                Method::POST,
                &format!("/{one}"),
                Some(json!({one: {"email": "JOHN@doe.com", "note": "second"}})),
            )
            .await
            .expect(200);
        assert_eq!(again[id_key], id);
        let got = s
            .ws(Method::GET, &format!("/{one}?id={id}"), None)
            .await
            .expect(200);
        assert_shape(&got, &format!("whalestack/{prefix}_get.json"));
        let record = &got[one];
        assert_eq!(record["note"], "second");
        assert_eq!(record["name"], "John Doe");
        assert_eq!(record["country"], "United States");
        assert_eq!(record["invoiceable"], true);
        assert_eq!(record["meta"]["reference"], 123);

        let update = json!({one: {"id": id, "company": null, "firstname": "Jane"}});
        assert_shape(
            &s.ws(Method::PUT, &format!("/{one}"), Some(update))
                .await
                .expect(200),
            "whalestack/success.json",
        );
        let got = s
            .ws(Method::GET, &format!("/{one}?id={id}"), None)
            .await
            .expect(200);
        assert_eq!(
            (got[one]["company"].clone(), got[one]["name"].clone()),
            (Value::Null, json!("Jane Doe"))
        );

        s.ws(
            Method::POST,
            &format!("/{one}"),
            Some(json!({one: {"email": "other@example.com"}})),
        )
        .await
        .expect(200);
        let list = s
            .ws(Method::GET, &format!("/{many}?limit=1"), None)
            .await
            .expect(200);
        assert_shape(&list, &format!("whalestack/{many}_list.json"));
        assert_eq!(
            (list["count"].clone(), list["limit"].clone()),
            (json!(2), json!("1"))
        );
        assert_eq!(list[many][0]["email"], "other@example.com");

        let bad = s
            .ws(
                Method::POST,
                &format!("/{one}"),
                Some(json!({one: {"email": "x@y.z", "adr1": "Street 1"}})),
            )
            .await;
        assert_shape(&bad.expect(400), "whalestack/error.json");
        s.ws(Method::DELETE, &format!("/{one}"), Some(json!({"id": id})))
            .await
            .expect(200);
        s.ws(Method::GET, &format!("/{one}?id={id}"), None)
            .await
            .expect(404);
        s.ws(Method::DELETE, &format!("/{one}"), Some(json!({"id": id})))
            .await
            .expect(404);
    }
}

async fn register_sepa(s: &Sandbox, label: &str) -> Value {
    let account = json!({
        "network": "SEPA",
        "label": label,
        "fields": {"iban": "DE23100110012624331586", "bic": "NTSBDEB1XXX", "bankName": "N26", "bankAddress": "Berlin, Germany"}
    });
    s.ws(Method::POST, "/target-account", Some(account))
        .await
        .expect(200)
}

#[tokio::test]
async fn target_accounts_register_by_label() {
    let s = sandbox().await;
    let created = register_sepa(&s, "payroll-anna").await;
    assert_eq!(created["targetAccount"]["state"], "ACTIVE");
    // The same account again is the same account; another one under that label is refused.
    register_sepa(&s, "payroll-anna").await;
    let clash = json!({"network": "SEPA", "label": "payroll-anna", "fields": {"iban": "X", "bic": "B", "bankName": "N", "bankAddress": "A"}});
    s.ws(Method::POST, "/target-account", Some(clash))
        .await
        .expect(400);
    let missing_field = json!({"network": "BITCOIN", "label": "btc", "fields": {}});
    s.ws(Method::POST, "/target-account", Some(missing_field))
        .await
        .expect(400);
    let btc = json!({"network": "BITCOIN", "label": "Ledger Nano on Bitcoin", "fields": {"address": "bc1qj633nx575jm28smgcp3mx6n3gh0zg6ndr0ew23"}});
    s.ws(Method::POST, "/target-account", Some(btc))
        .await
        .expect(200);

    let list = s
        .ws(Method::GET, "/target-accounts", None)
        .await
        .expect(200);
    assert_eq!(list["count"], 2);
    assert_eq!(list["targetAccounts"][0]["network"], "BITCOIN");
    assert_shape(
        &json!({"count": 1, "limit": 10, "offset": 0, "targetAccounts": [list["targetAccounts"][0]]}),
        "whalestack/target_accounts_bitcoin.json",
    );
    assert_shape(
        &json!({"count": 1, "limit": 10, "offset": 0, "targetAccounts": [list["targetAccounts"][1]]}),
        "whalestack/target_accounts_sepa.json",
    );
}

#[tokio::test]
async fn wallets_and_deposit_addresses() {
    let s = sandbox().await;
    let wallets = s.ws(Method::GET, "/wallets", None).await.expect(200);
    let usdc = wallets["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["asset"] == USDC)
        .unwrap();
    assert_shape(&json!({"wallets": [usdc]}), "whalestack/wallets.json");
    assert_eq!(usdc["balance"], "100000.0000000");
    let btc = s
        .ws(Method::GET, &format!("/wallet?asset={BTC}"), None)
        .await
        .expect(200);
    assert_shape(&btc, "whalestack/wallet_get.json");
    assert_eq!(btc["wallet"]["balance"], "10.0000000");
    s.ws(Method::GET, "/wallet?asset=BTC", None)
        .await
        .expect(404);

    let bitcoin = s
        .ws(
            Method::POST,
            "/deposit-address",
            Some(json!({"network": "BITCOIN"})),
        )
        .await
        .expect(200);
    assert_shape(&bitcoin, "whalestack/deposit_address_bitcoin.json");
    let stellar = s
        .ws(
            Method::POST,
            "/deposit-address",
            Some(json!({"network": "STELLAR", "asset": USDC})),
        )
        .await
        .expect(200);
    assert_shape(&stellar, "whalestack/deposit_address_stellar.json");
    let sepa = s
        .ws(
            Method::POST,
            "/deposit-address",
            Some(json!({"network": "SEPA", "asset": EURC})),
        )
        .await
        .expect(200);
    assert_shape(&sepa, "whalestack/deposit_address_sepa.json");
    let ln = s
        .ws(
            Method::POST,
            "/deposit-address",
            Some(json!({"network": "LIGHTNING", "amount": "5000"})),
        )
        .await
        .expect(200);
    assert_shape(&ln, "whalestack/deposit_address_lightning.json");
    s.ws(
        Method::POST,
        "/deposit-address",
        Some(json!({"network": "STELLAR"})),
    )
    .await
    .expect(400);
    s.ws(
        Method::POST,
        "/deposit-address",
        Some(json!({"network": "LIGHTNING"})),
    )
    .await
    .expect(400);
}

#[tokio::test]
async fn swaps_are_quoted_committed_once_and_settled() {
    let s = sandbox().await;
    let created = s
        .ws(
            Method::POST,
            "/swap",
            Some(fixture("whalestack/swap_request.json")),
        )
        .await
        .expect(200);
    assert_shape(&created, "whalestack/swap_create.json");
    let swap = &created["swap"];
    assert_eq!(
        (swap["state"].clone(), swap["type"].clone()),
        (json!("PENDING_API_COMMIT"), json!("SOURCE_SPECIFIED"))
    );
    assert_eq!(
        (swap["sourceAmount"].clone(), swap["targetAmount"].clone()),
        (json!("100.0000000"), json!("0.0033333"))
    );
    let id = swap["id"].as_str().unwrap().to_string();
    // Quoting moves nothing.
    assert_eq!(
        s.handle.balance(ProviderKind::Whalestack, USDC),
        dec!(100000)
    );

    let committed = s
        .ws(Method::POST, "/swap/commit", Some(json!({"swapId": id})))
        .await
        .expect(200);
    assert_shape(&committed, "whalestack/swap_get.json");
    assert_eq!(committed["swap"]["state"], "PROCESSING");
    assert_eq!(
        s.handle.balance(ProviderKind::Whalestack, USDC),
        dec!(99900)
    );
    let again = s
        .ws(Method::POST, "/swap/commit", Some(json!({"swapId": id})))
        .await
        .expect(400);
    assert_shape(&again, "whalestack/error.json");

    s.advance("5s").await;
    let done = s
        .ws(Method::GET, &format!("/swap?id={id}"), None)
        .await
        .expect(200);
    assert_shape(&done, "whalestack/swap_get.json");
    assert_eq!(done["swap"]["state"], "COMPLETED");
    assert!(done["swap"]["completeTime"].is_string());
    assert_eq!(
        s.handle.balance(ProviderKind::Whalestack, BTC),
        dec!(10.0033333)
    );
    let kinds: Vec<_> = s.entries_of(&id).iter().map(|e| e.kind.clone()).collect();
    assert_eq!(kinds, ["swap.debit", "swap.credit"]);

    // Target-specified, then told to fail: the source comes back.
    let target = json!({"sourceAsset": BTC, "targetAsset": XLM, "targetAmount": 100});
    let quoted = s.ws(Method::POST, "/swap", Some(target)).await.expect(200);
    assert_eq!(
        (
            quoted["swap"]["type"].clone(),
            quoted["swap"]["sourceAmount"].clone()
        ),
        (json!("TARGET_SPECIFIED"), json!("0.0003334"))
    );
    let failing = quoted["swap"]["id"].as_str().unwrap().to_string();
    s.hook(
        Method::POST,
        "/outcomes",
        Some(json!({"id": failing, "outcome": "fail"})),
    )
    .await
    .expect(200);
    s.ws(
        Method::POST,
        "/swap/commit",
        Some(json!({"swapId": failing})),
    )
    .await
    .expect(200);
    s.advance("5s").await;
    assert_eq!(
        s.ws(Method::GET, &format!("/swap?id={failing}"), None)
            .await
            .expect(200)["swap"]["state"],
        "FAILED"
    );
    assert_eq!(
        s.handle.balance(ProviderKind::Whalestack, BTC),
        dec!(10.0033333)
    );

    // Larger than the wallet, too precise, or expired: refused, nothing moves.
    let too_big = json!({"sourceAsset": BTC, "targetAsset": USDC, "sourceAmount": "10.5"});
    s.ws(Method::POST, "/swap", Some(too_big)).await.expect(400);
    let too_precise =
        json!({"sourceAsset": USDC, "targetAsset": BTC, "sourceAmount": "1.00000001"});
    s.ws(Method::POST, "/swap", Some(too_precise))
        .await
        .expect(400);
    let stale = s
        .ws(
            Method::POST,
            "/swap",
            Some(fixture("whalestack/swap_request.json")),
        )
        .await
        .expect(200);
    let stale_id = stale["swap"]["id"].as_str().unwrap();
    s.advance("61m").await;
    s.ws(
        Method::POST,
        "/swap/commit",
        Some(json!({"swapId": stale_id})),
    )
    .await
    .expect(400);
    assert!(s.entries_of(stale_id).is_empty());

    let list = s.ws(Method::GET, "/swaps?limit=2", None).await.expect(200);
    assert_shape(&list, "whalestack/swaps_list.json");
    assert_eq!(
        (
            list["count"].clone(),
            list["swaps"].as_array().unwrap().len()
        ),
        (json!(3), 2)
    );
}

#[tokio::test]
async fn transfers_debit_once_and_respect_the_wallet() {
    let s = sandbox().await;
    register_sepa(&s, "payroll-anna").await;
    let request = json!({"network": "SEPA", "asset": USDC, "amount": 5000, "targetAccount": "payroll-anna", "note": "payroll run-1 anna"});
    let created = s
        .ws(Method::POST, "/transfer", Some(request))
        .await
        .expect(200);
    assert_shape(&created, "whalestack/transfer_create.json");
    let id = created["transfer"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["transfer"]["note"], "payroll run-1 anna");
    assert_eq!(created["transfer"]["targetAmountNet"], "5000.0000000");

    let committed = s
        .ws(
            Method::POST,
            "/transfer/commit",
            Some(json!({"transferId": id})),
        )
        .await
        .expect(200);
    assert_shape(&committed, "whalestack/transfer_commit.json");
    assert_eq!(committed["transfer"]["state"], "PROCESSING");
    s.ws(
        Method::POST,
        "/transfer/commit",
        Some(json!({"transferId": id})),
    )
    .await
    .expect(400);
    s.advance("10s").await;
    let done = s
        .ws(Method::GET, &format!("/transfer?id={id}"), None)
        .await
        .expect(200);
    assert_shape(&done, "whalestack/transfer_get.json");
    assert_eq!(done["transfer"]["state"], "COMPLETED");
    let entries = s.entries_of(&id);
    assert_eq!(entries.len(), 1, "one debit, exactly once");
    assert_eq!(
        (entries[0].amount, entries[0].reference.as_deref()),
        (dec!(-5000), Some("payroll run-1 anna"))
    );
    assert_eq!(
        s.handle.balance(ProviderKind::Whalestack, USDC),
        dec!(95000)
    );

    // Bitcoin with the fee on the sender: the wallet pays the amount plus the network fee.
    let btc = json!({"network": "BITCOIN", "label": "cold", "fields": {"address": "bc1qj633nx575jm28smgcp3mx6n3gh0zg6ndr0ew24"}});
    s.ws(Method::POST, "/target-account", Some(btc))
        .await
        .expect(200);
    let target = json!({"network": "BITCOIN", "asset": BTC, "amount": 0.5, "amountType": "target", "targetAccount": "cold"});
    let t = s
        .ws(Method::POST, "/transfer", Some(target))
        .await
        .expect(200);
    assert_eq!(
        (
            t["transfer"]["sourceAmountGross"].clone(),
            t["transfer"]["targetAmountNet"].clone()
        ),
        (json!("0.5002010"), json!("0.5000000"))
    );

    // Larger than the wallet: refused on create, nothing recorded.
    let huge = json!({"network": "SEPA", "asset": USDC, "amount": "95000.0000001", "targetAccount": "payroll-anna"});
    let refused = s
        .ws(Method::POST, "/transfer", Some(huge))
        .await
        .expect(400);
    assert!(
        refused["errors"][0]
            .as_str()
            .unwrap()
            .contains("insufficient funds")
    );
    let unknown = json!({"network": "SEPA", "asset": USDC, "amount": 1, "targetAccount": "nobody"});
    s.ws(Method::POST, "/transfer", Some(unknown))
        .await
        .expect(400);
    let wrong_network =
        json!({"network": "STELLAR", "asset": USDC, "amount": 1, "targetAccount": "payroll-anna"});
    s.ws(Method::POST, "/transfer", Some(wrong_network))
        .await
        .expect(400);

    // Two quotes of 60000 each fit alone; only the first commit can be covered.
    let a = s.ws(Method::POST, "/transfer", Some(json!({"network": "SEPA", "asset": USDC, "amount": 60000, "targetAccount": "payroll-anna"}))).await.expect(200);
    let b = s.ws(Method::POST, "/transfer", Some(json!({"network": "SEPA", "asset": USDC, "amount": 60000, "targetAccount": "payroll-anna"}))).await.expect(200);
    s.ws(
        Method::POST,
        "/transfer/commit",
        Some(json!({"transferId": a["transfer"]["id"]})),
    )
    .await
    .expect(200);
    s.ws(
        Method::POST,
        "/transfer/commit",
        Some(json!({"transferId": b["transfer"]["id"]})),
    )
    .await
    .expect(400);
    assert_eq!(
        s.handle.balance(ProviderKind::Whalestack, USDC),
        dec!(35000)
    );

    // A target account labelled `fail…` makes the transfer fail; the debit is returned.
    register_sepa(&s, "fail-closed-account").await;
    let f = s.ws(Method::POST, "/transfer", Some(json!({"network": "SEPA", "asset": USDC, "amount": 100, "targetAccount": "fail-closed-account"}))).await.expect(200);
    let fid = f["transfer"]["id"].as_str().unwrap().to_string();
    s.ws(
        Method::POST,
        "/transfer/commit",
        Some(json!({"transferId": fid})),
    )
    .await
    .expect(200);
    s.advance("10s").await;
    assert_eq!(
        s.ws(Method::GET, &format!("/transfer?id={fid}"), None)
            .await
            .expect(200)["transfer"]["state"],
        "FAILED"
    );
    let kinds: Vec<_> = s.entries_of(&fid).iter().map(|e| e.kind.clone()).collect();
    assert_eq!(kinds, ["transfer.debit", "transfer.reversal"]);

    let list = s.ws(Method::GET, "/transfers", None).await.expect(200);
    assert_shape(&list, "whalestack/transfers_list.json");
    assert_eq!(list["count"], 5);
}

#[tokio::test]
async fn unknown_target_accounts_can_be_registered_on_first_use() {
    let s = sandbox_with(|c| c.auto_target_accounts = true).await;
    let request = json!({"network": "SEPA", "asset": EURC, "amount": "12.50", "targetAccount": "iban-label-7"});
    let created = s
        .ws(Method::POST, "/transfer", Some(request))
        .await
        .expect(200);
    assert_eq!(
        created["transfer"]["targetAccount"]["label"],
        "iban-label-7"
    );
    let accounts = s
        .ws(Method::GET, "/target-accounts", None)
        .await
        .expect(200);
    assert_eq!(accounts["count"], 1);
}

#[tokio::test]
async fn deposits_arrive_pending_then_complete() {
    let s = sandbox().await;
    let pending = s
        .hook(
            Method::POST,
            "/whalestack/deposits",
            Some(json!({"network": "BITCOIN", "asset": "BTC", "amount": "0.25"})),
        )
        .await
        .expect(200);
    let id = pending["deposit"]["id"].as_str().unwrap().to_string();
    assert_eq!(pending["deposit"]["state"], "PENDING_EXTERNAL");
    assert_eq!(s.handle.balance(ProviderKind::Whalestack, BTC), dec!(10));
    s.advance("10s").await;
    let done = s
        .ws(Method::GET, &format!("/deposit?id={id}"), None)
        .await
        .expect(200);
    assert_shape(&done, "whalestack/deposit_get.json");
    assert_eq!(done["deposit"]["state"], "COMPLETED");
    assert_eq!(dec_of(&done["deposit"]["amountNet"]), dec!(0.25));
    assert_eq!(s.handle.balance(ProviderKind::Whalestack, BTC), dec!(10.25));
    assert_shape(
        &s.ws(Method::GET, "/deposits", None).await.expect(200),
        "whalestack/deposits_list.json",
    );
}
