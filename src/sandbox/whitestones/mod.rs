//! The WHITESTONES emulation, under `/whitestones/v1` (seed 000): merchant profile, payment
//! intents (payins) and payouts (created, read back, and listed by idempotency key), minor-unit amounts, Bearer key plus `X-WS-Secret`,
//! `Idempotency-Key` on writes, an optional rate limit, and `X-WS-Signature` webhooks. The
//! seed gives no paths, error body or webhook shape; the choices are in each module's docs.

pub mod error;
pub mod events;
pub mod idempotency;
pub mod input;
pub mod intents;
pub mod list;
pub mod merchant;
pub mod payouts;
pub mod routes;
pub mod state;

pub use routes::{PREFIX, router};
pub use state::State;
