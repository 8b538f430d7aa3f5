//! WHITESTONES webhooks. The seed lists the events (`payment.succeeded`, `payment.failed`,
//! `payment.processing`, `payout.created`, `payout.completed`, `payout.failed`) but neither
//! a signature nor a body shape. sluice's choice, overridable where it can be:
//! - header `X-WS-Signature` (or `webhook_signature_header`) = hex HMAC-SHA256(webhook
//!   secret, raw body), the webhook secret defaulting to `api_secret`;
//! - body `{"id"?, "type" | "event": "payout.completed", "data": {"object": {...}} | {...}}`;
//!   the dedupe key is `id` when present, else the body's hash.

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::providers::webhook::{
    Event, ParseError, VerifyError, body_digest, check_signature, json_body,
};
use crate::signing;
use crate::spec::Secret;

/// Checks the signature header against the body.
pub(super) fn verify(
    headers: &HeaderMap,
    body: &[u8],
    header: &str,
    secret: &Secret,
) -> Result<(), VerifyError> {
    let expected = signing::hmac_sha256_hex(secret.expose().as_bytes(), body);
    check_signature(headers, header, &expected)
}

/// The `poll` object of an event type: `payment.*` → `payment_intent`, `payout.*` →
/// `payout`.
fn object_type(kind: &str) -> String {
    match kind.split('.').next().unwrap_or(kind) {
        "payment" | "payment_intent" => "payment_intent".to_string(),
        other => other.to_string(),
    }
}

/// Parses a webhook body.
pub(super) fn parse(body: &[u8]) -> Result<Event, ParseError> {
    let v = json_body(body)?;
    let kind = v
        .get("type")
        .or_else(|| v.get("event"))
        .and_then(Value::as_str)
        .ok_or(ParseError::Missing { field: "type" })?;
    let data = v.get("data").ok_or(ParseError::Missing { field: "data" })?;
    let object = data.get("object").filter(|o| o.is_object()).unwrap_or(data);
    Ok(Event {
        dedupe_key: v
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| body_digest(body), str::to_string),
        kind: kind.to_string(),
        object_type: object_type(kind),
        object_id: object.get("id").and_then(Value::as_str).map(str::to_string),
        data: object.clone(),
    })
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    const BODY: &[u8] =
        br#"{"type":"payout.completed","data":{"object":{"id":"po_1","status":"completed"}}}"#;

    fn headers(sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-ws-signature", HeaderValue::from_str(sig).unwrap());
        h
    }

    #[test]
    fn verifies_hmac_of_the_raw_body() {
        let secret = Secret::new("whsec");
        // printf '%s' '{"type":"payout.completed","data":{"object":{"id":"po_1","status":"completed"}}}' \
        //   | openssl dgst -sha256 -hmac whsec
        let good = "a0d20ad007f7e9e6313389dbfe2d47364f9dafd7cd959b4c978566a1fe48627c";
        assert_eq!(
            verify(&headers(good), BODY, "X-WS-Signature", &secret),
            Ok(())
        );
        assert!(matches!(
            verify(
                &headers(&signing::hmac_sha256_hex(b"other", BODY)),
                BODY,
                "X-WS-Signature",
                &secret
            ),
            Err(VerifyError::Mismatch { .. })
        ));
        assert!(matches!(
            verify(&HeaderMap::new(), BODY, "X-WS-Signature", &secret),
            Err(VerifyError::Missing { .. })
        ));
        assert!(verify(&headers(""), BODY, "X-WS-Signature", &secret).is_err());
        assert!(verify(&headers(&good[..32]), BODY, "X-WS-Signature", &secret).is_err());
        let mut changed = BODY.to_vec();
        changed[10] ^= 1;
        assert!(verify(&headers(good), &changed, "X-WS-Signature", &secret).is_err());
        assert!(verify(&headers(good), BODY, "X-Other", &secret).is_err());
    }

    #[test]
    fn parses_both_body_shapes() {
        let e = parse(BODY).unwrap();
        assert_eq!(e.kind, "payout.completed");
        assert_eq!(e.object_type, "payout");
        assert_eq!(e.object_id.as_deref(), Some("po_1"));
        assert_eq!(e.dedupe_key, body_digest(BODY));
        let e =
            parse(br#"{"id":"evt_9","event":"payment.succeeded","data":{"id":"pi_1"}}"#).unwrap();
        assert_eq!(e.object_type, "payment_intent");
        assert_eq!(e.object_id.as_deref(), Some("pi_1"));
        assert_eq!(e.dedupe_key, "evt_9");
        assert!(matches!(
            parse(br#"{"type":"x"}"#),
            Err(ParseError::Missing { field: "data" })
        ));
    }
}
