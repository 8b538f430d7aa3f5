//! A provider block's `auth:`: Whalestack's signing mode (`digest` or `basic`), or the
//! credentials an `http` block sends (`bearer`, `basic`, `hmac`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::AuthMode;

/// How a provider block authenticates its requests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum AuthConfig {
    /// Whalestack: `digest` (default) or `basic`.
    Mode(AuthMode),
    /// `kind: http`: one of `bearer`, `basic` or `hmac`.
    Http(HttpAuthConfig),
}

impl AuthConfig {
    /// The Whalestack mode, when this is one.
    pub fn mode(&self) -> Option<AuthMode> {
        match self {
            AuthConfig::Mode(m) => Some(*m),
            AuthConfig::Http(_) => None,
        }
    }
}

/// The credentials of an `http` provider block. Values may use `${VAR}`; they are secrets,
/// never printed, logged or stored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum HttpAuthConfig {
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// A header carrying an HMAC-SHA256 of the request under a shared secret.
    Hmac(HmacConfig),
}

/// An HMAC-SHA256 request signature.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HmacConfig {
    /// The shared secret.
    pub secret: String,
    /// The header carrying the signature (`X-Signature`).
    pub header: String,
    /// What is signed (default `body`).
    #[serde(default)]
    pub over: HmacOver,
    /// How the signature is written (default `hex`).
    #[serde(default)]
    pub encoding: HmacEncoding,
}

/// The bytes an HMAC signs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HmacOver {
    /// The body exactly as sent (empty for a request without one).
    #[default]
    Body,
    /// The method, the path with its query string, and the body, concatenated with no
    /// separator (`POST/transfer?dry=false{"ref":"A1"}`).
    MethodPathBody,
}

/// How a signature is written in its header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HmacEncoding {
    /// Lowercase hex.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}
