//! Sessions and CSRF tokens, signed with a key made when the process starts: nothing about a
//! session is stored, and restarting the console logs everyone out.
//!
//! The session cookie carries who the user is, their role, a random nonce and an expiry,
//! signed with HMAC-SHA256. A form's CSRF token is the HMAC of that nonce under the same key:
//! another site can make a browser send the cookie (not with `SameSite=Strict`, but belt
//! and braces), never read the token out of a page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use super::users::Role;
use crate::signing::{hex_signature_matches, hmac_sha256_hex};

/// The session cookie's name.
pub const COOKIE: &str = "sluice_session";

/// How long a session lasts after logging in.
const LIFETIME: TimeDelta = TimeDelta::hours(12);

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user's name, recorded with every action they take.
    pub user: String,
    /// What they may do.
    pub role: Role,
    /// Random, per session; the CSRF token is derived from it.
    nonce: String,
    /// When the session ends.
    expires: DateTime<Utc>,
}

impl Session {
    /// A new session for `user` from `now`.
    pub fn new(user: &str, role: Role, now: DateTime<Utc>) -> Session {
        Session {
            user: user.to_owned(),
            role,
            nonce: hex::encode(rand::random::<[u8; 16]>()),
            // To the second, as the cookie carries it.
            expires: (now + LIFETIME).trunc_subsecs(0),
        }
    }

    /// A session with no user, for the login form's CSRF token.
    pub fn anonymous(now: DateTime<Utc>) -> Session {
        Self::new("", Role::Viewer, now)
    }

    /// Whether a user signed in (the login page's session has none).
    pub fn is_signed_in(&self) -> bool {
        !self.user.is_empty()
    }
}

/// The per-process key sessions and tokens are signed with.
#[derive(Clone)]
pub struct Keys {
    key: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

impl Keys {
    /// A fresh random key.
    pub fn random() -> Keys {
        Keys {
            key: rand::random(),
        }
    }

    /// The cookie value for `session`: `PAYLOAD.SIGNATURE`.
    pub fn seal(&self, session: &Session) -> String {
        let payload = format!(
            "{}\n{}\n{}\n{}",
            session.role.as_str(),
            session.nonce,
            session.expires.timestamp(),
            session.user
        );
        let payload = URL_SAFE_NO_PAD.encode(payload);
        let signature = hmac_sha256_hex(&self.key, payload.as_bytes());
        format!("{payload}.{signature}")
    }

    /// The session a cookie value carries, if this process signed it and it has not expired.
    pub fn open(&self, value: &str, now: DateTime<Utc>) -> Option<Session> {
        let (payload, signature) = value.split_once('.')?;
        let expected = hmac_sha256_hex(&self.key, payload.as_bytes());
        if !hex_signature_matches(&expected, signature) {
            return None;
        }
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let mut parts = text.splitn(4, '\n');
        let role = Role::from_name(parts.next()?)?;
        let nonce = parts.next()?.to_owned();
        let expires = DateTime::from_timestamp(parts.next()?.parse().ok()?, 0)?;
        let user = parts.next()?.to_owned();
        (expires > now).then_some(Session {
            user,
            role,
            nonce,
            expires,
        })
    }

    /// The CSRF token forms of `session` carry.
    pub fn csrf(&self, session: &Session) -> String {
        hmac_sha256_hex(&self.key, format!("csrf\n{}", session.nonce).as_bytes())
    }

    /// Whether `token` is `session`'s CSRF token (constant time).
    pub fn csrf_matches(&self, session: &Session, token: &str) -> bool {
        hex_signature_matches(&self.csrf(session), token)
    }
}

/// The `Set-Cookie` value that stores `sealed`: `HttpOnly` (no script reads it),
/// `SameSite=Strict` (no other site's page sends it), `Secure` when the browser came over
/// TLS.
pub fn set_cookie(sealed: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={sealed}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        LIFETIME.num_seconds()
    )
}

/// The `Set-Cookie` value that ends the session.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_only_under_their_key_and_until_they_expire() {
        let now = Utc::now();
        let keys = Keys::random();
        let session = Session::new("ana", Role::Operator, now);
        let sealed = keys.seal(&session);
        assert_eq!(keys.open(&sealed, now), Some(session.clone()));
        assert_eq!(keys.open(&sealed, now + LIFETIME), None, "expired");
        assert_eq!(
            Keys::random().open(&sealed, now),
            None,
            "another process's key"
        );
        let (payload, signature) = sealed.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(format!(
            "approver\n{}\n{}\nana",
            session.nonce,
            session.expires.timestamp()
        ));
        assert_eq!(keys.open(&format!("{forged}.{signature}"), now), None);
        assert_eq!(keys.open(payload, now), None);

        let token = keys.csrf(&session);
        assert!(keys.csrf_matches(&session, &token));
        let other = Session::new("ana", Role::Operator, now);
        assert!(!keys.csrf_matches(&other, &token), "tokens are per session");
        assert!(!keys.csrf_matches(&session, ""));
        assert!(set_cookie(&sealed, true).contains("HttpOnly; SameSite=Strict"));
        assert!(set_cookie(&sealed, true).ends_with("; Secure"));
    }
}
