//! White Payments adapter ↔ sandbox: customers, charges (captured at once, or authorised
//! then captured), partial and full refunds, a declined card, lookups after lost answers.

use serde_json::{Value, json};
use sluice::catalog::ProviderKind;
use sluice::providers::{FailureClass, Lookup, NormalizedState, Unit};

use super::support::*;

const KIND: ProviderKind = ProviderKind::White;

fn card(number: &str) -> Value {
    json!({"name": "Abdullah Ahmed", "number": number, "exp_month": "12", "exp_year": "2030", "cvc": "123"})
}

fn charge_step(key: &str, amount: &str, currency: &str, capture: bool) -> Step {
    Step::new(
        "charge.create",
        key,
        json!({
            "amount": amount, "currency": currency, "source": card("4242424242424242"),
            "email": "abdullah@example.com", "description": "Two widgets", "capture": capture
        }),
    )
}

#[tokio::test]
async fn customers_are_created_and_read_back() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let step = Step::new(
        "customer.create",
        "k-cus",
        json!({"email": "abdullah@example.com", "first_name": "Abdullah", "last_name": "Ahmed",
               "description": "Trade show"}),
    );
    let out = step.done(p.as_ref()).await;
    let id = out.id.clone().unwrap();
    assert!(id.starts_with("cus_"), "{id}");
    assert_eq!(out.state.normalized, NormalizedState::Succeeded);
    assert_eq!(json(&out)["email"], "abdullah@example.com");
    assert_eq!(out.raw["name"], "Abdullah Ahmed");
    assert_eq!(out.raw["description"], "Trade show [sluice:k-cus]");
    assert_seed_shape(&out.raw, "white/customer.json");
    let polled = p.poll("customer", &id).await.unwrap();
    assert_eq!(polled.id, out.id);
    assert_seed_shape(&polled.raw, "white/customer.json");
    assert_eq!(
        step.lookup(p.as_ref(), Some(&id)).await,
        Lookup::Found(polled)
    );
    match step.lookup(p.as_ref(), None).await {
        Lookup::Found(found) => assert_eq!(found.id, out.id),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_captured_charge_is_refunded_in_part_then_in_full() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let charge = charge_step("k-charge", "10.00", "AED", true)
        .done(p.as_ref())
        .await;
    let id = charge.id.clone().unwrap();
    assert_seed_shape(&charge.raw, "white/charge.json");
    assert_eq!(charge.raw["amount"], 1000);
    assert_eq!(charge.raw["currency"], "aed");
    assert_eq!(charge.state.raw.as_deref(), Some("captured"));
    assert_eq!(charge.state.normalized, NormalizedState::Succeeded);
    assert_eq!(charge.amount, Some(d("10.00")));
    assert_eq!(json(&charge)["amount"], "10.00");
    assert_eq!(charge.unit, Some(Unit::Currency("AED".into())));
    assert_eq!(charge.fee, None);
    assert_eq!(json(&charge)["captured_amount"], "10.00");
    assert_eq!(json(&charge)["refunded_amount"], "0.00");
    assert_eq!(
        json(&charge)["description"],
        "Two widgets [sluice:k-charge]"
    );

    let partial = Step::new(
        "refund.create",
        "k-refund-1",
        json!({"charge_id": id, "amount": "2.50", "currency": "AED", "reason": "requested_by_customer"}),
    )
    .done(p.as_ref())
    .await;
    assert_seed_shape(&partial.raw, "white/refund.json");
    assert_eq!(partial.raw["amount"], 250);
    assert_eq!(partial.amount, Some(d("2.50")));
    assert_eq!(partial.unit, Some(Unit::Currency("AED".into())));
    assert_eq!(partial.state.normalized, NormalizedState::Succeeded);
    let j = json(&partial);
    assert_eq!(j["amount_minor"], 250);
    assert_eq!(j["charge_id"], id.as_str());
    assert_eq!(j["charge_state"], "partially_refunded");
    assert_eq!(j["reason"], "requested_by_customer");

    // No amount: the rest of the charge.
    let full = Step::new("refund.create", "k-refund-2", json!({"charge_id": id}))
        .done(p.as_ref())
        .await;
    assert_eq!(full.raw["amount"], 750);
    assert_eq!(full.amount, None, "no currency given, no decimal amount");
    assert_eq!(json(&full)["charge_state"], "refunded");

    let polled = p.poll("charge", &id).await.unwrap();
    assert_eq!(polled.state.raw.as_deref(), Some("refunded"));
    assert_eq!(polled.state.normalized, NormalizedState::Succeeded);
    assert_eq!(json(&polled)["refunded_amount"], "10.00");
    let moves: Vec<_> = movements(&sandbox, KIND)
        .iter()
        .map(|e| (e.kind.clone(), e.amount))
        .collect();
    assert_eq!(
        moves,
        [
            ("charge.capture".to_string(), d("10")),
            ("refund".to_string(), d("-2.5")),
            ("refund".to_string(), d("-7.5")),
        ]
    );
}

