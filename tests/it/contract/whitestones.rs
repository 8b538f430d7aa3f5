//! WHITESTONES adapter ↔ sandbox: payment intents (`checkout.create`) and payouts
//! (`transfer`), `Idempotency-Key` replays, and lookups by key after lost answers.

use std::time::Duration;

use serde_json::json;
use sluice::catalog::ProviderKind;
use sluice::providers::{FailureClass, Lookup, NormalizedState, Unit};

use super::support::*;

const KIND: ProviderKind = ProviderKind::Whitestones;

fn intent_step(key: &str, amount: &str) -> Step {
    Step::new(
        "checkout.create",
        key,
        json!({
            "amount": amount, "currency": "usd", "description": "Order #12345",
            "customer_email": "customer@example.com", "customer_name": "John Doe",
            "metadata": {"order_id": "12345"}, "reference": "order-12345",
            "return_url": "https://yoursite.example/success",
            "cancel_url": "https://yoursite.example/cancel"
        }),
    )
}

fn payout_step(key: &str, amount: &str, name: &str) -> Step {
    Step::new(
        "transfer",
        key,
        json!({
            "amount": amount, "currency": "USD", "description": "Freelance payment",
            "recipient": {
                "type": "individual", "name": name, "email": "jane@example.com",
                "bank_account": {"account_number": "1234567890", "routing_number": "021000021",
                                 "account_type": "checking"}
            },
            "metadata": {"project_id": "proj_123"}
        }),
    )
}

#[tokio::test]
async fn a_payment_intent_is_created_paid_and_credited_once() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let step = intent_step("k-pi", "10.00");
    let out = step.done(p.as_ref()).await;
    let id = out.id.clone().unwrap();
    assert!(id.starts_with("pi_"), "{id}");
    assert_seed_shape(&out.raw, "whitestones/payment_intent.json");
    assert_eq!(out.raw["amount"], 1000);
    assert_eq!(
        out.raw["client_secret"],
        sluice::providers::MASKED,
        "the client secret is not kept"
    );
    assert_eq!(out.raw["metadata"]["idempotency_key"], "k-pi");
    assert_eq!(out.raw["metadata"]["reference"], "order-12345");
    assert_eq!(out.state.raw.as_deref(), Some("requires_payment_method"));
    assert_eq!(out.state.normalized, NormalizedState::Pending);
    assert_eq!(out.amount, Some(d("10.00")));
    assert_eq!(json(&out)["amount"], "10.00");
    assert_eq!(out.unit, Some(Unit::Currency("USD".into())));
    assert_eq!(json(&out)["payment_url"], out.raw["payment_url"]);

    // Sent again with the same key (a retry after an unclear answer): the same intent.
    assert_eq!(step.done(p.as_ref()).await.id.as_deref(), Some(id.as_str()));

    hook(&sandbox, &format!("/checkouts/{id}/pay"), json!({})).await;
    assert_eq!(
        p.poll("payment_intent", &id)
            .await
            .unwrap()
            .state
            .normalized,
        NormalizedState::Processing
    );
    sandbox.advance(Duration::from_secs(5));
    let paid = p.poll("payment_intent", &id).await.unwrap();
    assert_seed_shape(&paid.raw, "whitestones/payment_intent.json");
    assert_eq!(paid.state.normalized, NormalizedState::Succeeded);
    let credits = entries_of(&sandbox, &id);
    assert_eq!(credits.len(), 1, "{credits:?}");
    assert_eq!(credits[0].amount, d("10"));
    assert_eq!(credits[0].idempotency_key.as_deref(), Some("k-pi"));
}

#[tokio::test]
async fn a_payout_debits_amount_and_fee_once_and_completes() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let step = payout_step("k-po", "50.00", "Jane Smith");
    let out = step.done(p.as_ref()).await;
    let id = out.id.clone().unwrap();
    assert!(id.starts_with("po_"), "{id}");
    assert_seed_shape(&out.raw, "whitestones/payout.json");
    assert_eq!(
        (out.raw["amount"].clone(), out.raw["fee"].clone()),
        (json!(5000), json!(25))
    );
    assert_eq!(out.state.raw.as_deref(), Some("pending"));
    assert_eq!(out.state.normalized, NormalizedState::Pending);
    assert_eq!(out.amount, Some(d("50.00")));
    assert_eq!(out.fee, Some(d("0.25")));
    assert_eq!(out.unit, Some(Unit::Currency("USD".into())));
    assert!(json(&out)["estimated_arrival"].is_string());

    assert_eq!(step.done(p.as_ref()).await.id.as_deref(), Some(id.as_str()));
    let moves: Vec<_> = entries_of(&sandbox, &id)
        .iter()
        .map(|e| (e.kind.clone(), e.amount, e.idempotency_key.clone()))
        .collect();
    let key = Some("k-po".to_string());
    assert_eq!(
        moves,
        [
            ("payout.debit".to_string(), d("-50"), key.clone()),
            ("payout.fee".to_string(), d("-0.25"), key),
        ]
    );

    sandbox.advance(Duration::from_secs(30));
    let done = p.poll("payout", &id).await.unwrap();
    assert_seed_shape(&done.raw, "whitestones/payout.json");
    assert_eq!(done.state.raw.as_deref(), Some("completed"));
    assert_eq!(done.state.normalized, NormalizedState::Succeeded);
    assert_eq!(
        step.lookup(p.as_ref(), Some(&id)).await,
        Lookup::Found(done)
    );
    assert_eq!(entries_of(&sandbox, &id).len(), 2);
}

#[tokio::test]
async fn lookups_by_key_find_lost_answers_and_know_absent_requests() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    for (route, step) in [
        ("payouts", payout_step("k-lost-po", "12.00", "Jane Smith")),
        ("payment_intents", intent_step("k-lost-pi", "12.00")),
    ] {
        faults(
            &sandbox,
            &[&format!(
                "lost_response@POST /whitestones/v1/{route},times=1"
            )],
        );
        assert_eq!(
            step.fails(p.as_ref()).await.class(),
            FailureClass::InDoubt,
            "{route}"
        );
        clear_faults(&sandbox);
        let found = match step.lookup(p.as_ref(), None).await {
            Lookup::Found(found) => found,
            other => panic!("{route}: {other:?}"),
        };
        assert_eq!(found.amount, Some(d("12.00")), "{route}");
        assert_eq!(found.raw["metadata"]["idempotency_key"], step.key.as_str());
        // Sending again with the key replays the same object.
        assert_eq!(step.done(p.as_ref()).await.id, found.id, "{route}");
    }
    let payout_moves = movements(&sandbox, KIND);
    assert_eq!(
        payout_moves.len(),
        2,
        "one debit and one fee: {payout_moves:?}"
    );

    for (route, step) in [
        ("payouts", payout_step("k-drop-po", "13.00", "Jane Smith")),
        ("payment_intents", intent_step("k-drop-pi", "13.00")),
    ] {
        faults(
            &sandbox,
            &[&format!("drop@POST /whitestones/v1/{route},times=1")],
        );
        assert_eq!(
            step.fails(p.as_ref()).await.class(),
            FailureClass::InDoubt,
            "{route}"
        );
        clear_faults(&sandbox);
        assert_eq!(
            step.lookup(p.as_ref(), None).await,
            Lookup::Absent,
            "{route}"
        );
    }
    assert_eq!(movements(&sandbox, KIND).len(), 2);
}
