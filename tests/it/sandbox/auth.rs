//! Credentials over HTTP: the Whalestack digest test vector computed by hand here, each
//! provider's own 401, and configured credentials replacing the defaults.

use reqwest::Method;
use serde_json::{Value, json};
use sluice::catalog::ProviderKind;
use sluice::spec::Secret;

use super::support::*;

/// Sends a Whalestack request with explicit digest headers and raw body bytes.
async fn ws_raw(
    s: &Sandbox,
    method: Method,
    path: &str,
    ts: &str,
    signature: &str,
    body: &[u8],
) -> Reply {
    let request = s
        .http
        .request(method, s.url(ProviderKind::Whalestack, path))
        .header("X-Digest-Key", KEY)
        .header("X-Digest-Timestamp", ts)
        .header("X-Digest-Signature", signature)
        .header("content-type", "application/json")
        .body(body.to_vec());
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body: Value =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn whalestack_digest_vector_is_accepted_and_a_one_byte_change_is_not() {
    // The HMAC used here reproduces a vector computed outside Rust:
    //   printf '/auth-test1700000000GET' | openssl dgst -sha256 -hmac secret
    assert_eq!(
        hmac_hex(b"secret", b"/auth-test1700000000GET"),
        "19d0af5ee3d3f4d800a4dcf7bed3becc146332d218bbb0f203eb2df23b34f1a7"
    );
    let s = sandbox().await;
    let path = "/customer";
    let body = br#"{"customer":{"email":"vector@example.com","note":"digest vector"}}"#;
    let ts = unix_now().to_string();
    // ENDPOINT_PATH . UNIX_TIMESTAMP . REQUEST_METHOD . REQUEST_BODY, path relative to /api/v1.
    let message = format!("{path}{ts}POST{}", std::str::from_utf8(body).unwrap());
    let signature = hmac_hex(SECRET.as_bytes(), message.as_bytes());

    let accepted = ws_raw(&s, Method::POST, path, &ts, &signature, body)
        .await
        .expect(200);
    assert!(accepted["customerId"].is_string());

    // One byte of the body changed after signing.
    let mut altered = body.to_vec();
    let at = altered.iter().position(|b| *b == b'v').unwrap();
    altered[at] = b'w';
    let refused = ws_raw(&s, Method::POST, path, &ts, &signature, &altered)
        .await
        .expect(401);
    assert_shape(&refused, "whalestack/error.json");
    // One hex digit of the signature changed.
    let mut bad_sig = signature.clone().into_bytes();
    bad_sig[10] = if bad_sig[10] == b'0' { b'1' } else { b'0' };
    ws_raw(
        &s,
        Method::POST,
        path,
        &ts,
        std::str::from_utf8(&bad_sig).unwrap(),
        body,
    )
    .await
    .expect(401);
    // The same signature under another method or path.
    ws_raw(&s, Method::PUT, path, &ts, &signature, body)
        .await
        .expect(401);
    ws_raw(&s, Method::POST, "/beneficiary", &ts, &signature, body)
        .await
        .expect(401);
    // A truncated or empty signature.
    ws_raw(&s, Method::POST, path, &ts, &signature[..32], body)
        .await
        .expect(401);
    ws_raw(&s, Method::POST, path, &ts, "", body)
        .await
        .expect(401);

    // 30 seconds either side of the server clock is too far.
    for skew in [-31_i64, 31] {
        let ts = (unix_now() + skew).to_string();
        let signature = hmac_hex(
            SECRET.as_bytes(),
            format!("{path}{ts}POST{}", std::str::from_utf8(body).unwrap()).as_bytes(),
        );
        ws_raw(&s, Method::POST, path, &ts, &signature, body)
            .await
            .expect(401);
    }
    // Exactly one customer was created.
    let list = s.ws(Method::GET, "/customers", None).await.expect(200);
    assert_eq!(list["count"], 1);
}

#[tokio::test]
async fn whalestack_signs_the_path_without_query_and_get_without_body() {
    let s = sandbox().await;
    let ts = unix_now().to_string();
    let without_query = hmac_hex(SECRET.as_bytes(), format!("/checkout{ts}GET").as_bytes());
    // Authenticated (so the unknown id is a 404, not a 401).
    ws_raw(
        &s,
        Method::GET,
        "/checkout?id=000000000000",
        &ts,
        &without_query,
        b"",
    )
    .await
    .expect(404);
    let with_query = hmac_hex(
        SECRET.as_bytes(),
        format!("/checkout?id=000000000000{ts}GET").as_bytes(),
    );
    ws_raw(
        &s,
        Method::GET,
        "/checkout?id=000000000000",
        &ts,
        &with_query,
        b"",
    )
    .await
    .expect(401);
    // A GET signs an empty body even when bytes are sent.
    ws_raw(
        &s,
        Method::GET,
        "/checkout?id=000000000000",
        &ts,
        &without_query,
        b"{}",
    )
    .await
    .expect(404);

    // Basic-Auth: X-Basic = sha256("key:secret").
    let basic = sha256(&[format!("{KEY}:{SECRET}").as_bytes()]);
    let ok = s
        .http
        .get(s.url(ProviderKind::Whalestack, "/auth-test"))
        .header("X-Basic", &basic)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let wrong = sha256(&[format!("{KEY}:other").as_bytes()]);
    let refused = s
        .http
        .get(s.url(ProviderKind::Whalestack, "/auth-test"))
        .header("X-Basic", wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let (status, body) = get_json(&s.http, &s.url(ProviderKind::Whalestack, "/auth-test")).await;
    assert_eq!(status, 401);
    assert_shape(&body, "whalestack/error.json");
    // Public endpoints need nothing.
    assert_eq!(
        get_json(&s.http, &s.url(ProviderKind::Whalestack, "/ping"))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn each_provider_answers_its_own_401() {
    let s = sandbox().await;
    let white = s
        .http
        .get(s.url(ProviderKind::White, "/charges"))
        .send()
        .await
        .unwrap();
    assert_eq!(white.status(), 401);
    let wrong = s
        .http
        .get(s.url(ProviderKind::White, "/charges"))
        .basic_auth("test_key_imadethiskeyup", Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = serde_json::from_slice(&wrong.bytes().await.unwrap()).unwrap();
    assert_shape(&body, "white/error.json");
    assert_eq!(body["error"]["type"], "authentication");
    // The key given is echoed masked, never in full.
    assert_eq!(body["error"]["extras"]["provided_api_key"], "***eyup");

    let wst_wrong_secret = s
        .http
        .get(s.url(ProviderKind::Whitestones, "/merchant/profile"))
        .bearer_auth(KEY)
        .header("X-WS-Secret", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wst_wrong_secret.status(), 401);
    let wst_no_secret = s
        .http
        .get(s.url(ProviderKind::Whitestones, "/merchant/profile"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(wst_no_secret.status(), 401);
    let body: Value = serde_json::from_slice(&wst_no_secret.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    let wp = s
        .http
        .get(s.url(ProviderKind::Whitepay, "/private-api/balances"))
        .bearer_auth("other")
        .send()
        .await
        .unwrap();
    assert_eq!(wp.status(), 401);
    let body: Value = serde_json::from_slice(&wp.bytes().await.unwrap()).unwrap();
    assert_eq!(body, json!({"message": "Unauthenticated."}));
}

#[tokio::test]
async fn configured_credentials_replace_the_defaults() {
    let s = sandbox_with(|c| {
        c.api_key = "key-2".into();
        c.api_secret = Secret::new("secret-2");
    })
    .await;
    s.ws(Method::GET, "/auth-test", None).await.expect(401);
    s.white(Method::GET, "/charges", &[]).await.expect(401);
    s.wst(Method::GET, "/merchant/profile", None, None)
        .await
        .expect(401);
    s.wp(Method::GET, "/private-api/balances", None)
        .await
        .expect(401);

    let ts = unix_now().to_string();
    let signature = hmac_hex(b"secret-2", format!("/auth-test{ts}GET").as_bytes());
    let ok = s
        .http
        .get(s.url(ProviderKind::Whalestack, "/auth-test"))
        .header("X-Digest-Key", "key-2")
        .header("X-Digest-Timestamp", ts)
        .header("X-Digest-Signature", signature)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let white = s
        .http
        .get(s.url(ProviderKind::White, "/charges"))
        .basic_auth("key-2", Some(""))
        .send()
        .await
        .unwrap();
    assert_eq!(white.status(), 200);
}
