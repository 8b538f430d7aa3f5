//! `kind: http` against the sandbox's generic API (`/http`): the request exactly as the
//! step describes it (the echo shows what arrived), credentials signed and redacted, every
//! failure class from the failing and answer-losing routes, and the lookup that decides a
//! write in doubt (a 2xx found it, a 404 proves it absent, no lookup needs an operator).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sluice::catalog::ProviderKind;
use sluice::providers::{FailureClass, Lookup, NormalizedState};
use sluice::signing::hmac_sha256_hex;
use sluice::spec::env::{HttpAuth, ResolvedProvider};
use sluice::spec::{HmacEncoding, HmacOver, Secret};

use super::support::*;

const TOKEN: &str = "tok-sentinel-5c1e";

/// An `http` block at `base_url` with a bearer token, a static and an environment header,
/// and the idempotency header.
fn block_http(base_url: &str, auth: HttpAuth) -> ResolvedProvider {
    let mut b = block_at(ProviderKind::Http, base_url);
    b.http_auth = Some(auth);
    b.headers = BTreeMap::from([("X-Tenant".to_string(), "acme".to_string())]);
    b.secret_headers = BTreeMap::from([("X-Api-Key".to_string(), Secret::new("key-sentinel-77"))]);
    b.idempotency_header = Some("Idempotency-Key".into());
    b
}

fn bearer() -> HttpAuth {
    HttpAuth::Bearer(Secret::new(TOKEN))
}

/// A POST of `{ref, amount}` to `path` with `lookup` by reference.
fn post(path: &str, reference: &str, lookup: bool) -> Step {
    let amount: Value = serde_json::from_str("1250.10").unwrap();
    let mut with = json!({
        "method": "POST",
        "path": path,
        "json": {"ref": reference, "amount": amount, "currency": "EUR"},
        "output": {"id": "/id", "state": "/state"},
        "success_when": "{{eq output.state 'PROCESSING'}}"
    });
    if lookup {
        with["lookup"] = json!({"path": "/objects/by-ref/{{request.json.ref}}"});
    }
    Step::new("http.request", &format!("idk_{reference}"), with)
}

