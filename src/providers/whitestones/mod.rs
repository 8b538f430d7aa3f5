//! The WHITESTONES adapter (seed 000): payment intents (payins, for `checkout.create`) and
//! payouts (for `transfer`).
//!
//! Choices where the seed is silent (also in the README's provider section):
//! - Paths: `POST /payment_intents`, `GET /payment_intents/{id}`, `POST /payouts`,
//!   `GET /payouts/{id}`; each overridable in the provider block's `paths`.
//! - Auth on every request: `Authorization: Bearer <api_key>` and `X-WS-Secret: <api_secret>`.
//! - Amounts in minor units, converted exactly by `money`; excess precision is refused.
//! - Every create sends `Idempotency-Key: KEY` and `metadata.idempotency_key`. `lookup`
//!   without a recorded id asks `GET /payouts?idempotency_key=KEY` (or
//!   `/payment_intents`, paths `payouts_search` / `payment_intents_search`) and trusts
//!   only an exact `metadata.idempotency_key` match; a refused or partial search is
//!   unknown, never absent.
//! - 429 pauses the whole provider until `Retry-After` (see `ratelimit`).
//! - Webhooks: `X-WS-Signature` = hex HMAC-SHA256(secret, raw body), header overridable
//!   with `webhook_signature_header`; see `webhook` for the body shape.
//! - `poll` objects: `payment_intent`, `payout`; both are listed for reconciliation by
//!   `metadata.idempotency_key` (`list`).

mod client;
mod config;
mod convert;
mod intent;
mod list;
mod payout;
mod provider;
mod webhook;
mod wire;

pub use provider::Whitestones;
