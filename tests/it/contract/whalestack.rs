//! Whalestack adapter ↔ sandbox: every action of its capability row, the two-phase swap and
//! transfer (the ledger moves once), lookups after lost answers, and polls.

use std::time::Duration;

use serde_json::json;
use sluice::catalog::ProviderKind;
use sluice::providers::{FailureClass, Lookup, NormalizedState, Outcome, Unit};

use super::support::*;

const BTC: &str = "BTC:GCQVEST7KIWV3KOSNDDUJKEPZLBFWKM7DUS4TCLW2VNVPCBGTDRVTEIT";
const KIND: ProviderKind = ProviderKind::Whalestack;

fn party_step(action: &'static str, key: &str, email: &str) -> Step {
    Step::new(
        action,
        key,
        json!({
            "email": email, "first_name": "John", "last_name": "Doe",
            "company": "ACME Inc.", "address_line1": "810 Beach St", "zip": "CA 94133",
            "city": "San Francisco", "country": "US", "note": "Always pays on time.",
            "metadata": {"reference": 123}
        }),
    )
}

#[tokio::test]
async fn customers_and_beneficiaries_upsert_and_read_back() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    for (action, object, created, got) in [
        (
            "customer.create",
            "customer",
            "customer_create.json",
            "customer_get.json",
        ),
        (
            "beneficiary.create",
            "beneficiary",
            "beneficiary_create.json",
            "beneficiary_get.json",
        ),
    ] {
        let step = party_step(action, &format!("k-{object}"), "john@doe.com");
        let out = step.done(p.as_ref()).await;
        let id = out.id.clone().expect("an id");
        assert_eq!(out.state.normalized, NormalizedState::Succeeded);
        assert_eq!(json(&out)["email"], "john@doe.com");
        assert_seed_shape(&out.raw, &format!("whalestack/{created}"));

        // An upsert by email: sending again keeps the id.
        assert_eq!(step.done(p.as_ref()).await.id.as_deref(), Some(id.as_str()));

        let polled = p.poll(object, &id).await.unwrap();
        assert_eq!(polled.id.as_deref(), Some(id.as_str()));
        assert_eq!(json(&polled)["email"], "john@doe.com");
        assert_seed_shape(&polled.raw, &format!("whalestack/{got}"));
        assert_eq!(polled.raw[object]["meta"]["reference"], 123);
        assert_eq!(polled.raw[object]["countrycode"], "US");

        assert_eq!(
            step.lookup(p.as_ref(), Some(&id)).await,
            Lookup::Found(polled.clone())
        );
        match step.lookup(p.as_ref(), None).await {
            Lookup::Found(found) => assert_eq!(found.id.as_deref(), Some(id.as_str())),
            other => panic!("{object} lookup by email: {other:?}"),
        }
    }
    assert!(movements(&sandbox, KIND).is_empty());
}