/// The generic API's objects whose `ref` is `reference`.
async fn objects(sandbox: &sluice::sandbox::SandboxHandle, reference: &str) -> Vec<Value> {
    let list: Value = raw_client()
        .get(format!("{}/objects", sandbox.base_url(ProviderKind::Http)))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    list["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["ref"] == reference)
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_request_arrives_exactly_as_described_and_credentials_stay_out() {
    let sandbox = sandbox().await;
    let p = adapter(&block_http(&sandbox.base_url(ProviderKind::Http), bearer()));
    let step = Step::new(
        "http.request",
        "idk_echo",
        json!({
            "method": "PUT", "path": "/echo/transfer", "query": {"dry": "false", "n": 2},
            "headers": {"X-Trace": "t-1"},
            "json": {"ref": "A1", "amount": serde_json::from_str::<Value>("0.10").unwrap()},
            "output": {"echoed": "/body", "method": "/method", "auth": "/headers/authorization"}
        }),
    );
    let out = step.done(p.as_ref()).await;
    let j = json(&out);
    assert_eq!(j["state"], "succeeded");
    assert_eq!(j["status"], 200);
    assert_eq!(j["method"], "PUT");
    // The amount went out with exactly its digits, and came back so.
    assert_eq!(j["echoed"].to_string(), r#"{"ref":"A1","amount":0.10}"#);
    let echoed = &out.raw;
    assert_eq!(echoed["path"], "/http/echo/transfer");
    assert_eq!(echoed["query"], json!({"dry": "false", "n": "2"}));
    let h = &echoed["headers"];
    assert_eq!(
        (h["x-tenant"].as_str(), h["x-trace"].as_str()),
        (Some("acme"), Some("t-1"))
    );
    assert_eq!(h["idempotency-key"], "idk_echo");
    assert_eq!(h["content-type"], "application/json");
    // The API echoed the credentials: the output keeps them as `***` only.
    assert_eq!(j["auth"], "Bearer ***");
    assert_eq!(h["x-api-key"], "***");
    let stored = j.to_string();
    assert!(
        !stored.contains(TOKEN) && !stored.contains("key-sentinel-77"),
        "{stored}"
    );

    // The preview is the same request with the credentials masked.
    let preview = p
        .preview(&sluice::providers::Call {
            action: "http.request",
            with: &step.with,
            key: &step.key,
            checkpoint: None,
        })
        .unwrap();
    let shown = serde_json::to_string(&preview).unwrap();
    assert!(shown.contains(r#"["Authorization","***"]"#), "{shown}");
    assert!(shown.contains(r#"["X-Api-Key","***"]"#), "{shown}");
    assert!(
        shown.contains(r#""body":"{\"ref\":\"A1\",\"amount\":0.10}""#),
        "{shown}"
    );
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[tokio::test]
async fn hmac_signs_the_bytes_sent() {
    let sandbox = sandbox().await;
    for (over, encoding) in [
        (HmacOver::Body, HmacEncoding::Hex),
        (HmacOver::MethodPathBody, HmacEncoding::Hex),
    ] {
        let auth = HttpAuth::Hmac {
            secret: Secret::new("hmac-sentinel-3"),
            header: "X-Signature".into(),
            over,
            encoding,
        };
        let p = adapter(&block_http(&sandbox.base_url(ProviderKind::Http), auth));
        let step = Step::new(
            "http.request",
            "idk_sig",
            json!({"method": "POST", "path": "/echo", "query": {"a": "b c"},
                   "form": {"amount": "12.50", "note": "x&y"}}),
        );
        let out = step.done(p.as_ref()).await;
        let raw = &out.raw;
        let body = "amount=12.50&note=x%26y";
        assert_eq!(raw["body"], body);
        let signed = match over {
            HmacOver::Body => body.to_string(),
            HmacOver::MethodPathBody => format!("POST/http/echo?a=b+c{body}"),
        };
        assert_eq!(
            raw["headers"]["x-signature"],
            hmac_sha256_hex(b"hmac-sentinel-3", signed.as_bytes()),
            "{over:?}"
        );
    }
}

#[tokio::test]
async fn every_failure_class_is_classified_as_for_the_adapters() {
    let sandbox = sandbox().await;
    let base = sandbox.base_url(ProviderKind::Http);
    let p = adapter(&block_http(&base, bearer()));
    let get = |path: &str| {
        Step::new(
            "http.request",
            "idk_r",
            json!({"method": "GET", "path": path}),
        )
    };
    // Reads: 5xx and 429 are retryable, 4xx rejected with the API's text.
    let e = get("/fail/1/echo").fails(p.as_ref()).await;
    assert_eq!(
        (e.class(), e.status()),
        (FailureClass::Retryable, Some(503))
    );
    let e = get("/fail/1/echo?status=429").fails(p.as_ref()).await;
    assert_eq!(e.class(), FailureClass::Retryable);
    let e = get("/fail/1/echo?status=422").fails(p.as_ref()).await;
    assert_eq!(e.class(), FailureClass::Rejected);
    assert!(e.to_string().contains("failing on purpose"), "{e}");
    // Writes: a 5xx or a reset after sending is in doubt, a 4xx rejected.
    let e = post("/fail/1/objects", "W5", true).fails(p.as_ref()).await;
    assert_eq!((e.class(), e.status()), (FailureClass::InDoubt, Some(503)));
    let e = post("/lose/1/objects", "WL", true).fails(p.as_ref()).await;
    assert_eq!(e.class(), FailureClass::InDoubt, "{e}");
    let e = post("/fail/1/objects?status=409", "W4", true)
        .fails(p.as_ref())
        .await;
    assert_eq!(e.class(), FailureClass::Rejected);
    // A timeout after a write was sent is in doubt; on a read, retryable.
    let mut impatient = block_http(&base, bearer());
    impatient.timeout = Duration::from_millis(300);
    let impatient = adapter(&impatient);
    faults(
        &sandbox,
        &["latency=2s@POST /http/objects", "latency=2s@GET /http/echo"],
    );
    let e = post("/objects", "WT", true).fails(impatient.as_ref()).await;
    assert_eq!(e.class(), FailureClass::InDoubt, "{e}");
    let e = get("/echo").fails(impatient.as_ref()).await;
    assert_eq!(e.class(), FailureClass::Retryable, "{e}");
    clear_faults(&sandbox);
    // Nothing listens: retryable whatever the method.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        adapter(&block_http(&format!("http://{addr}/http"), bearer()))
    };
    let e = post("/objects", "WC", true).fails(closed.as_ref()).await;
    assert_eq!(e.class(), FailureClass::Retryable, "{e}");
    // Refused before sending: the same words as `validate`.
    let bad = Step::new(
        "http.request",
        "idk_b",
        json!({"method": "POST", "path": "objects"}),
    );
    assert_eq!(bad.fails(p.as_ref()).await.class(), FailureClass::Invalid);
    // No error message carries a credential.
    let e = post("/fail/1/objects?status=400", "WS", true)
        .fails(p.as_ref())
        .await;
    assert!(!e.to_string().contains(TOKEN));
}

#[tokio::test]
async fn a_write_in_doubt_is_decided_by_its_lookup() {
    let sandbox = sandbox().await;
    let p = adapter(&block_http(&sandbox.base_url(ProviderKind::Http), bearer()));

    // Applied, answer lost: the lookup finds it, with the step's own output.
    let lost = post("/lose/1/objects", "L1", true);
    assert_eq!(lost.fails(p.as_ref()).await.class(), FailureClass::InDoubt);
    let Lookup::Found(found) = lost.lookup(p.as_ref(), None).await else {
        panic!("expected found");
    };
    assert_eq!(
        found.id.as_deref(),
        Some(objects(&sandbox, "L1").await[0]["id"].as_str().unwrap())
    );
    assert_eq!(found.state.normalized, NormalizedState::Succeeded);
    assert_eq!(found.state.raw.as_deref(), Some("PROCESSING"));

    // Refused with a 503 before anything happened: the lookup's 404 proves it absent, and
    // the same request sent again creates it once.
    let failed = post("/fail/1/objects", "F1", true);
    assert_eq!(
        failed.fails(p.as_ref()).await.class(),
        FailureClass::InDoubt
    );
    assert_eq!(failed.lookup(p.as_ref(), None).await, Lookup::Absent);
    failed.done(p.as_ref()).await;
    failed.done(p.as_ref()).await; // the idempotency key: no second object
    assert_eq!(objects(&sandbox, "F1").await.len(), 1);

    // A lookup by the recorded id.
    let by_id = Step::new(
        "http.request",
        "idk_i1",
        json!({"method": "POST", "path": "/objects", "json": {"ref": "I1"},
               "output": {"id": "/id"}, "lookup": {"path": "/objects/{{output.id}}"}}),
    );
    let id = by_id.done(p.as_ref()).await.id.unwrap();
    assert!(
        matches!(by_id.lookup(p.as_ref(), Some(&id)).await, Lookup::Found(o) if o.id == Some(id))
    );
    assert_eq!(
        by_id.lookup(p.as_ref(), Some("obj_nope")).await,
        Lookup::Absent
    );
    // Without the id it cannot be made: an operator decides.
    let Lookup::Unknown { reason } = by_id.lookup(p.as_ref(), None).await else {
        panic!("expected unknown");
    };
    assert!(reason.contains("the `lookup` cannot be made"), "{reason}");

    // No lookup at all: an operator decides, told what to look for.
    let blind = post("/lose/1/objects", "N1", false);
    assert_eq!(blind.fails(p.as_ref()).await.class(), FailureClass::InDoubt);
    let Lookup::Unknown { reason } = blind.lookup(p.as_ref(), None).await else {
        panic!("expected unknown");
    };
    assert!(
        reason.contains("has no `lookup`") && reason.contains("idk_N1"),
        "{reason}"
    );

    // A read is simply sent again.
    let read = Step::new(
        "http.request",
        "idk_g",
        json!({"method": "GET", "path": "/echo"}),
    );
    assert_eq!(read.lookup(p.as_ref(), None).await, Lookup::Absent);
}
