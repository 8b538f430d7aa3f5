//! Signing: sluice's formulas against vectors computed outside sluice (with `openssl dgst`
//! and `sha256sum`, commands below), the exact requests each adapter sends (recorded by a
//! relay, their signatures recomputed here with the `hmac` crate) accepted by the sandbox
//! and refused after a one-byte change, and the sandbox's signed webhooks verified and
//! parsed by each adapter.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use sluice::catalog::ProviderKind;
use sluice::providers::Provider;
use sluice::signing;
use sluice::spec::AuthMode;

use super::support::*;

fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Vectors for the sandbox's credentials, computed with:
///   printf '/swap1700000000POST{"sourceAmount":10.50}' | openssl dgst -sha256 -hmac sandbox-secret
///   printf 'sandbox-key:sandbox-secret' | sha256sum
///   printf 'sandbox-secret{"a":1}' | sha256sum
///   printf '{"id":"evt_1","type":"payout.completed"}' | openssl dgst -sha256 -hmac sandbox-secret
///   printf '{"event_type":"transaction::completed"}' | openssl dgst -sha256 -hmac sandbox-key
///   printf 'sandbox-key:' | base64
#[test]
fn formulas_match_vectors_computed_outside_sluice() {
    assert_eq!(
        signing::whalestack_digest(
            SECRET,
            "/swap",
            "1700000000",
            "POST",
            br#"{"sourceAmount":10.50}"#
        ),
        "3dc4a085564e7b0aa240737cef2b46dadd5bc8487729b4508474330c329a2656"
    );
    assert_eq!(
        signing::whalestack_basic(KEY, SECRET),
        "2a9bafefa7933969a8cd892f16ade515871b87168bd65824631a8a90d2590664"
    );
    assert_eq!(
        signing::whalestack_webhook(SECRET, br#"{"a":1}"#),
        "d980fe80bffe4da7b2617c21627cb68a3bc109c66deb339fd9f1fe3e80e1d14f"
    );
    assert_eq!(
        signing::hmac_sha256_hex(
            SECRET.as_bytes(),
            br#"{"id":"evt_1","type":"payout.completed"}"#
        ),
        "8146ffd34261e67d0182c9aa2fa60a65b746ede1b2fad3109c7412c0df1194f7"
    );
    assert_eq!(
        signing::hmac_sha256_hex(
            KEY.as_bytes(),
            br#"{"event_type":"transaction::completed"}"#
        ),
        "2a207cb18f24ab3085896f2f62d052825908648863e5f856b2c176fa569e92a7"
    );
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:")),
        "c2FuZGJveC1rZXk6"
    );
}

/// Replays `r` to the sandbox as recorded, then with `change` applied; returns both statuses.
async fn replay(
    sandbox: &sluice::sandbox::SandboxHandle,
    r: &Recorded,
    change: impl FnOnce(&mut HeaderMap, &mut Vec<u8>),
) -> (StatusCode, StatusCode) {
    let client = raw_client();
    let origin = sandbox.origin();
    let (same, _) = send_raw(
        &client,
        &origin,
        &r.method,
        &r.uri,
        &r.headers,
        r.body.clone(),
    )
    .await
    .unwrap();
    let (mut headers, mut body) = (r.headers.clone(), r.body.to_vec());
    change(&mut headers, &mut body);
    let (changed, _) = send_raw(
        &client,
        &origin,
        &r.method,
        &r.uri,
        &headers,
        Bytes::from(body),
    )
    .await
    .unwrap();
    (same, changed)
}

