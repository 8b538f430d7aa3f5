//! The signing formulas of the providers' docs, as pure functions.
//!
//! The adapters sign with these and the sandbox checks with them; the tests pin each one to
//! a vector computed independently from the seed's formula, so a shared bug cannot hide.
//! Comparisons of signatures are constant-time and refuse empty or truncated values.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Lowercase hex HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    hex::encode(hmac_sha256(key, message))
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("hmac takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Lowercase hex SHA-256 of the concatenation of `parts`.
pub fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// Whalestack `X-Digest-Signature`: HMAC-SHA256(secret, path + timestamp + METHOD + body),
/// where `path` is relative to `/api/v1` without the query string and `body` is empty for GET.
pub fn whalestack_digest(
    secret: &str,
    path: &str,
    timestamp: &str,
    method: &str,
    body: &[u8],
) -> String {
    let mut message = Vec::with_capacity(path.len() + timestamp.len() + method.len() + body.len());
    message.extend_from_slice(path.as_bytes());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(method.to_ascii_uppercase().as_bytes());
    message.extend_from_slice(body);
    hmac_sha256_hex(secret.as_bytes(), &message)
}

/// Whalestack `X-Basic`: hex SHA-256 of `key:secret`.
pub fn whalestack_basic(key: &str, secret: &str) -> String {
    sha256_hex(&[key.as_bytes(), b":", secret.as_bytes()])
}

/// Whalestack webhook `X-Webhook-Auth`: hex SHA-256 of the secret followed by the raw body.
pub fn whalestack_webhook(secret: &str, body: &[u8]) -> String {
    sha256_hex(&[secret.as_bytes(), body])
}

/// Compares an expected hex signature with one received, in constant time. An empty,
/// truncated, over-long or non-hex value is refused; hex case does not matter.
pub fn hex_signature_matches(expected_hex: &str, received: &str) -> bool {
    let (Ok(expected), Ok(received)) = (hex::decode(expected_hex), hex::decode(received.trim()))
    else {
        return false;
    };
    !expected.is_empty()
        && expected.len() == received.len()
        && bool::from(expected.ct_eq(&received))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed outside sluice from the seed's formulas, with openssl and sha256sum:
    //   printf '/auth-test1700000000GET' | openssl dgst -sha256 -hmac secret
    //   printf '/transfer1700000000POST{"amount":"1.50"}' | openssl dgst -sha256 -hmac secret
    //   printf 'key:secret' | sha256sum
    //   printf 'secret{"a":1}' | sha256sum
    #[test]
    fn matches_independent_vectors() {
        assert_eq!(
            whalestack_digest("secret", "/auth-test", "1700000000", "GET", b""),
            "19d0af5ee3d3f4d800a4dcf7bed3becc146332d218bbb0f203eb2df23b34f1a7"
        );
        assert_eq!(
            whalestack_digest(
                "secret",
                "/transfer",
                "1700000000",
                "post",
                br#"{"amount":"1.50"}"#
            ),
            "046cd76850fb18cf7565e96d0d9d3699924106cc78e49eb91abd38bfc627a14a"
        );
        assert_eq!(
            whalestack_basic("key", "secret"),
            "3095b3415d2d8a19f713266737a78c09155ef5198e15ca0f83372a71d43b9239"
        );
        assert_eq!(
            whalestack_webhook("secret", br#"{"a":1}"#),
            "37bd34e4b292ef9df8bfe70e3f50526139249490c3c2594cf20175ba7665e01d"
        );
    }

    #[test]
    fn comparison_refuses_empty_truncated_and_altered_signatures() {
        let good = whalestack_webhook("secret", b"body");
        assert!(hex_signature_matches(&good, &good));
        assert!(hex_signature_matches(&good, &good.to_ascii_uppercase()));
        assert!(!hex_signature_matches(&good, ""));
        assert!(!hex_signature_matches(&good, &good[..good.len() - 2]));
        assert!(!hex_signature_matches(&good, &format!("{good}00")));
        assert!(!hex_signature_matches(&good, "not hex"));
        let mut altered = good.clone().into_bytes();
        altered[0] = if altered[0] == b'a' { b'b' } else { b'a' };
        assert!(!hex_signature_matches(
            &good,
            std::str::from_utf8(&altered).unwrap()
        ));
        assert!(!hex_signature_matches("", ""));
    }
}
