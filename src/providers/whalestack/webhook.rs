//! Whalestack webhooks: `X-Webhook-Auth` = hex SHA-256(secret + raw body), and the
//! `{"eventType", "data": {"<object>": {...}}}` body.
//!
//! The signature covers only the body (no timestamp, no event id), so a captured webhook
//! can be replayed: events dedupe on the body's hash, and await steps confirm the object
//! with a GET before they succeed. The docs' own `CHECKOUT_UNDERPAID` example carries
//! `"eventType": "CHECKOUT_COMPLETED"` with an `UNRESOLVED_UNDERPAID` checkout, another
//! reason the object's state, not the event name, decides.

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::providers::webhook::{
    Event, ParseError, VerifyError, body_digest, check_signature, json_body,
};
use crate::signing;
use crate::spec::Secret;

/// Checks `X-Webhook-Auth` (or the configured header) against the body.
pub(super) fn verify(
    headers: &HeaderMap,
    body: &[u8],
    header: &str,
    secret: &Secret,
) -> Result<(), VerifyError> {
    let expected = signing::whalestack_webhook(secret.expose(), body);
    check_signature(headers, header, &expected)
}

/// Parses a webhook body; the object type is the single key under `data` (`checkout`,
/// `deposit`, `swap`, `transfer`).
pub(super) fn parse(body: &[u8]) -> Result<Event, ParseError> {
    let v = json_body(body)?;
    let kind = v
        .get("eventType")
        .and_then(Value::as_str)
        .ok_or(ParseError::Missing { field: "eventType" })?;
    let (object_type, object) = v
        .get("data")
        .and_then(Value::as_object)
        .and_then(|d| d.iter().find(|(_, o)| o.is_object()))
        .ok_or(ParseError::Missing { field: "data" })?;
    Ok(Event {
        dedupe_key: body_digest(body),
        kind: kind.to_string(),
        object_type: object_type.clone(),
        object_id: object.get("id").and_then(Value::as_str).map(str::to_string),
        data: object.clone(),
    })
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    const BODY: &[u8] = br#"{"eventType":"SWAP_COMPLETED","data":{"swap":{"id":"5074f4ee055d","state":"COMPLETED"}}}"#;

    fn headers(sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-webhook-auth", HeaderValue::from_str(sig).unwrap());
        h
    }

    #[test]
    fn verifies_the_documented_hash() {
        let secret = Secret::new("secret");
        // printf 'secret{"a":1}' | sha256sum  (the vector pinned in `signing`)
        let vector = "37bd34e4b292ef9df8bfe70e3f50526139249490c3c2594cf20175ba7665e01d";
        assert_eq!(
            verify(&headers(vector), br#"{"a":1}"#, "X-Webhook-Auth", &secret),
            Ok(())
        );
        let good = signing::whalestack_webhook("secret", BODY);
        assert_eq!(
            verify(&headers(&good), BODY, "X-Webhook-Auth", &secret),
            Ok(())
        );
        let wrong = signing::whalestack_webhook("other", BODY);
        assert!(matches!(
            verify(&headers(&wrong), BODY, "X-Webhook-Auth", &secret),
            Err(VerifyError::Mismatch { .. })
        ));
        assert!(matches!(
            verify(&HeaderMap::new(), BODY, "X-Webhook-Auth", &secret),
            Err(VerifyError::Missing { .. })
        ));
        assert!(verify(&headers(&good[..63]), BODY, "X-Webhook-Auth", &secret).is_err());
        assert!(matches!(
            verify(&headers(""), BODY, "X-Webhook-Auth", &secret),
            Err(VerifyError::Missing { .. })
        ));
        let mut changed = BODY.to_vec();
        changed[20] ^= 1;
        assert!(verify(&headers(&good), &changed, "X-Webhook-Auth", &secret).is_err());
    }

    #[test]
    fn parses_object_type_and_id() {
        let e = parse(BODY).unwrap();
        assert_eq!(e.kind, "SWAP_COMPLETED");
        assert_eq!(e.object_type, "swap");
        assert_eq!(e.object_id.as_deref(), Some("5074f4ee055d"));
        assert_eq!(e.data["state"], "COMPLETED");
        assert_eq!(e.dedupe_key, body_digest(BODY));
        assert!(matches!(
            parse(b"{}"),
            Err(ParseError::Missing { field: "eventType" })
        ));
        assert!(matches!(parse(b"nope"), Err(ParseError::NotJson(_))));
    }
}