#[tokio::test]
async fn hosted_checkout_is_created_paid_and_settles_once() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let step = Step::new(
        "checkout.create",
        "k-hosted",
        json!({
            "amount": "169.99", "currency": "EUR", "description": "PCI Graphics Card",
            "settlement_asset": "USDC", "return_url": "https://shop.example/ok",
            "reference": "order-7", "metadata": {"order": 7}
        }),
    );
    let out = step.done(p.as_ref()).await;
    let id = out.id.clone().unwrap();
    assert_eq!(out.state.normalized, NormalizedState::Pending);
    assert_eq!(out.amount, Some(d("169.99")));
    assert_eq!(out.unit, Some(Unit::Currency("EUR".into())));
    assert_eq!(out.fee, None);
    assert_eq!(json(&out)["url"], out.raw["url"]);
    assert!(out.raw["url"].as_str().unwrap().contains(&id));
    assert_seed_shape(&out.raw, "whalestack/checkout_hosted.json");

    let open = p.poll("checkout", &id).await.unwrap();
    assert_eq!(open.state.raw.as_deref(), Some("NEW_CHARGE"));
    assert_eq!(open.state.normalized, NormalizedState::Pending);
    let payload = &open.raw["checkout"]["payload"];
    assert_eq!(payload["meta"]["idempotency_key"], "k-hosted");
    assert_eq!(payload["meta"]["reference"], "order-7");
    assert_eq!(
        payload["charge"]["lineItems"][0]["netAmount"].to_string(),
        "169.99"
    );
    assert_eq!(payload["settlementAsset"], USDC);

    hook(&sandbox, &format!("/checkouts/{id}/pay"), json!({})).await;
    sandbox.advance(Duration::from_secs(10));
    let paid = p.poll("checkout", &id).await.unwrap();
    assert_seed_shape(&paid.raw, "whalestack/checkout_get.json");
    assert_eq!(paid.state.raw.as_deref(), Some("COMPLETED"));
    assert_eq!(paid.state.normalized, NormalizedState::Succeeded);
    // 169.99 EUR at 1.08 USD is 183.5892 USDC gross, 0.5 % fee (rounded up to 7 places).
    assert_eq!(paid.amount, Some(d("183.5892")));
    assert_eq!(paid.unit, Some(Unit::Asset(USDC.into())));
    assert_eq!(paid.fee, Some(d("0.917946")));
    assert_eq!(json(&paid)["amount_received"], "182.6712540");
    let credits = entries_of(&sandbox, &id);
    assert_eq!(credits.len(), 1, "{credits:?}");
    assert_eq!(credits[0].amount, d("182.671254"));
    assert_eq!(credits[0].asset, USDC);
}

#[tokio::test]
async fn self_hosted_checkout_is_committed_to_a_payment_method() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let create = Step::new(
        "checkout.create",
        "k-self",
        json!({"amount": "25.50", "currency": "USD", "mode": "self_hosted"}),
    );
    let out = create.done(p.as_ref()).await;
    let id = out.id.clone().unwrap();
    assert_eq!(out.amount, Some(d("25.50")));
    assert_eq!(out.unit, Some(Unit::Currency("USD".into())));
    assert!(json(&out)["payment_methods"].is_array());
    assert_seed_shape(&out.raw, "whalestack/checkout_create.json");
    let pending = p.poll("checkout", &id).await.unwrap();
    assert_eq!(pending.state.raw.as_deref(), Some("PENDING_CHARGE"));
    assert_eq!(pending.amount, None, "no method chosen yet");

    let commit = Step::new(
        "checkout.commit",
        "k-self-commit",
        json!({"checkout_id": id, "network": "STELLAR", "asset": "USDC"}),
    );
    // Nothing committed yet: a lookup says so.
    assert_eq!(commit.lookup(p.as_ref(), None).await, Lookup::Absent);
    let committed = commit.done(p.as_ref()).await;
    assert_seed_shape(&committed.raw, "whalestack/checkout_commit.json");
    assert_eq!(committed.id.as_deref(), Some(id.as_str()));
    assert_eq!(committed.state.normalized, NormalizedState::Pending);
    assert_eq!(committed.amount, Some(d("25.5")));
    assert_eq!(committed.unit, Some(Unit::Asset("USD".into())));
    let j = json(&committed);
    assert_eq!(j["network"], "STELLAR");
    assert_eq!(j["memo_type"], "text");
    assert_eq!(j["settlement_asset"], USDC);
    assert_eq!(j["settlement_amount"], "25.5");
    assert!(j["address"].as_str().unwrap().starts_with('G'));
    match commit.lookup(p.as_ref(), None).await {
        Lookup::Found(found) => {
            assert_eq!(found.state.raw.as_deref(), Some("NEW_CHARGE"));
            assert_eq!(found.amount, Some(d("25.5")));
        }
        other => panic!("commit lookup: {other:?}"),
    }
    assert!(movements(&sandbox, KIND).is_empty());
}

