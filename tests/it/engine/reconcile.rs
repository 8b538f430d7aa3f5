//! `sluice reconcile` at the providers other than Whalestack: each listing the README names
//! (WHITESTONES payouts, White charges) read to the end, an object made outside the engine
//! with one of the run's markers named by its step, a marker no run has named across a
//! period, and a clean run exiting 0.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sluice::sandbox::Faults;

use super::harness::{Harness, text};
use super::settlement::{hook, json_of, writes};

const EXAMPLE: &str = "charge-convert-payout.yaml";

/// A WHITESTONES payout of 1.00 USD made outside the engine, with `key` as its
/// `metadata.idempotency_key` when given; its id.
async fn payout(h: &Harness, key: Option<&str>) -> String {
    let mut body = json!({
        "amount": 100, "currency": "USD", "description": "by hand",
        "recipient": {"type": "business", "name": "Somebody Ltd",
                      "bank_account": {"account_number": "31926819"}},
    });
    if let Some(key) = key {
        body["metadata"] = json!({"idempotency_key": key});
    }
    let made = hook(
        h,
        reqwest::Method::POST,
        "/seed/whitestones/v1/payouts",
        body,
    )
    .await;
    made["id"].as_str().unwrap().to_string()
}

/// A White charge of 5.00 USD made outside the engine with `description`; its id.
async fn charge(h: &Harness, description: &str) -> String {
    let form = reqwest::Url::parse_with_params(
        "http://form.invalid/",
        [
            ("amount", "500"),
            ("currency", "usd"),
            ("card", "tok_sandbox_visa"),
            ("email", "someone@example.com"),
            ("description", description),
        ],
    )
    .unwrap();
    let answer = reqwest::Client::new()
        .post(format!("{}/seed/white/charges", h.sandbox.hooks_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.query().unwrap().to_string())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let made: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    made["id"].as_str().unwrap().to_string()
}

/// Each finding as (step, provider object id) → finding.
fn verdicts(found: &Value) -> BTreeMap<(String, String), String> {
    found["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let field = |k: &str| f[k].as_str().unwrap_or("-").to_string();
            ((field("step"), field("provider_ref")), field("finding"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marked_payouts_and_charges_unknown_to_sluice_are_found_in_every_page() {
    let h = Harness::start(Faults::default()).await;
    let workflow = h.variant(EXAMPLE, EXAMPLE, &[]);
    let out = h
        .sluice(&["run", &workflow, "--run-id", "run_lists"], None)
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let clean = json_of(&h, &["reconcile", "run_lists", "--format", "json"], 0).await;
    let clean_verdicts = verdicts(&clean);
    assert!(
        clean_verdicts
            .iter()
            .any(|((step, _), v)| step == "payout" && v == "matched"),
        "{clean:#}"
    );
    assert!(
        clean_verdicts
            .iter()
            .any(|((step, _), v)| step == "charge" && v == "matched"),
        "{clean:#}"
    );
    // Whitepay's conversion is read back by id, though no list can be searched for it.
    assert!(
        clean_verdicts
            .iter()
            .any(|((step, _), v)| step == "convert" && v == "matched"),
        "{clean:#}"
    );

    let report = json_of(&h, &["report", "run_lists", "--format", "json"], 0).await;
    let row = |step: &str| {
        report["payments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["step"] == step)
            .unwrap_or_else(|| panic!("no {step} in {report:#}"))
            .clone()
    };
    let (charged, paid) = (row("charge"), row("payout"));
    let key = |r: &Value| r["idempotency_key"].as_str().unwrap().to_string();
    // The run's payout and charge made again outside the engine with their markers; the
    // payout then buried under more than a page of unmarked payouts.
    let second_payout = payout(&h, Some(&key(&paid))).await;
    let second_charge = charge(&h, &format!("again [sluice:{}]", key(&charged))).await;
    for _ in 0..120 {
        payout(&h, None).await;
    }
    let stranger_payout = payout(&h, Some("sl_stranger_payout")).await;
    let stranger_charge = charge(&h, "by hand [sluice:sl_stranger_charge]").await;

    let writes_before = writes(&h);
    let found = json_of(&h, &["reconcile", "run_lists", "--format", "json"], 1).await;
    let got = verdicts(&found);
    let paid_ref = paid["provider_ref"].as_str().unwrap().to_string();
    let charged_ref = charged["provider_ref"].as_str().unwrap().to_string();
    for (step, object, want) in [
        ("payout", &paid_ref, "matched"),
        ("payout", &second_payout, "unknown_to_sluice"),
        ("charge", &charged_ref, "matched"),
        ("charge", &second_charge, "unknown_to_sluice"),
    ] {
        assert_eq!(
            got.get(&(step.to_string(), object.clone()))
                .map(String::as_str),
            Some(want),
            "{step} {object}: {found:#}"
        );
    }
    // Another run's marker is not this run's business.
    for stranger in [&stranger_payout, &stranger_charge] {
        assert!(
            !got.keys().any(|(_, object)| object == stranger),
            "{found:#}"
        );
    }
    let shown = h.sluice(&["reconcile", "run_lists"], None).await;
    assert_eq!(shown.status.code(), Some(1), "{}", text(&shown));

    let since = json_of(
        &h,
        &[
            "reconcile",
            "--workflow",
            "charge-convert-payout",
            "--since",
            "2000-01-01",
            "--format",
            "json",
        ],
        1,
    )
    .await;
    for (stranger, key) in [
        (&stranger_payout, "sl_stranger_payout"),
        (&stranger_charge, "sl_stranger_charge"),
    ] {
        let named: Vec<&Value> = since["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["provider_ref"] == stranger.as_str())
            .collect();
        assert_eq!(named.len(), 1, "{stranger}: {since:#}");
        assert_eq!(named[0]["finding"], "unknown_to_sluice");
        assert_eq!(named[0]["idempotency_key"], key);
        assert_eq!(named[0]["step"], Value::Null);
    }
    assert_eq!(writes(&h), writes_before, "reconcile wrote to a provider");
}