/// Flips one byte of `text` (a hex signature or a body).
fn flip(byte: &mut u8) {
    *byte = if *byte == b'0' { b'1' } else { b'0' };
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn whalestack_digest_requests_are_exact_and_tamper_evident() {
    let sandbox = sandbox().await;
    let relay = Relay::start(Some(&sandbox.origin())).await;
    let base = format!(
        "{}{}",
        relay.origin,
        sluice::sandbox::base_path(ProviderKind::Whalestack)
    );
    let p = adapter(&block_at(ProviderKind::Whalestack, &base));
    Step::new(
        "swap",
        "k-sig",
        json!({"source_asset": USDC, "target_asset": XLM, "source_amount": "10.50"}),
    )
    .first_phase(p.as_ref())
    .await;
    Step::new("balance.get", "k-sig-get", json!({"asset": USDC}))
        .done(p.as_ref())
        .await;
    let requests = relay.requests();
    let paths: Vec<_> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.uri.as_str()))
        .collect();
    assert_eq!(
        paths[0],
        ("GET", "/whalestack/api/v1/time"),
        "the server clock is read first"
    );
    assert_eq!(
        header(&requests[0].headers, "x-digest-signature"),
        "",
        "GET /time is public"
    );

    let post = requests.iter().find(|r| r.method == Method::POST).unwrap();
    assert_eq!(
        post.body.as_ref(),
        format!(r#"{{"sourceAsset":"{USDC}","targetAsset":"{XLM}","sourceAmount":10.50}}"#)
            .as_bytes()
    );
    assert_eq!(header(&post.headers, "content-type"), "application/json");
    assert_eq!(header(&post.headers, "x-digest-key"), KEY);
    let ts = header(&post.headers, "x-digest-timestamp");
    assert!((now() - ts.parse::<i64>().unwrap()).abs() < 5, "{ts}");
    let message = [b"/swap".as_slice(), ts.as_bytes(), b"POST", &post.body].concat();
    assert_eq!(
        header(&post.headers, "x-digest-signature"),
        hmac_hex(SECRET.as_bytes(), &message)
    );

    // A GET signs its path without the query, and an empty body.
    let get = requests
        .iter()
        .find(|r| r.uri.contains("/wallet?"))
        .unwrap();
    assert_eq!(
        get.uri,
        format!(
            "/whalestack/api/v1/wallet?asset={}",
            USDC.replace(':', "%3A")
        )
    );
    let ts = header(&get.headers, "x-digest-timestamp");
    let message = [b"/wallet".as_slice(), ts.as_bytes(), b"GET"].concat();
    assert_eq!(
        header(&get.headers, "x-digest-signature"),
        hmac_hex(SECRET.as_bytes(), &message)
    );

    // Accepted as sent; refused after one byte of the body or of the signature changes.
    let (same, changed) = replay(&sandbox, post, |_, body| {
        let at = body.len() - 2;
        flip(&mut body[at]);
    })
    .await;
    assert_eq!((same, changed), (StatusCode::OK, StatusCode::UNAUTHORIZED));
    let (same, changed) = replay(&sandbox, post, |headers, _| {
        let mut sig = header(headers, "x-digest-signature").as_bytes().to_vec();
        flip(&mut sig[10]);
        headers.insert("x-digest-signature", HeaderValue::from_bytes(&sig).unwrap());
    })
    .await;
    assert_eq!((same, changed), (StatusCode::OK, StatusCode::UNAUTHORIZED));
    let (same, changed) = replay(&sandbox, get, |headers, _| {
        let mut sig = header(headers, "x-digest-signature").as_bytes().to_vec();
        flip(&mut sig[0]);
        headers.insert("x-digest-signature", HeaderValue::from_bytes(&sig).unwrap());
    })
    .await;
    assert_eq!((same, changed), (StatusCode::OK, StatusCode::UNAUTHORIZED));
    assert!(movements(&sandbox, ProviderKind::Whalestack).is_empty());
}

#[tokio::test]
async fn basic_and_bearer_credentials_are_sent_as_documented() {
    let sandbox = sandbox().await;
    let relay = Relay::start(Some(&sandbox.origin())).await;
    let base = |kind| format!("{}{}", relay.origin, sluice::sandbox::base_path(kind));

    let mut basic = block_at(ProviderKind::Whalestack, &base(ProviderKind::Whalestack));
    basic.auth = AuthMode::Basic;
    Step::new("balance.get", "k-basic", json!({"asset": USDC}))
        .done(adapter(&basic).as_ref())
        .await;
    Step::new(
        "customer.create",
        "k-white",
        json!({"email": "a@example.com", "name": "A B"}),
    )
    .done(adapter(&block_at(ProviderKind::White, &base(ProviderKind::White))).as_ref())
    .await;
    Step::new(
        "transfer",
        "k-wst",
        json!({"amount": "1.00", "currency": "USD",
               "recipient": {"type": "individual", "name": "Jane", "bank_account": {"account_number": "1"}}}),
    )
    .done(adapter(&block_at(ProviderKind::Whitestones, &base(ProviderKind::Whitestones))).as_ref())
    .await;
    Step::new("balance.get", "k-wp", json!({}))
        .done(
            adapter(&block_at(
                ProviderKind::Whitepay,
                &base(ProviderKind::Whitepay),
            ))
            .as_ref(),
        )
        .await;

    let requests = relay.requests();
    let find = |prefix: &str| {
        requests
            .iter()
            .find(|r| r.uri.starts_with(prefix))
            .unwrap_or_else(|| panic!("no request to {prefix}"))
    };
    type Tamper = fn(&mut HeaderMap, &mut Vec<u8>);
    type Expected<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&Recorded, Expected<'_>, Tamper); 4] = [
        (
            find("/whalestack/api/v1/wallet"),
            &[(
                "x-basic",
                "2a9bafefa7933969a8cd892f16ade515871b87168bd65824631a8a90d2590664",
            )],
            |h, _| {
                let mut v = header(h, "x-basic").as_bytes().to_vec();
                flip(&mut v[63]);
                h.insert("x-basic", HeaderValue::from_bytes(&v).unwrap());
            },
        ),
        (
            find("/white/customers"),
            &[
                ("authorization", "Basic c2FuZGJveC1rZXk6"),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            |h, _| {
                h.insert(
                    "authorization",
                    HeaderValue::from_static("Basic c2FuZGJveC1rZXl6"),
                );
            },
        ),
        (
            find("/whitestones/v1/payouts"),
            &[
                ("authorization", "Bearer sandbox-key"),
                ("x-ws-secret", "sandbox-secret"),
                ("idempotency-key", "k-wst"),
            ],
            |h, _| {
                h.insert("x-ws-secret", HeaderValue::from_static("sandbox-secreu"));
            },
        ),
        (
            find("/whitepay/private-api/balances"),
            &[("authorization", "Bearer sandbox-key")],
            |h, _| {
                h.insert(
                    "authorization",
                    HeaderValue::from_static("Bearer sandbox-kez"),
                );
            },
        ),
    ];
    for (request, expected, tamper) in cases {
        for (name, value) in expected {
            assert_eq!(
                header(&request.headers, name),
                *value,
                "{} {name}",
                request.uri
            );
        }
        let (same, changed) = replay(&sandbox, request, tamper).await;
        assert!(same.is_success(), "{}: {same}", request.uri);
        assert_eq!(changed, StatusCode::UNAUTHORIZED, "{}", request.uri);
    }
    let white = find("/white/customers");
    assert_eq!(
        white.body.as_ref(),
        b"name=A+B&email=a%40example.com&description=%5Bsluice%3Ak-white%5D"
    );
}