#[tokio::test]
async fn swap_commits_once_across_a_resume() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let step = Step::new(
        "swap",
        "k-swap",
        json!({"source_asset": "USDC", "target_asset": "XLM", "source_amount": "10"}),
    );
    let (checkpoint, quote) = step.first_phase(p.as_ref()).await;
    let id = quote.id.clone().unwrap();
    assert_eq!(checkpoint["object"], "swap");
    assert_eq!(checkpoint["id"], id.as_str());
    assert_eq!(checkpoint["expire_time"], quote.raw["swap"]["expireTime"]);
    assert_eq!(quote.state.raw.as_deref(), Some("PENDING_API_COMMIT"));
    assert_eq!(quote.state.normalized, NormalizedState::RequiresAction);
    assert_eq!(quote.amount, Some(d("10")));
    assert_eq!(quote.unit, Some(Unit::Asset(USDC.into())));
    assert_eq!(json(&quote)["target_amount"], "100.0000000");
    assert_eq!(json(&quote)["target_asset"], XLM);
    assert_seed_shape(&quote.raw, "whalestack/swap_create.json");
    assert!(
        movements(&sandbox, KIND).is_empty(),
        "a quote moves nothing"
    );

    let done = match step.resume(p.as_ref(), &checkpoint).await.unwrap() {
        Outcome::Done(out) => out,
        other => panic!("{other:?}"),
    };
    assert_eq!(done.state.raw.as_deref(), Some("PROCESSING"));
    assert_eq!(done.state.normalized, NormalizedState::Processing);
    // A second commit from the same checkpoint is refused by the provider (the engine reads
    // the swap back before such a refusal counts), and nothing moves again.
    let again = step.resume(p.as_ref(), &checkpoint).await.unwrap_err();
    assert_eq!(again.status(), Some(400), "{again}");
    assert!(
        again.to_string().contains("not PENDING_API_COMMIT"),
        "{again}"
    );
    let debits = entries_of(&sandbox, &id);
    assert_eq!(debits.len(), 1, "{debits:?}");
    assert_eq!(
        (debits[0].kind.as_str(), debits[0].amount),
        ("swap.debit", d("-10"))
    );

    sandbox.advance(Duration::from_secs(5));
    let completed = p.poll("swap", &id).await.unwrap();
    assert_eq!(completed.state.normalized, NormalizedState::Succeeded);
    assert_seed_shape(&completed.raw, "whalestack/swap_get.json");
    let entries = entries_of(&sandbox, &id);
    assert_eq!(entries.len(), 2);
    assert_eq!(
        (entries[1].kind.as_str(), entries[1].amount),
        ("swap.credit", d("100"))
    );
    assert_eq!(entries[1].asset, XLM);
}

fn transfer_step(key: &str, amount: &str) -> Step {
    Step::new(
        "transfer",
        key,
        json!({
            "network": "BITCOIN", "asset": "BTC", "amount": amount,
            "target_account": "cold-wallet", "note": "Payout May"
        }),
    )
}

#[tokio::test]
async fn transfer_commits_once_and_reports_gross_fee_and_net() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let step = transfer_step("k-transfer", "0.5");
    let (checkpoint, quote) = step.first_phase(p.as_ref()).await;
    let id = quote.id.clone().unwrap();
    assert_eq!(checkpoint["object"], "transfer");
    assert_eq!(checkpoint["id"], id.as_str());
    assert_seed_shape(&quote.raw, "whalestack/transfer_create.json");
    assert_eq!(quote.state.normalized, NormalizedState::RequiresAction);
    assert_eq!(quote.amount, Some(d("0.5")));
    assert_eq!(quote.fee, Some(d("0.000201")));
    assert_eq!(quote.unit, Some(Unit::Asset(BTC.into())));
    let j = json(&quote);
    assert_eq!(j["amount"], "0.5000000");
    assert_eq!(j["fee"], "0.0002010");
    assert_eq!(j["target_amount"], "0.4997990");
    assert_eq!(j["note"], "Payout May [sluice:k-transfer]");

    let done = match step.resume(p.as_ref(), &checkpoint).await.unwrap() {
        Outcome::Done(out) => out,
        other => panic!("{other:?}"),
    };
    assert_seed_shape(&done.raw, "whalestack/transfer_commit.json");
    assert_eq!(done.state.normalized, NormalizedState::Processing);
    let again = step.resume(p.as_ref(), &checkpoint).await.unwrap_err();
    assert_eq!(again.status(), Some(400), "{again}");
    let debits = entries_of(&sandbox, &id);
    assert_eq!(debits.len(), 1, "{debits:?}");
    assert_eq!(debits[0].amount, d("-0.5"));
    assert_eq!(
        debits[0].reference.as_deref(),
        Some("Payout May [sluice:k-transfer]")
    );

    // With `amount_type: target` the fee is carried on top: 0.5 arrives, 0.500201 leaves.
    let net = Step::new(
        "transfer",
        "k-transfer-net",
        json!({"network": "BITCOIN", "asset": BTC, "amount": "0.5", "amount_type": "target",
               "target_account": "cold-wallet"}),
    );
    let (_, net_quote) = net.first_phase(p.as_ref()).await;
    assert_eq!(net_quote.amount, Some(d("0.500201")));
    assert_eq!(json(&net_quote)["target_amount"], "0.5000000");
    assert_eq!(json(&net_quote)["note"], "[sluice:k-transfer-net]");

    sandbox.advance(Duration::from_secs(10));
    let completed = p.poll("transfer", &id).await.unwrap();
    assert_eq!(completed.state.normalized, NormalizedState::Succeeded);
    assert_seed_shape(&completed.raw, "whalestack/transfer_get.json");
    assert_eq!(entries_of(&sandbox, &id).len(), 1);
}

