//! The Whitepay adapter (seed 003): balances, per-balance exchange rates, and conversion
//! (`swap`).
//!
//! Choices where the seed is silent (also in the README's provider section):
//! - `Authorization: Bearer <token>` on every request.
//! - Currencies are named by ticker (`USDT`); the balance id a conversion or rate read
//!   needs is looked up in `GET /private-api/balances` on each call (balances are live
//!   data). The conversion amount is a decimal string checked against the source
//!   currency's `precision` from that answer; excess precision is refused before sending.
//! - `swap` needs `source_amount` (Whitepay converts a given source amount).
//! - The conversion's transaction is read back with `GET /private-api/transactions/{id}`
//!   (path `transaction`, overridable); `poll` object: `transaction`. Status `INIT` is the
//!   seed's; the rest of the lifecycle is mapped in `wire`/`convert`.
//! - Conversions carry no reference: `lookup` without the transaction id is unknown.
//! - Webhooks: `Signature` = hex HMAC-SHA256(token, raw body), header overridable.

mod balances;
mod client;
mod config;
mod convert;
mod provider;
mod webhook;
mod wire;

pub use provider::Whitepay;
