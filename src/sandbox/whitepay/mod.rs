//! The Whitepay emulation, under `/whitepay` (seed 003): balances, per-balance exchange
//! rates, and conversions that create a transaction (INIT → PROCESSING → COMPLETED) which
//! really debits one balance and credits the other. Bearer token auth; `Signature` webhooks.

pub mod balances;
pub mod conversions;
pub mod currencies;
pub mod error;
pub mod routes;
pub mod state;

pub use routes::{PREFIX, router};
pub use state::State;