#[tokio::test]
async fn deposit_addresses_balances_and_rates() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);

    let stellar = Step::new(
        "deposit_address.create",
        "k-dep",
        json!({"network": "STELLAR", "asset": "USDC"}),
    )
    .done(p.as_ref())
    .await;
    assert_seed_shape(&stellar.raw, "whalestack/deposit_address_stellar.json");
    assert_eq!(stellar.state.normalized, NormalizedState::Succeeded);
    let j = json(&stellar);
    assert_eq!(j["network"], "STELLAR");
    assert_eq!(j["deposit_address"]["asset"], USDC);
    assert!(j["deposit_address"]["memo"].is_string());
    assert_eq!(j["min_amount"], "0.0000001");
    let bitcoin = Step::new(
        "deposit_address.create",
        "k-dep-btc",
        json!({"network": "BITCOIN", "asset": "BTC"}),
    )
    .done(p.as_ref())
    .await;
    assert_seed_shape(&bitcoin.raw, "whalestack/deposit_address_bitcoin.json");
    // LIGHTNING invoices need an amount in SAT, which has no neutral field: `extra` carries it.
    let lightning = Step::new(
        "deposit_address.create",
        "k-dep-ln",
        json!({"network": "LIGHTNING", "asset": "BTCLN", "extra": {"amount": "5000"}}),
    )
    .done(p.as_ref())
    .await;
    assert_seed_shape(&lightning.raw, "whalestack/deposit_address_lightning.json");
    assert_eq!(json(&lightning)["deposit_address"]["amount"], "5000");

    let one = Step::new("balance.get", "k-bal", json!({"asset": "USDC"}))
        .done(p.as_ref())
        .await;
    assert_seed_shape(&one.raw, "whalestack/wallet_get.json");
    assert_eq!(one.amount, Some(d("100000")));
    assert_eq!(json(&one)["amount"], "100000.0000000");
    assert_eq!(one.unit, Some(Unit::Asset(USDC.into())));
    assert_eq!(json(&one)["currency_code"], "USD");
    let all = Step::new("balance.get", "k-bals", json!({}))
        .done(p.as_ref())
        .await;
    assert_seed_shape(&all.raw, "whalestack/wallets.json");
    assert_eq!(json(&all)["balances"][BTC], "10.0000000");
    assert_eq!(json(&all)["balances"][XLM], "100000.0000000");

    let rate = Step::new(
        "rate.get",
        "k-rate",
        json!({"source_asset": "USDC", "target_asset": "XLM", "amount": "10"}),
    )
    .done(p.as_ref())
    .await;
    assert_seed_shape(&rate.raw, "whalestack/exchange_rate.json");
    assert_eq!(rate.amount, Some(d("100")));
    assert_eq!(rate.unit, Some(Unit::Asset(XLM.into())));
    let j = json(&rate);
    assert_eq!(j["source_amount"], "10");
    assert_eq!(j["exchange_rate"], "1:0.1000000");
    assert_eq!(j["switch"], "send-amount");

    // Deposits arrive from outside; `poll` follows one to its credit.
    let deposit = hook(
        &sandbox,
        "/whalestack/deposits",
        json!({"network": "STELLAR", "asset": USDC, "amount": "5"}),
    )
    .await;
    let deposit_id = deposit["deposit"]["id"].as_str().unwrap().to_string();
    let pending = p.poll("deposit", &deposit_id).await.unwrap();
    assert_eq!(pending.state.normalized, NormalizedState::Pending);
    sandbox.advance(Duration::from_secs(10));
    let credited = p.poll("deposit", &deposit_id).await.unwrap();
    assert_seed_shape(&credited.raw, "whalestack/deposit_get.json");
    assert_eq!(credited.state.normalized, NormalizedState::Succeeded);
    assert_eq!(credited.amount, Some(d("5")));
    assert_eq!(credited.fee, Some(d("0")));
    assert_eq!(movements(&sandbox, KIND).len(), 1);
}

