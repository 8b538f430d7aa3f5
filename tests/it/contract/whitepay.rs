//! Whitepay adapter ↔ sandbox: balances, per-balance rates and conversions (`swap`), the
//! transaction read back to its end, and lookups of a conversion whose answer was lost.

use std::time::Duration;

use serde_json::json;
use sluice::catalog::ProviderKind;
use sluice::providers::{FailureClass, Lookup, NormalizedState, Unit};

use super::support::*;

const KIND: ProviderKind = ProviderKind::Whitepay;

#[tokio::test]
async fn balances_one_by_ticker_or_all() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let usdt = Step::new("balance.get", "k-b1", json!({"asset": "usdt"}))
        .done(p.as_ref())
        .await;
    assert_seed_shape(&usdt.raw, "whitepay/balances.json");
    assert_eq!(usdt.state.normalized, NormalizedState::Succeeded);
    assert_eq!(usdt.amount, Some(d("100000")));
    assert_eq!(json(&usdt)["amount"], "100000.00000000");
    assert_eq!(usdt.unit, Some(Unit::Asset("USDT".into())));
    assert_eq!(json(&usdt)["precision"], 2);
    let balance_id = usdt.id.clone().unwrap();

    let btc = Step::new("balance.get", "k-b2", json!({"currency": "BTC"}))
        .done(p.as_ref())
        .await;
    assert_eq!(btc.amount, Some(d("2")));
    assert_eq!(json(&btc)["precision"], 8);
    assert_ne!(btc.id.as_deref(), Some(balance_id.as_str()));

    let all = Step::new("balance.get", "k-b3", json!({}))
        .done(p.as_ref())
        .await;
    let balances = &json(&all)["balances"];
    assert_eq!(balances["DOGE"], "100000.00000000");
    assert_eq!(balances["ETH"], "50.00000000");
    assert_eq!(balances.as_object().unwrap().len(), 6);
}

#[tokio::test]
async fn rates_are_read_from_the_source_balance() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let rate = Step::new(
        "rate.get",
        "k-rate",
        json!({"source_asset": "USDT", "target_asset": "BTC", "amount": "100"}),
    )
    .done(p.as_ref())
    .await;
    assert_seed_shape(&rate.raw, "whitepay/balance.json");
    assert_eq!(rate.state.normalized, NormalizedState::Succeeded);
    // 1 USDT is 1/30000 BTC, rounded down to BTC's 8 places.
    let j = json(&rate);
    assert_eq!(j["exchange_rate"], "0.00003333");
    assert_eq!(rate.amount, Some(d("0.003333")));
    assert_eq!(rate.unit, Some(Unit::Asset("BTC".into())));
    assert_eq!(j["source_asset"], "USDT");
    assert_eq!(j["target_precision"], 8);
    assert_eq!(j["min_exchange_amount"], "1.00");
}

#[tokio::test]
async fn a_conversion_debits_once_and_completes() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    let step = Step::new(
        "swap",
        "k-conv",
        json!({"source_asset": "DOGE", "target_asset": "USDT", "source_amount": "40"}),
    );
    let out = step.done(p.as_ref()).await;
    let id = out.id.clone().unwrap();
    assert_seed_shape(&out.raw, "whitepay/conversion.json");
    assert_eq!(out.raw["transaction"]["value"], "40");
    assert_eq!(out.state.raw.as_deref(), Some("INIT"));
    assert_eq!(out.state.normalized, NormalizedState::Pending);
    assert_eq!(out.amount, Some(d("40")));
    assert_eq!(json(&out)["amount"], "40.00000000");
    assert_eq!(out.unit, Some(Unit::Asset("DOGE".into())));
    assert_eq!(out.fee, None);
    let j = json(&out);
    assert_eq!(j["target_asset"], "USDT");
    assert_eq!(j["target_amount"], "0.00000000");
    assert_eq!(j["type"], "CONVERT");

    sandbox.advance(Duration::from_secs(5));
    let processing = p.poll("transaction", &id).await.unwrap();
    assert_eq!(processing.state.normalized, NormalizedState::Processing);
    sandbox.advance(Duration::from_secs(5));
    let done = p.poll("transaction", &id).await.unwrap();
    assert_seed_shape(&done.raw, "whitepay/conversion.json");
    assert_eq!(done.state.raw.as_deref(), Some("COMPLETED"));
    assert_eq!(done.state.normalized, NormalizedState::Succeeded);
    assert_eq!(json(&done)["target_amount"], "4.00000000");
    assert_eq!(
        step.lookup(p.as_ref(), Some(&id)).await,
        Lookup::Found(done)
    );

    let moves: Vec<_> = entries_of(&sandbox, &id)
        .iter()
        .map(|e| (e.kind.clone(), e.asset.clone(), e.amount))
        .collect();
    assert_eq!(
        moves,
        [
            ("conversion.debit".to_string(), "DOGE".to_string(), d("-40")),
            ("conversion.credit".to_string(), "USDT".to_string(), d("4")),
        ]
    );
}

#[tokio::test]
async fn a_lost_conversion_goes_to_an_operator_and_moved_at_most_once() {
    let sandbox = sandbox().await;
    let p = provider(&sandbox, KIND);
    // The count is cumulative: the lost answer moved money once, the dropped request not.
    for (fault, moved) in [("lost_response", 1), ("drop", 1)] {
        let step = Step::new(
            "swap",
            &format!("k-{fault}"),
            json!({"source_asset": "USDT", "target_asset": "EUR", "source_amount": "10.80"}),
        );
        let balance_id = Step::new("balance.get", "k-id", json!({"asset": "USDT"}))
            .done(p.as_ref())
            .await
            .id
            .unwrap();
        faults(
            &sandbox,
            &[&format!(
                "{fault}@POST /whitepay/private-api/balances/{balance_id},times=1"
            )],
        );
        let err = step.fails(p.as_ref()).await;
        assert_eq!(err.class(), FailureClass::InDoubt, "{fault}: {err}");
        clear_faults(&sandbox);
        // Conversions carry no reference: never absent, an operator decides.
        match step.lookup(p.as_ref(), None).await {
            Lookup::Unknown { reason } => {
                assert!(reason.contains("`10.80` `USDT` to `EUR`"), "{reason}")
            }
            other => panic!("{fault}: {other:?}"),
        }
        let debits = movements(&sandbox, KIND)
            .into_iter()
            .filter(|e| e.kind == "conversion.debit" && e.amount == d("-10.80"))
            .count();
        assert_eq!(debits, moved, "{fault}");
    }
}
