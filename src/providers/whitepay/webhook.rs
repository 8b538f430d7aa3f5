//! Whitepay webhooks: header `Signature` (or `webhook_signature_header`) = hex
//! HMAC-SHA256(token, raw body), as Whitepay's public docs sign them.
//!
//! The seed shows no webhook body, so the parser accepts the shapes in use: the event type
//! in `event_type`, `event` or `type`; the object under `transaction`, `order` or `data`.
//! The object type is that key (`data` counts as `transaction`); the dedupe key is the
//! body's hash (no event id is documented).

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

/// Parses a webhook body.
pub(super) fn parse(body: &[u8]) -> Result<Event, ParseError> {
    let v = json_body(body)?;
    let kind = ["event_type", "event", "type"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .ok_or(ParseError::Missing {
            field: "event_type",
        })?;
    let (object_type, object) = ["transaction", "order", "data"]
        .iter()
        .find_map(|k| v.get(*k).filter(|o| o.is_object()).map(|o| (*k, o)))
        .ok_or(ParseError::Missing {
            field: "transaction",
        })?;
    Ok(Event {
        dedupe_key: body_digest(body),
        kind: kind.to_string(),
        object_type: if object_type == "data" {
            "transaction"
        } else {
            object_type
        }
        .to_string(),
        object_id: object.get("id").and_then(Value::as_str).map(str::to_string),
        data: object.clone(),
    })
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    const BODY: &[u8] = br#"{"event_type":"transaction::completed","transaction":{"id":"85fec40f","status":"COMPLETE"}}"#;

    fn headers(sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("signature", HeaderValue::from_str(sig).unwrap());
        h
    }

    #[test]
    fn verifies_hmac_of_the_raw_body_with_the_token() {
        let token = Secret::new("wp_token");
        // printf '%s' '{"event_type":"transaction::completed","transaction":{"id":"85fec40f","status":"COMPLETE"}}' \
        //    | openssl dgst -sha256 -hmac wp_token
        let good = "81c3b2c52a452148d7821627a95052542dd33278678868a714eb3edebcfbf94c";
        assert_eq!(verify(&headers(good), BODY, "Signature", &token), Ok(()));
        assert!(verify(&headers(&good[..10]), BODY, "Signature", &token).is_err());
        assert!(verify(&headers(""), BODY, "Signature", &token).is_err());
        assert!(matches!(
            verify(&HeaderMap::new(), BODY, "Signature", &token),
            Err(VerifyError::Missing { .. })
        ));
        let mut changed = BODY.to_vec();
        changed[5] ^= 1;
        assert!(verify(&headers(good), &changed, "Signature", &token).is_err());
        assert!(verify(&headers(good), BODY, "Signature", &Secret::new("other")).is_err());
    }

    #[test]
    fn parses_event_and_object() {
        let e = parse(BODY).unwrap();
        assert_eq!(e.kind, "transaction::completed");
        assert_eq!(e.object_type, "transaction");
        assert_eq!(e.object_id.as_deref(), Some("85fec40f"));
        let e = parse(br#"{"type":"x","data":{"id":"t1"}}"#).unwrap();
        assert_eq!(e.object_type, "transaction");
        assert!(parse(br#"{"transaction":{}}"#).is_err());
    }
}