#[tokio::test]
async fn sandbox_webhooks_verify_and_parse_in_each_adapter() {
    let receiver = Relay::start(None).await;
    let url = format!("{}/hooks", receiver.origin);
    let sandbox = sandbox_with(|c| c.webhooks.url = Some(url)).await;

    let ws = provider(&sandbox, ProviderKind::Whalestack);
    let swap = Step::new(
        "swap",
        "k-hook-sw",
        json!({"source_asset": USDC, "target_asset": XLM, "source_amount": "1"}),
    );
    let (checkpoint, quote) = swap.first_phase(ws.as_ref()).await;
    swap.resume(ws.as_ref(), &checkpoint).await.unwrap();
    sandbox.advance(Duration::from_secs(5));
    let wst = provider(&sandbox, ProviderKind::Whitestones);
    let payout = Step::new(
        "transfer",
        "k-hook-po",
        json!({"amount": "1.00", "currency": "USD",
               "recipient": {"type": "individual", "name": "Jane", "bank_account": {"account_number": "1"}}}),
    )
    .done(wst.as_ref())
    .await;
    let wp = provider(&sandbox, ProviderKind::Whitepay);
    let conversion = Step::new(
        "swap",
        "k-hook-wp",
        json!({"source_asset": "USDT", "target_asset": "EUR", "source_amount": "5"}),
    )
    .done(wp.as_ref())
    .await;
    sandbox.advance(Duration::from_secs(5));

    let expected: [(&dyn Provider, &str, &str, String); 3] = [
        (ws.as_ref(), "SWAP_COMPLETED", "swap", quote.id.unwrap()),
        (wst.as_ref(), "payout.created", "payout", payout.id.unwrap()),
        (
            wp.as_ref(),
            "transaction::processing",
            "transaction",
            conversion.id.unwrap(),
        ),
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while receiver.requests().len() < expected.len() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = receiver.requests();
    for (p, kind, object, id) in expected {
        let hook = received
            .iter()
            .find(|r| p.parse_event(&r.body).is_ok_and(|e| e.kind == kind))
            .unwrap_or_else(|| panic!("no {kind} webhook among {}", received.len()));
        p.verify_webhook(&hook.headers, &hook.body).unwrap();
        let event = p.parse_event(&hook.body).unwrap();
        assert_eq!(event.object_type, object, "{kind}");
        assert_eq!(event.object_id.as_deref(), Some(id.as_str()), "{kind}");
        // The event names an object `poll` can confirm.
        let confirmed = p.poll(&event.object_type, &id).await.unwrap();
        assert_eq!(confirmed.id.as_deref(), Some(id.as_str()));
        let mut body = hook.body.to_vec();
        flip(&mut body[5]);
        assert!(
            p.verify_webhook(&hook.headers, &body).is_err(),
            "{kind}: a changed body"
        );
    }
}

/// A client clock two hours off.
#[derive(Debug)]
struct Skewed;

impl sluice::providers::Clock for Skewed {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() - chrono::TimeDelta::hours(2)
    }
}

#[tokio::test]
async fn digest_timestamps_follow_the_server_clock_not_the_local_one() {
    let sandbox = sandbox().await;
    let relay = Relay::start(Some(&sandbox.origin())).await;
    let base = format!(
        "{}{}",
        relay.origin,
        sluice::sandbox::base_path(ProviderKind::Whalestack)
    );
    let p = sluice::providers::build_with_clock(
        &block_at(ProviderKind::Whalestack, &base),
        &sluice::providers::HttpClient::new().unwrap(),
        std::sync::Arc::new(Skewed),
    )
    .unwrap();
    let out = Step::new("balance.get", "k-skew", json!({"asset": USDC}))
        .done(p.as_ref())
        .await;
    assert_eq!(out.amount, Some(d("100000")));
    let signed = relay
        .requests()
        .into_iter()
        .find(|r| r.uri.contains("/wallet"))
        .unwrap();
    let ts: i64 = header(&signed.headers, "x-digest-timestamp")
        .parse()
        .unwrap();
    assert!((now() - ts).abs() < 5, "signed at {ts}, now {}", now());
}
