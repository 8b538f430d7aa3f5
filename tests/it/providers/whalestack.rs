//! Whalestack against a fake: Digest and Basic auth with signatures recomputed from the
//! received bytes (and pinned to vectors computed with openssl), the two-phase swap and
//! transfer with their checkpoint, asset code resolution, lookups, and failure classes.

use std::sync::Arc;

use serde_json::{Value, json};
use sluice::catalog::ProviderKind;
use sluice::providers::{
    Call, FailureClass, HttpClient, IdempotencyKey, Lookup, Outcome, Provider, ProviderError,
    build_with_clock,
};
use sluice::signing;
use sluice::spec::AuthMode;

use super::fake::{Fake, FixedClock, Reply, Scenario, block, execute, failure_classes, with};

const USDC: &str = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
const KEY: &str = "ws-key";
const SECRET: &str = "ws-secret-sentinel";
/// The local clock; the fake's `GET /time` says 5 s later.
const LOCAL: i64 = 1_700_000_000;
const SERVER: i64 = 1_700_000_005;

fn provider(base_url: &str, auth: AuthMode) -> Arc<dyn Provider> {
    let mut b = block(
        ProviderKind::Whalestack,
        base_url,
        &[("api_key", KEY), ("api_secret", SECRET)],
    );
    b.auth = auth;
    build_with_clock(&b, &HttpClient::new().unwrap(), FixedClock::at(LOCAL)).unwrap()
}

fn swap(state: &str, expire: &str) -> Value {
    json!({"swap": {
        "id": "5074f4ee055d", "state": state, "type": "SOURCE_SPECIFIED", "origin": "API",
        "createTime": "2023-11-14T22:13:00+00:00", "completeTime": null, "expireTime": expire,
        "sourceAssetId": USDC, "sourceAmount": "100.0000000",
        "targetAssetId": "XLM:NATIVE", "targetAmount": "243.3928192", "blockchainTransactions": []
    }})
}

/// Unix 1700000005 is 2023-11-14T22:13:25Z.
const FUTURE: &str = "2023-11-14T23:13:25+00:00";
const PAST: &str = "2023-11-14T22:13:20+00:00";

fn swap_with() -> serde_json::Map<String, Value> {
    with(json!({"source_asset": USDC, "target_asset": "XLM:NATIVE", "source_amount": "100"}))
}

fn assert_digest(r: &super::fake::Received) {
    assert_eq!(r.header("x-digest-key"), KEY);
    assert_eq!(r.header("x-digest-timestamp"), SERVER.to_string());
    let body: &[u8] = if r.method == "GET" { b"" } else { &r.body };
    let expected =
        signing::whalestack_digest(SECRET, &r.path, &SERVER.to_string(), &r.method, body);
    assert_eq!(
        r.header("x-digest-signature"),
        expected,
        "{} {}",
        r.method,
        r.path
    );
    assert_eq!(r.header("user-agent"), sluice::providers::USER_AGENT);
}

