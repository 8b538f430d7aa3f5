//! Incoming webhooks: the verified, parsed [`Event`] and the errors of the two pure steps.
//!
//! Verification and parsing are synchronous and do no I/O; the webhook receiver calls
//! [`Provider::verify_webhook`](super::Provider::verify_webhook) on the raw bytes before
//! anything is stored. None of the four providers signs an event id or a timestamp, so an
//! event is a hint: receivers dedupe on [`Event::dedupe_key`] and await steps confirm the
//! object's state with [`Provider::poll`](super::Provider::poll).

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::signing;

/// A provider event, parsed from a verified body.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Unique per delivery content: the provider's event id when it sends one, otherwise
    /// the hex SHA-256 of the raw body (so a replayed body dedupes).
    pub dedupe_key: String,
    /// The provider's event type, verbatim (`CHECKOUT_COMPLETED`, `payout.completed`).
    pub kind: String,
    /// The kind of object it is about, in the adapter's `poll` vocabulary (`checkout`,
    /// `swap`, `payout`, `transaction`, …).
    pub object_type: String,
    /// The object's id, when the event names one.
    pub object_id: Option<String>,
    /// The object as the event carries it.
    pub data: Value,
}

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The signature header is absent or empty.
    #[error("the `{header}` signature header is missing")]
    Missing {
        /// The header that should carry it.
        header: String,
    },
    /// The signature does not match the body (or is truncated, or not hex).
    #[error("the `{header}` signature does not match the body")]
    Mismatch {
        /// The header that carried it.
        header: String,
    },
    /// This provider sends no webhooks.
    #[error("provider `{provider}` sends no webhooks; await its objects by polling")]
    Unsupported {
        /// The provider block's name.
        provider: String,
    },
}

/// Why a verified body is not an event.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The body is not JSON.
    #[error("the webhook body is not JSON")]
    NotJson(#[source] serde_json::Error),
    /// A field the event needs is absent or has the wrong type.
    #[error("the webhook body has no `{field}`")]
    Missing {
        /// The field's path.
        field: &'static str,
    },
    /// This provider sends no webhooks.
    #[error("provider `{provider}` sends no webhooks")]
    Unsupported {
        /// The provider block's name.
        provider: String,
    },
}

/// The value of `header`, refusing an absent, empty or non-ASCII one.
pub(crate) fn signature_header<'h>(
    headers: &'h HeaderMap,
    header: &str,
) -> Result<&'h str, VerifyError> {
    headers
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| VerifyError::Missing {
            header: header.to_string(),
        })
}

/// Checks `header` against `expected_hex` in constant time.
pub(crate) fn check_signature(
    headers: &HeaderMap,
    header: &str,
    expected_hex: &str,
) -> Result<(), VerifyError> {
    let received = signature_header(headers, header)?;
    if signing::hex_signature_matches(expected_hex, received) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch {
            header: header.to_string(),
        })
    }
}

/// The body as JSON.
pub(crate) fn json_body(body: &[u8]) -> Result<Value, ParseError> {
    serde_json::from_slice(body).map_err(ParseError::NotJson)
}

/// The dedupe key of a body that carries no event id.
pub(crate) fn body_digest(body: &[u8]) -> String {
    signing::sha256_hex(&[body])
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn header_checks_refuse_missing_empty_and_wrong() {
        let good = signing::hmac_sha256_hex(b"k", b"body");
        let mut h = HeaderMap::new();
        assert_eq!(
            check_signature(&h, "X-Sig", &good),
            Err(VerifyError::Missing {
                header: "X-Sig".into()
            })
        );
        h.insert("x-sig", HeaderValue::from_static(""));
        assert!(matches!(
            check_signature(&h, "X-Sig", &good),
            Err(VerifyError::Missing { .. })
        ));
        h.insert("x-sig", HeaderValue::from_str(&good).unwrap());
        assert_eq!(check_signature(&h, "X-Sig", &good), Ok(()));
        h.insert("x-sig", HeaderValue::from_str(&good[..10]).unwrap());
        assert!(matches!(
            check_signature(&h, "X-Sig", &good),
            Err(VerifyError::Mismatch { .. })
        ));
        assert_eq!(body_digest(b"").len(), 64);
    }
}
