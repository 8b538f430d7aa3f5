//! A small generic API under `/http`, for `kind: http` blocks (README, *Any HTTP API*):
//! an echo, objects created once per idempotency key and read back by id or reference,
//! and the same routes made to fail a given number of times or to lose their answers.
//! Its objects are its ledger: tests count them to prove each write landed exactly once.

pub mod routes;
pub mod state;

pub use routes::{PREFIX, router};
pub use state::State;