#[tokio::test]
async fn an_authorisation_is_captured_in_part_in_a_three_decimal_currency() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let auth = charge_step("k-auth", "12.345", "BHD", false)
        .done(p.as_ref())
        .await;
    let id = auth.id.clone().unwrap();
    assert_eq!(auth.raw["amount"], 12345);
    assert_eq!(auth.raw["currency"], "bhd");
    assert_eq!(auth.state.raw.as_deref(), Some("authorized"));
    assert_eq!(auth.state.normalized, NormalizedState::RequiresAction);
    assert_eq!(auth.amount, Some(d("12.345")));
    assert_eq!(json(&auth)["captured_amount"], "0.000");
    assert!(
        movements(&sandbox, KIND).is_empty(),
        "an authorisation moves nothing"
    );

    let capture = Step::new(
        "charge.capture",
        "k-capture",
        json!({"charge_id": id, "amount": "10.000", "currency": "BHD"}),
    );
    assert_eq!(capture.lookup(p.as_ref(), None).await, Lookup::Absent);
    let captured = capture.done(p.as_ref()).await;
    assert_seed_shape(&captured.raw, "white/charge_capture.json");
    assert_eq!(captured.state.normalized, NormalizedState::Succeeded);
    assert_eq!(captured.raw["captured_amount"], 10000);
    assert_eq!(json(&captured)["captured_amount"], "10.000");
    assert_eq!(captured.amount, Some(d("12.345")));
    match capture.lookup(p.as_ref(), None).await {
        Lookup::Found(found) => assert_eq!(found.state.raw.as_deref(), Some("captured")),
        other => panic!("{other:?}"),
    }
    let moves = movements(&sandbox, KIND);
    assert_eq!(moves.len(), 1);
    assert_eq!((moves[0].asset.as_str(), moves[0].amount), ("BHD", d("10")));
}

