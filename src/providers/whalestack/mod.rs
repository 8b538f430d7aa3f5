//! The Whalestack adapter (seed 002): checkouts, customers, beneficiaries, deposit
//! addresses, wallets, exchange rates, and two-phase swaps and transfers.
//!
//! Choices where the docs are silent or inconsistent (also in the README's provider section):
//! - Auth is Digest (`X-Digest-*`, HMAC-SHA256 over `path + timestamp + METHOD + body`) by
//!   default, Basic (`X-Basic`) with `auth: basic`. The timestamp is the local clock plus
//!   the offset to the server clock read once from the public `GET /time`.
//! - Assets may be given as codes (`USDC`), resolved once per provider instance through
//!   `GET /assets` (an unknown or ambiguous code is refused), or as full ids, sent as given.
//! - Request amounts are JSON numbers carrying the exact decimal digits (the docs type them
//!   `numeric`); amounts are checked against 7 decimals (Stellar), billing amounts against
//!   the currency's ISO 4217 exponent, before anything is sent.
//! - Swap and transfer are two-phase with a checkpoint between create and commit; see
//!   `actions::two_phase`. Transfers have no documented quote expiry; one is honoured if
//!   present.
//! - The API has no idempotency keys. Reconciliation: by object id when recorded; else
//!   checkouts by `meta.idempotency_key`, transfers by the `[sluice:KEY]` marker in their
//!   note, customers and beneficiaries by email (they upsert by email anyway), swaps by a
//!   search for the same assets and amount that can only prove absence (a match is
//!   reported as unknown, for an operator).
//! - `POST /deposit-address` (the heading; the seed's curl says `/deposit`). Every path is
//!   overridable through the provider block's `paths` by operation name (see `config`).
//! - `poll` objects: `checkout`, `swap`, `transfer`, `deposit`, `customer`, `beneficiary`.

mod actions;
mod assets;
mod client;
mod config;
mod convert;
mod provider;
mod webhook;
mod wire;

pub use provider::Whalestack;
