//! The `http` adapter (README, *Any HTTP API*): `http.request` sends one request to any HTTP
//! API, described by the step itself, under the same protocol, plans and redaction as the
//! payment adapters.
//!
//! - The request: `method`, `path` (joined to `base_url`) or `url`, `query`, `headers`, and
//!   one body, `json`, `form` or `body` (text). It goes through the shared client and its
//!   failure classification ([`crate::providers::http`]); `GET` and `HEAD` are reads.
//! - The block's credentials (`auth`: bearer, basic or HMAC) and the headers it reads from
//!   the environment are secrets: masked in previews, redacted from answers and errors.
//! - The answer: `output` names values in it by JSON pointer; `success_when`, rendered
//!   against them, decides success (default: any 2xx). Answers need not be JSON.
//! - In doubt, `lookup` (a read, rendered against the recorded id, the request and the key)
//!   decides: a 2xx found it, a 404 proves it absent; without a `lookup`, only an operator
//!   can tell.
//! - No webhooks and no `poll`: an arbitrary API sends nothing sluice could verify.

mod answer;
mod config;
mod lookup;
mod provider;
mod request;
mod sign;

pub use provider::HttpApi;