/// The object a write created although its answer was lost, found by `lookup`.
async fn lost_create(sandbox: &sluice::sandbox::SandboxHandle, route: &str, step: &Step) -> Lookup {
    let p = provider(sandbox, KIND);
    faults(sandbox, &[&format!("lost_response@POST {route},times=1")]);
    let err = step.fails(p.as_ref()).await;
    assert_eq!(err.class(), FailureClass::InDoubt, "{err}");
    clear_faults(sandbox);
    step.lookup(p.as_ref(), None).await
}

#[tokio::test]
async fn lookups_find_what_a_lost_answer_created() {
    let sandbox = sandbox().await;
    let base = "/whalestack/api/v1";

    let customer = party_step("customer.create", "k-lost-cus", "lost@doe.com");
    match lost_create(&sandbox, &format!("{base}/customer"), &customer).await {
        Lookup::Found(out) => assert_eq!(json(&out)["email"], "lost@doe.com"),
        other => panic!("customer: {other:?}"),
    }

    let checkout = Step::new(
        "checkout.create",
        "k-lost-co",
        json!({"amount": "10.00", "currency": "EUR"}),
    );
    match lost_create(&sandbox, &format!("{base}/checkout/hosted"), &checkout).await {
        Lookup::Found(out) => {
            assert_eq!(out.raw["payload"]["meta"]["idempotency_key"], "k-lost-co");
            assert_eq!(out.state.raw.as_deref(), Some("NEW_CHARGE"));
        }
        other => panic!("checkout: {other:?}"),
    }

    // A lost transfer quote is found by the marker in its note and continues to the commit.
    let transfer = transfer_step("k-lost-tr", "0.25");
    let p = provider(&sandbox, KIND);
    let (checkpoint, id) = match lost_create(&sandbox, &format!("{base}/transfer"), &transfer).await
    {
        Lookup::Continue { checkpoint, output } => (checkpoint, output.id.unwrap()),
        other => panic!("transfer: {other:?}"),
    };
    assert_eq!(checkpoint["id"], id.as_str());
    transfer.resume(p.as_ref(), &checkpoint).await.unwrap();
    assert_eq!(entries_of(&sandbox, &id).len(), 1);

    // Swaps carry no reference: a lost quote is reported for an operator, never absent.
    let swap = Step::new(
        "swap",
        "k-lost-sw",
        json!({"source_asset": USDC, "target_asset": XLM, "source_amount": "7"}),
    );
    match lost_create(&sandbox, &format!("{base}/swap"), &swap).await {
        Lookup::Unknown { reason } => assert!(reason.contains("--succeeded"), "{reason}"),
        other => panic!("swap: {other:?}"),
    }
}