#[tokio::test]
async fn swap_is_created_signed_checkpointed_then_committed_once() {
    let fake = Fake::start("/api/v1").await;
    fake.on("GET", "/time", Reply::json(200, json!({"time": SERVER})))
        .on(
            "POST",
            "/swap",
            Reply::json(200, swap("PENDING_API_COMMIT", FUTURE)),
        )
        .on(
            "POST",
            "/swap/commit",
            Reply::json(200, swap("PROCESSING", FUTURE)),
        );
    let p = provider(&fake.base_url, AuthMode::Digest);
    let w = swap_with();

    let first = execute(p.as_ref(), "swap", &w, "idk_swap1", None)
        .await
        .unwrap();
    let Outcome::Continue { checkpoint, output } = first else {
        panic!("expected a checkpoint, got {first:?}");
    };
    assert_eq!(
        checkpoint,
        json!({"object": "swap", "id": "5074f4ee055d", "expire_time": FUTURE})
    );
    assert_eq!(output.to_json()["state"], "requires_action");

    let second = execute(p.as_ref(), "swap", &w, "idk_swap1", Some(&checkpoint))
        .await
        .unwrap();
    let Outcome::Done(done) = second else {
        panic!("expected done, got {second:?}");
    };
    let j = done.to_json();
    assert_eq!(j["state"], "processing");
    assert_eq!(j["provider_state"], "PROCESSING");
    assert_eq!(j["amount"], "100.0000000");
    assert_eq!(j["asset"], USDC);

    // Two round trips (and the server's clock once): the commit follows its checkpoint
    // without reading the swap again.
    assert_eq!(
        fake.lines(),
        ["GET /time", "POST /swap", "POST /swap/commit"]
    );
    let got = fake.received();
    assert!(
        got[0].header("x-digest-signature").is_empty(),
        "GET /time is public"
    );
    assert_eq!(
        got[1].body_text(),
        format!(r#"{{"sourceAsset":"{USDC}","targetAsset":"XLM:NATIVE","sourceAmount":100}}"#)
    );
    assert_eq!(got[1].header("content-type"), "application/json");
    assert_eq!(got[2].body_text(), r#"{"swapId":"5074f4ee055d"}"#);
    for r in &got[1..] {
        assert_digest(r);
    }
    // printf '/swap1700000005POST<body>' | openssl dgst -sha256 -hmac ws-secret-sentinel
    assert_eq!(
        got[1].header("x-digest-signature"),
        "d1dfb15ab41d9ef34eedca2d458dda1a982d2bce8b85a26513c775840bf275e6"
    );
    // printf '/swap/commit1700000005POST{"swapId":"5074f4ee055d"}' | openssl dgst -sha256 -hmac …
    assert_eq!(
        got[2].header("x-digest-signature"),
        "8c411bdca4e983ba4e1ee3ccdb08488fc01d2f19d3b3c5cc1868f8049534088b"
    );
}

/// A commit of a swap that is already past it is refused by Whalestack with its own message;
/// the adapter reports the refusal with its status (the engine reads the swap back before the
/// refusal counts), and the lookup finds the swap in its state.
#[tokio::test]
async fn a_commit_of_a_swap_already_committed_is_refused_and_the_lookup_finds_it() {
    for state in ["PROCESSING", "COMPLETED", "FAILED"] {
        let fake = Fake::start("/api/v1").await;
        let refusal =
            json!({"errors": [format!("swap 5074f4ee055d is {state}, not PENDING_API_COMMIT")]});
        fake.on("GET", "/time", Reply::json(200, json!({"time": SERVER})))
            .on("POST", "/swap/commit", Reply::json(400, refusal))
            .on("GET", "/swap", Reply::json(200, swap(state, FUTURE)));
        let p = provider(&fake.base_url, AuthMode::Digest);
        let checkpoint = json!({"object": "swap", "id": "5074f4ee055d", "expire_time": FUTURE});
        let w = swap_with();
        let e = execute(p.as_ref(), "swap", &w, "idk_swap1", Some(&checkpoint))
            .await
            .unwrap_err();
        assert_eq!(
            (e.class(), e.status()),
            (FailureClass::Rejected, Some(400)),
            "{e}"
        );
        assert!(e.to_string().contains("not PENDING_API_COMMIT"), "{e}");
        let key = IdempotencyKey::new("idk_swap1").unwrap();
        let call = Call {
            action: "swap",
            with: &w,
            key: &key,
            checkpoint: Some(&checkpoint),
        };
        let found = p.lookup(&call, Some("5074f4ee055d")).await.unwrap();
        assert!(
            matches!(found, Lookup::Found(ref o) if o.state.raw.as_deref() == Some(state)),
            "{state}: {found:?}"
        );
        assert_eq!(
            fake.lines(),
            ["GET /time", "POST /swap/commit", "GET /swap"],
            "{state}"
        );
    }
}

#[tokio::test]
async fn expired_quote_is_refused_without_committing() {
    let fake = Fake::start("/api/v1").await;
    fake.on("GET", "/time", Reply::json(200, json!({"time": SERVER})));
    let p = provider(&fake.base_url, AuthMode::Digest);
    let checkpoint = json!({"object": "swap", "id": "5074f4ee055d", "expire_time": PAST});
    let e = execute(
        p.as_ref(),
        "swap",
        &swap_with(),
        "idk_swap1",
        Some(&checkpoint),
    )
    .await
    .unwrap_err();
    assert_eq!(e.class(), FailureClass::Rejected);
    assert!(matches!(&e, ProviderError::Rejected { code: Some(c), .. } if c == "quote_expired"));
    assert!(e.to_string().contains("nothing was committed"), "{e}");
    assert_eq!(e.status(), None, "refused before anything was sent");
    assert_eq!(fake.lines(), ["GET /time"]);
}

/// A state the docs do not list is in doubt wherever it shows: in a create's answer (never
/// checkpointed for a commit) and in a lookup (the item stops for an operator).
#[tokio::test]
async fn an_unknown_state_is_in_doubt_and_never_committed() {
    let fake = Fake::start("/api/v1").await;
    fake.on("GET", "/time", Reply::json(200, json!({"time": SERVER})))
        .on("POST", "/swap", Reply::json(200, swap("ON_HOLD", FUTURE)))
        .on("GET", "/swap", Reply::json(200, swap("ON_HOLD", FUTURE)));
    let p = provider(&fake.base_url, AuthMode::Digest);
    let w = swap_with();
    let e = execute(p.as_ref(), "swap", &w, "idk_swap1", None)
        .await
        .unwrap_err();
    assert_eq!(e.class(), FailureClass::InDoubt, "{e}");
    let key = IdempotencyKey::new("idk_swap1").unwrap();
    let checkpoint = json!({"object": "swap", "id": "5074f4ee055d"});
    let call = Call {
        action: "swap",
        with: &w,
        key: &key,
        checkpoint: Some(&checkpoint),
    };
    assert!(matches!(
        p.lookup(&call, None).await.unwrap(),
        Lookup::Unknown { .. }
    ));
    assert_eq!(fake.lines(), ["GET /time", "POST /swap", "GET /swap"]);
}

#[tokio::test]
async fn a_server_without_get_time_is_signed_with_the_local_clock() {
    let fake = Fake::start("/api/v1").await;
    fake.on("GET", "/swap", Reply::json(200, swap("COMPLETED", FUTURE)))
        .on("GET", "/swap", Reply::json(200, swap("COMPLETED", FUTURE)));
    let p = provider(&fake.base_url, AuthMode::Digest);
    p.poll("swap", "5074f4ee055d").await.unwrap();
    p.poll("swap", "5074f4ee055d").await.unwrap();
    assert_eq!(
        fake.lines(),
        ["GET /time", "GET /swap", "GET /swap"],
        "the clock is read once"
    );
    let got = fake.received();
    assert_eq!(got[1].header("x-digest-timestamp"), LOCAL.to_string());
    let expected = signing::whalestack_digest(SECRET, "/swap", &LOCAL.to_string(), "GET", b"");
    assert_eq!(got[1].header("x-digest-signature"), expected);
}

#[tokio::test]
async fn basic_auth_sends_x_basic_and_never_reads_the_server_clock() {
    let fake = Fake::start("/api/v1").await;
    fake.on("GET", "/swap", Reply::json(200, swap("COMPLETED", FUTURE)));
    let p = provider(&fake.base_url, AuthMode::Basic);
    let out = p.poll("swap", "5074f4ee055d").await.unwrap();
    assert_eq!(out.to_json()["state"], "succeeded");
    let got = fake.received();
    assert_eq!(fake.lines(), ["GET /swap"]);
    // printf 'ws-key:ws-secret-sentinel' | sha256sum
    assert_eq!(
        got[0].header("x-basic"),
        "381eb018659990f0b130a1c617485736bf5ce7af034544931688ce24fa57d23a"
    );
    assert_eq!(
        got[0].header("x-basic"),
        signing::whalestack_basic(KEY, SECRET)
    );
    assert!(got[0].header("x-digest-signature").is_empty());
}

#[tokio::test]
async fn asset_codes_are_resolved_once_through_get_assets() {
    let fake = Fake::start("/api/v1").await;
    fake.on(
        "GET",
        "/assets",
        Reply::json(
            200,
            json!({"assets": [
                {"id": USDC, "assetCode": "USDC"},
                {"id": "XLM:NATIVE", "assetCode": "XLM"}
            ]}),
        ),
    )
    .on(
        "POST",
        "/swap",
        Reply::json(200, swap("PENDING_API_COMMIT", FUTURE)),
    )
    .on(
        "POST",
        "/swap",
        Reply::json(200, swap("PENDING_API_COMMIT", FUTURE)),
    );
    let p = provider(&fake.base_url, AuthMode::Basic);
    let w = with(json!({"source_asset": "USDC", "target_asset": "xlm", "source_amount": "100"}));
    execute(p.as_ref(), "swap", &w, "idk_a", None)
        .await
        .unwrap();
    execute(p.as_ref(), "swap", &w, "idk_b", None)
        .await
        .unwrap();
    assert_eq!(fake.lines(), ["GET /assets", "POST /swap", "POST /swap"]);
    assert_eq!(
        fake.received()[1].body_text(),
        format!(r#"{{"sourceAsset":"{USDC}","targetAsset":"XLM:NATIVE","sourceAmount":100}}"#)
    );

    let unknown =
        with(json!({"source_asset": "DOGE", "target_asset": "XLM", "source_amount": "1"}));
    let e = execute(p.as_ref(), "swap", &unknown, "idk_c", None)
        .await
        .unwrap_err();
    assert_eq!(e.class(), FailureClass::Invalid);
    assert_eq!(
        fake.lines().len(),
        3,
        "nothing was sent for an unknown code"
    );
}

#[tokio::test]
async fn excess_precision_is_refused_before_anything_is_sent() {
    let fake = Fake::start("/api/v1").await;
    let p = provider(&fake.base_url, AuthMode::Basic);
    let w = with(
        json!({"network": "SEPA", "asset": USDC, "amount": "10.12345678", "target_account": "x"}),
    );
    let e = execute(p.as_ref(), "transfer", &w, "idk_t", None)
        .await
        .unwrap_err();
    assert_eq!(e.class(), FailureClass::Invalid);
    assert!(e.to_string().contains("has 8 decimals"), "{e}");
    assert!(fake.lines().is_empty());
}

fn transfer(state: &str, note: &str) -> Value {
    json!({
        "id": "8947deb6a087", "type": "TRANSFER", "state": state, "origin": "API",
        "network": "SEPA", "timestamp": "2023-05-22 03:06:34+03:00", "note": note,
        "sourceAmountGross": "250.0000000", "sourceAsset": USDC,
        "networkFeeAmount": "1.0000000", "networkFeeAsset": USDC,
        "targetAmountNet": "249.0000000", "targetAsset": USDC
    })
}

#[tokio::test]
async fn transfer_lookup_finds_the_key_marker_and_continues_to_the_commit() {
    let fake = Fake::start("/api/v1").await;
    fake.on(
        "GET",
        "/transfers",
        Reply::json(
            200,
            json!({
                "count": 3, "limit": 250, "offset": 0,
                "transfers": [
                    transfer("COMPLETED", "Payroll April [sluice:idk_other]"),
                    transfer("PENDING_API_COMMIT", "Payroll May [sluice:idk_t1]"),
                    transfer("COMPLETED", "")
                ]
            }),
        ),
    )
    .on(
        "GET",
        "/transfers",
        Reply::json(
            200,
            json!({"count": 1, "transfers": [transfer("COMPLETED", "x")]}),
        ),
    );
    let p = provider(&fake.base_url, AuthMode::Basic);
    let w = with(
        json!({"network": "SEPA", "asset": USDC, "amount": "250", "target_account": "iban-1", "note": "Payroll May"}),
    );
    let key = IdempotencyKey::new("idk_t1").unwrap();
    let call = Call {
        action: "transfer",
        with: &w,
        key: &key,
        checkpoint: None,
    };
    let Lookup::Continue { checkpoint, output } = p.lookup(&call, None).await.unwrap() else {
        panic!("expected continue");
    };
    assert_eq!(checkpoint["id"], "8947deb6a087");
    assert_eq!(
        output.fee.map(|f| f.to_string()).as_deref(),
        Some("1.0000000")
    );
    assert_eq!(
        fake.received()[0].query.as_deref(),
        Some("limit=250&offset=0")
    );

    let other = IdempotencyKey::new("idk_missing").unwrap();
    let call = Call {
        action: "transfer",
        with: &w,
        key: &other,
        checkpoint: None,
    };
    assert_eq!(p.lookup(&call, None).await.unwrap(), Lookup::Absent);
}

#[tokio::test]
async fn transfer_create_sends_the_marker_in_the_note() {
    let fake = Fake::start("/api/v1").await;
    fake.on(
        "POST",
        "/transfer",
        Reply::json(
            200,
            json!({"transfer": transfer("PENDING_API_COMMIT", "Payroll May [sluice:idk_t1]")}),
        ),
    );
    let p = provider(&fake.base_url, AuthMode::Basic);
    let w = with(
        json!({"network": "SEPA", "asset": USDC, "amount": "250", "target_account": "iban-1", "note": "Payroll May"}),
    );
    let out = execute(p.as_ref(), "transfer", &w, "idk_t1", None)
        .await
        .unwrap();
    assert!(
        matches!(out, Outcome::Continue { ref checkpoint, .. } if checkpoint["expire_time"].is_null())
    );
    assert_eq!(
        fake.received()[0].body_text(),
        format!(
            r#"{{"network":"SEPA","asset":"{USDC}","amount":250,"targetAccount":"iban-1","note":"Payroll May [sluice:idk_t1]"}}"#
        )
    );
}

#[tokio::test]
async fn customer_lookup_finds_the_upsert_by_email() {
    let fake = Fake::start("/api/v1").await;
    fake.on(
        "POST",
        "/customer",
        Reply::json(200, json!({"customerId": "fd4f47a50c7f"})),
    )
    .on(
        "GET",
        "/customers",
        Reply::json(
            200,
            json!({"count": 1, "limit": "250", "offset": "0",
            "customers": [{"id": "fd4f47a50c7f", "email": "John@Doe.com"}]}),
        ),
    );
    let p = provider(&fake.base_url, AuthMode::Basic);
    let w = with(
        json!({"email": "john@doe.com", "first_name": "John", "country": "US", "metadata": {"reference": 123}}),
    );
    let Outcome::Done(out) = execute(p.as_ref(), "customer.create", &w, "idk_cu", None)
        .await
        .unwrap()
    else {
        panic!("expected done");
    };
    assert_eq!(out.id.as_deref(), Some("fd4f47a50c7f"));
    assert_eq!(
        fake.received()[0].body_text(),
        r#"{"customer":{"email":"john@doe.com","firstname":"John","countrycode":"US","meta":{"reference":123}}}"#
    );
    let key = IdempotencyKey::new("idk_cu").unwrap();
    let call = Call {
        action: "customer.create",
        with: &w,
        key: &key,
        checkpoint: None,
    };
    let Lookup::Found(found) = p.lookup(&call, None).await.unwrap() else {
        panic!("expected found");
    };
    assert_eq!(found.id.as_deref(), Some("fd4f47a50c7f"));
}

#[tokio::test]
async fn checkout_is_found_by_its_meta_key() {
    let fake = Fake::start("/api/v1").await;
    let item = |id: &str, key: &str| {
        json!({
            "id": id, "state": "PENDING_CHARGE", "type": "HOSTED", "settlementAssetId": USDC,
            "settlementAmountRequired": null, "settlementAmountReceived": "0", "settlementAmountFeePaid": "0",
            "payload": {"meta": {"idempotency_key": key}}
        })
    };
    fake.on(
        "GET",
        "/checkouts",
        Reply::json(
            200,
            json!({"count": 2, "checkouts": [item("a1", "idk_x"), item("b2", "idk_co")]}),
        ),
    );
    let p = provider(&fake.base_url, AuthMode::Basic);
    let w = with(json!({"amount": "169.99", "currency": "EUR"}));
    let key = IdempotencyKey::new("idk_co").unwrap();
    let call = Call {
        action: "checkout.create",
        with: &w,
        key: &key,
        checkpoint: None,
    };
    let Lookup::Found(out) = p.lookup(&call, None).await.unwrap() else {
        panic!("expected found");
    };
    assert_eq!(out.id.as_deref(), Some("b2"));
    assert_eq!(out.to_json()["state"], "pending");
}

#[tokio::test]
async fn preview_masks_credentials_and_sends_nothing() {
    let fake = Fake::start("/api/v1").await;
    let p = provider(&fake.base_url, AuthMode::Digest);
    let w = swap_with();
    let key = IdempotencyKey::new("idk_p").unwrap();
    let wires = p
        .preview(&Call {
            action: "swap",
            with: &w,
            key: &key,
            checkpoint: None,
        })
        .unwrap();
    assert_eq!(wires.len(), 2);
    let text = serde_json::to_string(&wires).unwrap();
    assert!(!text.contains(SECRET) && !text.contains(KEY), "{text}");
    assert!(
        wires[0]
            .headers
            .contains(&("X-Digest-Signature".into(), "***".into()))
    );
    assert!(fake.lines().is_empty());
    assert!(!format!("{p:?}").contains(SECRET));
}

#[tokio::test]
async fn webhooks_are_verified_over_the_raw_body() {
    let p = provider("http://127.0.0.1:9/api/v1", AuthMode::Digest);
    let body = br#"{"eventType":"CHECKOUT_COMPLETED","data":{"checkout":{"id":"a2d963a87d70","state":"COMPLETED"}}}"#;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-webhook-auth",
        signing::whalestack_webhook(SECRET, body).parse().unwrap(),
    );
    assert_eq!(p.verify_webhook(&headers, body), Ok(()));
    let mut other = body.to_vec();
    other[30] = b'X';
    assert!(p.verify_webhook(&headers, &other).is_err());
    let e = p.parse_event(body).unwrap();
    assert_eq!(
        (e.kind.as_str(), e.object_type.as_str()),
        ("CHECKOUT_COMPLETED", "checkout")
    );
    assert_eq!(e.object_id.as_deref(), Some("a2d963a87d70"));
}

#[tokio::test]
async fn every_failure_class_is_classified() {
    failure_classes(Scenario {
        build: |url| provider(url, AuthMode::Digest),
        prefix: "/api/v1",
        prelude: vec![("GET", "/time", Reply::json(200, json!({"time": SERVER})))],
        write: (
            "swap",
            json!({"source_asset": USDC, "target_asset": "XLM:NATIVE", "source_amount": "100"}),
        ),
        write_route: ("POST", "/swap"),
        read: ("swap", "5074f4ee055d"),
        read_route: ("GET", "/swap"),
        rejection: (
            json!({"errors": ["invalid request (sourceAmount below the minimum)"]}),
            "invalid request (sourceAmount below the minimum)",
        ),
    })
    .await;
}
