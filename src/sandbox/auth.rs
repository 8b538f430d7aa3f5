//! Credential checks for the four providers, as pure functions of the request.
//!
//! Each provider module turns an [`AuthFailure`] into its own 401 body. Secrets and keys are
//! compared in constant time; signatures go through [`hex_signature_matches`], which also
//! refuses empty and truncated values.

use axum::http::{HeaderMap, Method};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::signing::{hex_signature_matches, whalestack_basic, whalestack_digest};

/// How long a Whalestack digest timestamp stays valid, either side of the server clock.
pub const DIGEST_WINDOW_SECS: i64 = 30;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No credentials at all.
    #[error("authentication required")]
    Missing,
    /// The API key is not the sandbox's.
    #[error("invalid API key")]
    WrongKey,
    /// The API secret is not the sandbox's.
    #[error("invalid API secret")]
    WrongSecret,
    /// The digest timestamp is not an integer.
    #[error("invalid digest timestamp")]
    BadTimestamp,
    /// The digest timestamp is outside the 30 second window.
    #[error("digest timestamp is more than 30 seconds away from server time (see GET /time)")]
    Stale,
    /// The digest signature does not match the request.
    #[error("invalid digest signature")]
    BadSignature,
}

/// Constant-time equality of two credentials.
fn same(expected: &str, received: &str) -> bool {
    expected.len() == received.len() && bool::from(expected.as_bytes().ct_eq(received.as_bytes()))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Whalestack: Digest-Auth (`X-Digest-Key`, `X-Digest-Timestamp`, `X-Digest-Signature` =
/// HMAC-SHA256(secret, path + timestamp + METHOD + body)) or Basic-Auth (`X-Basic` =
/// SHA-256(key:secret)). `path` is relative to `/api/v1` without the query; GET signs an
/// empty body, other methods the exact bytes sent.
#[allow(clippy::too_many_arguments)]
pub fn check_whalestack(
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    body: &[u8],
    key: &str,
    secret: &str,
    now_unix: i64,
) -> Result<(), AuthFailure> {
    if let Some(basic) = header(headers, "x-basic") {
        return if hex_signature_matches(&whalestack_basic(key, secret), basic) {
            Ok(())
        } else {
            Err(AuthFailure::WrongKey)
        };
    }
    let (Some(given_key), Some(timestamp), Some(signature)) = (
        header(headers, "x-digest-key"),
        header(headers, "x-digest-timestamp"),
        header(headers, "x-digest-signature"),
    ) else {
        return Err(AuthFailure::Missing);
    };
    if !same(key, given_key) {
        return Err(AuthFailure::WrongKey);
    }
    let ts: i64 = timestamp.parse().map_err(|_| AuthFailure::BadTimestamp)?;
    if (now_unix - ts).abs() >= DIGEST_WINDOW_SECS {
        return Err(AuthFailure::Stale);
    }
    let signed_body: &[u8] = if *method == Method::GET { b"" } else { body };
    let expected = whalestack_digest(
        secret,
        &path.to_ascii_lowercase(),
        timestamp,
        method.as_str(),
        signed_body,
    );
    if hex_signature_matches(&expected, signature) {
        Ok(())
    } else {
        Err(AuthFailure::BadSignature)
    }
}

/// White Payments: HTTP Basic with the secret key as the user name (password ignored).
/// Returns the user name given on failure, for the error's `extras`.
pub fn check_white(headers: &HeaderMap, secret_key: &str) -> Result<(), (AuthFailure, String)> {
    let Some(value) = header(headers, "authorization") else {
        return Err((AuthFailure::Missing, String::new()));
    };
    let user = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .map(|pair| {
            pair.split_once(':')
                .map_or(pair.clone(), |(u, _)| u.to_string())
        })
        .ok_or((AuthFailure::Missing, String::new()))?;
    if same(secret_key, &user) {
        Ok(())
    } else {
        Err((AuthFailure::WrongKey, user))
    }
}

/// `Authorization: Bearer TOKEN` (Whitepay; WHITESTONES' first half).
pub fn check_bearer(headers: &HeaderMap, token: &str) -> Result<(), AuthFailure> {
    let given = header(headers, "authorization")
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or(AuthFailure::Missing)?;
    if same(token, given.trim()) {
        Ok(())
    } else {
        Err(AuthFailure::WrongKey)
    }
}

/// WHITESTONES: `Authorization: Bearer KEY` and `X-WS-Secret: SECRET`.
pub fn check_whitestones(headers: &HeaderMap, key: &str, secret: &str) -> Result<(), AuthFailure> {
    check_bearer(headers, key)?;
    let given = header(headers, "x-ws-secret").ok_or(AuthFailure::Missing)?;
    if same(secret, given) {
        Ok(())
    } else {
        Err(AuthFailure::WrongSecret)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn whalestack_digest_window_and_body_rules() {
        let now = 1_700_000_000;
        // The vector pinned in `signing`: printf '/auth-test1700000000GET' | openssl dgst -sha256 -hmac secret
        let sig = "19d0af5ee3d3f4d800a4dcf7bed3becc146332d218bbb0f203eb2df23b34f1a7";
        let ok = headers(&[
            ("x-digest-key", "key"),
            ("x-digest-timestamp", "1700000000"),
            ("x-digest-signature", sig),
        ]);
        let check = |h: &HeaderMap, m: Method, body: &[u8], now: i64| {
            check_whalestack(h, &m, "/auth-test", body, "key", "secret", now)
        };
        assert_eq!(check(&ok, Method::GET, b"", now), Ok(()));
        // GET signs an empty body whatever was sent.
        assert_eq!(check(&ok, Method::GET, b"ignored", now), Ok(()));
        assert_eq!(
            check(&ok, Method::POST, b"", now),
            Err(AuthFailure::BadSignature)
        );
        assert_eq!(check(&ok, Method::GET, b"", now + 29), Ok(()));
        assert_eq!(
            check(&ok, Method::GET, b"", now + 30),
            Err(AuthFailure::Stale)
        );
        assert_eq!(
            check(&ok, Method::GET, b"", now - 30),
            Err(AuthFailure::Stale)
        );
        let wrong_key = headers(&[
            ("x-digest-key", "other"),
            ("x-digest-timestamp", "1700000000"),
            ("x-digest-signature", sig),
        ]);
        assert_eq!(
            check(&wrong_key, Method::GET, b"", now),
            Err(AuthFailure::WrongKey)
        );
        assert_eq!(
            check(&HeaderMap::new(), Method::GET, b"", now),
            Err(AuthFailure::Missing)
        );
        // printf 'key:secret' | sha256sum
        let basic = headers(&[(
            "x-basic",
            "3095b3415d2d8a19f713266737a78c09155ef5198e15ca0f83372a71d43b9239",
        )]);
        assert_eq!(check(&basic, Method::POST, b"{}", 0), Ok(()));
        let bad_basic = headers(&[("x-basic", "3095b3415d2d8a19")]);
        assert_eq!(
            check(&bad_basic, Method::GET, b"", 0),
            Err(AuthFailure::WrongKey)
        );
    }

    #[test]
    fn white_basic_and_bearer_checks() {
        // printf 'sandbox-key:' | base64
        let ok = headers(&[("authorization", "Basic c2FuZGJveC1rZXk6")]);
        assert_eq!(check_white(&ok, "sandbox-key"), Ok(()));
        // printf 'other:' | base64
        let bad = headers(&[("authorization", "Basic b3RoZXI6")]);
        assert_eq!(
            check_white(&bad, "sandbox-key"),
            Err((AuthFailure::WrongKey, "other".to_string()))
        );
        assert!(check_white(&HeaderMap::new(), "k").is_err());

        let bearer = headers(&[("authorization", "Bearer tok"), ("x-ws-secret", "s")]);
        assert_eq!(check_bearer(&bearer, "tok"), Ok(()));
        assert_eq!(check_bearer(&bearer, "tok2"), Err(AuthFailure::WrongKey));
        assert_eq!(check_whitestones(&bearer, "tok", "s"), Ok(()));
        assert_eq!(
            check_whitestones(&bearer, "tok", "t"),
            Err(AuthFailure::WrongSecret)
        );
        let no_secret = headers(&[("authorization", "Bearer tok")]);
        assert_eq!(
            check_whitestones(&no_secret, "tok", "s"),
            Err(AuthFailure::Missing)
        );
    }
}
