//! The Whalestack emulation, under `/whalestack/api/v1` (seed 002): customers and
//! beneficiaries, target accounts, wallets and deposit addresses, deposits, checkouts, swaps,
//! transfers, the catalogue and exchange rates, with Digest-Auth and Basic-Auth checked and
//! `X-Webhook-Auth`-signed webhooks. Two-phase swaps and transfers go PENDING_API_COMMIT →
//! PROCESSING → COMPLETED/FAILED; the API has no idempotency keys, so none are invented.

pub mod accounts;
pub mod catalog;
pub mod checkouts;
pub mod customers;
pub mod deposits;
pub mod error;
pub mod input;
pub mod misc;
pub mod routes;
pub mod state;
pub mod swaps;
pub mod transfers;
pub mod wallets;

pub use routes::{PREFIX, router};
pub use state::State;