#[tokio::test]
async fn a_declined_card_is_rejected_with_whites_own_message() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let step = Step::new(
        "charge.create",
        "k-declined",
        json!({"amount": "10.00", "currency": "AED", "source": card("4000000000000002"),
               "email": "abdullah@example.com"}),
    );
    let err = step.fails(p.as_ref()).await;
    assert_eq!(err.class(), FailureClass::Rejected, "{err}");
    assert_eq!(err.status(), Some(402));
    assert_eq!(
        err.to_string(),
        "`contract_white` rejected the request (HTTP 402, `card_declined`): The card was declined."
    );
    assert!(movements(&sandbox, KIND).is_empty());
    // White keeps the failed charge; a lookup finds it, failed.
    match step.lookup(p.as_ref(), None).await {
        Lookup::Found(found) => {
            assert_eq!(found.state.normalized, NormalizedState::Failed);
            assert_eq!(json(&found)["failure_code"], "card_declined");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn lookups_after_lost_answers_and_requests_that_never_arrived() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);

    // A charge whose answer was lost is found by its description marker, and was captured once.
    let lost = charge_step("k-lost", "20.00", "USD", true);
    faults(&sandbox, &["lost_response@POST /white/charges,times=1"]);
    assert_eq!(lost.fails(p.as_ref()).await.class(), FailureClass::InDoubt);
    clear_faults(&sandbox);
    let id = match lost.lookup(p.as_ref(), None).await {
        Lookup::Found(found) => {
            assert_eq!(found.amount, Some(d("20.00")));
            found.id.unwrap()
        }
        other => panic!("charge: {other:?}"),
    };
    assert_eq!(entries_of(&sandbox, &id).len(), 1);

    // A customer likewise.
    let customer = Step::new(
        "customer.create",
        "k-lost-cus",
        json!({"email": "lost@example.com"}),
    );
    faults(&sandbox, &["lost_response@POST /white/customers,times=1"]);
    assert_eq!(
        customer.fails(p.as_ref()).await.class(),
        FailureClass::InDoubt
    );
    clear_faults(&sandbox);
    assert!(matches!(
        customer.lookup(p.as_ref(), None).await,
        Lookup::Found(_)
    ));

    // A lost capture: the charge's state tells.
    let auth = charge_step("k-lost-auth", "5.00", "USD", false)
        .done(p.as_ref())
        .await;
    let auth_id = auth.id.unwrap();
    let capture = Step::new(
        "charge.capture",
        "k-lost-cap",
        json!({"charge_id": auth_id}),
    );
    faults(
        &sandbox,
        &[&format!(
            "lost_response@POST /white/charges/{auth_id}/capture,times=1"
        )],
    );
    assert_eq!(
        capture.fails(p.as_ref()).await.class(),
        FailureClass::InDoubt
    );
    clear_faults(&sandbox);
    assert!(matches!(
        capture.lookup(p.as_ref(), None).await,
        Lookup::Found(_)
    ));
    assert_eq!(entries_of(&sandbox, &auth_id).len(), 1);

    // A lost refund: refunds carry no reference, so one that could be this step's goes to an
    // operator.
    let refund = Step::new(
        "refund.create",
        "k-lost-ref",
        json!({"charge_id": id, "amount": "1.00", "currency": "USD"}),
    );
    faults(
        &sandbox,
        &[&format!(
            "lost_response@POST /white/charges/{id}/refunds,times=1"
        )],
    );
    assert_eq!(
        refund.fails(p.as_ref()).await.class(),
        FailureClass::InDoubt
    );
    clear_faults(&sandbox);
    match refund.lookup(p.as_ref(), None).await {
        Lookup::Unknown { reason } => assert!(reason.contains("--succeeded"), "{reason}"),
        other => panic!("refund: {other:?}"),
    }
    let refunds: Vec<_> = movements(&sandbox, KIND)
        .into_iter()
        .filter(|e| e.kind == "refund")
        .collect();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].reference.as_deref(), Some(id.as_str()));

    // Requests that never arrived are absent, and nothing moved.
    let before = movements(&sandbox, KIND).len();
    let dropped_charge = charge_step("k-drop", "30.00", "USD", true);
    let dropped_refund = Step::new(
        "refund.create",
        "k-drop-ref",
        json!({"charge_id": id, "amount": "3.00", "currency": "USD"}),
    );
    let dropped_customer = Step::new(
        "customer.create",
        "k-drop-cus",
        json!({"email": "drop@example.com"}),
    );
    for (route, step) in [
        ("/white/charges".to_string(), &dropped_charge),
        (format!("/white/charges/{id}/refunds"), &dropped_refund),
        ("/white/customers".to_string(), &dropped_customer),
    ] {
        faults(&sandbox, &[&format!("drop@POST {route},times=1")]);
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
    assert_eq!(movements(&sandbox, KIND).len(), before);
}

#[tokio::test]
async fn a_processing_error_is_in_doubt_and_the_lookup_shows_the_failed_charge() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let step = Step::new(
        "charge.create",
        "k-processing",
        json!({"amount": "10.00", "currency": "AED", "source": card("4000000000000119"),
               "email": "abdullah@example.com"}),
    );
    let err = step.fails(p.as_ref()).await;
    assert_eq!(err.class(), FailureClass::InDoubt, "{err}");
    assert_eq!(err.status(), Some(500));
    assert!(
        err.to_string()
            .contains("An error occurred while processing the card."),
        "{err}"
    );
    match step.lookup(p.as_ref(), None).await {
        Lookup::Found(found) => {
            assert_eq!(found.state.normalized, NormalizedState::Failed);
            assert_eq!(json(&found)["failure_code"], "processing_error");
        }
        other => panic!("{other:?}"),
    }
    assert!(movements(&sandbox, KIND).is_empty());
}