#[tokio::test]
async fn a_lost_commit_is_found_and_never_sent_twice() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    for (step, object) in [
        (transfer_step("k-commit-tr", "0.1"), "transfer"),
        (
            Step::new(
                "swap",
                "k-commit-sw",
                json!({"source_asset": USDC, "target_asset": XLM, "target_amount": "30"}),
            ),
            "swap",
        ),
    ] {
        let (checkpoint, quote) = step.first_phase(p.as_ref()).await;
        let id = quote.id.unwrap();
        faults(
            &sandbox,
            &[&format!(
                "lost_response@POST /whalestack/api/v1/{object}/commit,times=1"
            )],
        );
        let err = step.resume(p.as_ref(), &checkpoint).await.unwrap_err();
        assert_eq!(err.class(), FailureClass::InDoubt, "{err}");
        clear_faults(&sandbox);
        match step.lookup_from(p.as_ref(), &checkpoint).await {
            Lookup::Found(out) => {
                assert_eq!(out.id.as_deref(), Some(id.as_str()));
                assert_eq!(out.state.normalized, NormalizedState::Processing);
            }
            other => panic!("{object}: {other:?}"),
        }
        // Committing again is refused, not applied.
        let again = step.resume(p.as_ref(), &checkpoint).await.unwrap_err();
        assert_eq!(again.status(), Some(400), "{object}: {again}");
        let debits = entries_of(&sandbox, &id);
        assert_eq!(debits.len(), 1, "{object}: {debits:?}");
    }
}

#[tokio::test]
async fn writes_that_never_arrived_are_absent() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let base = "/whalestack/api/v1";
    let steps = [
        (
            "checkout/hosted",
            Step::new(
                "checkout.create",
                "k-drop-co",
                json!({"amount": "10.00", "currency": "EUR"}),
            ),
        ),
        ("transfer", transfer_step("k-drop-tr", "0.3")),
        (
            "swap",
            Step::new(
                "swap",
                "k-drop-sw",
                json!({"source_asset": USDC, "target_asset": XLM, "source_amount": "3"}),
            ),
        ),
        (
            "customer",
            party_step("customer.create", "k-drop-cus", "drop@doe.com"),
        ),
    ];
    for (route, step) in steps {
        faults(&sandbox, &[&format!("drop@POST {base}/{route},times=1")]);
        let err = step.fails(p.as_ref()).await;
        assert_eq!(err.class(), FailureClass::InDoubt, "{route}: {err}");
        clear_faults(&sandbox);
        assert_eq!(
            step.lookup(p.as_ref(), None).await,
            Lookup::Absent,
            "{route}"
        );
    }
    assert!(movements(&sandbox, KIND).is_empty());
}

#[tokio::test]
async fn an_expired_quote_is_refused_and_moves_nothing() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let step = Step::new(
        "swap",
        "k-expired",
        json!({"source_asset": USDC, "target_asset": XLM, "source_amount": "2"}),
    );
    let (checkpoint, quote) = step.first_phase(p.as_ref()).await;
    sandbox.advance(Duration::from_secs(2 * 3600));
    let err = step.resume(p.as_ref(), &checkpoint).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Rejected, "{err}");
    assert!(err.to_string().contains("expired"), "{err}");
    assert!(entries_of(&sandbox, &quote.id.unwrap()).is_empty());
}

#[tokio::test]
async fn a_lost_checkout_commit_is_found() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let id = Step::new(
        "checkout.create",
        "k-lc",
        json!({"amount": "5.00", "currency": "EUR", "mode": "self_hosted"}),
    )
    .done(p.as_ref())
    .await
    .id
    .unwrap();
    let commit = Step::new(
        "checkout.commit",
        "k-lc-commit",
        json!({"checkout_id": id, "network": "STELLAR", "asset": EURC}),
    );
    faults(
        &sandbox,
        &["lost_response@POST /whalestack/api/v1/checkout/commit,times=1"],
    );
    assert_eq!(
        commit.fails(p.as_ref()).await.class(),
        FailureClass::InDoubt
    );
    clear_faults(&sandbox);
    match commit.lookup(p.as_ref(), None).await {
        Lookup::Found(found) => {
            assert_eq!(found.state.raw.as_deref(), Some("NEW_CHARGE"));
            assert_eq!(found.raw["checkout"]["sourceAssetId"], EURC);
        }
        other => panic!("{other:?}"),
    }
}
