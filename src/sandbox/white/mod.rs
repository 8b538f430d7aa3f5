//! The White Payments emulation, under `/white` (seed 001): charges, customers, refunds and
//! tokens; form-encoded bodies, HTTP Basic with the secret key as user name, minor-unit
//! integer amounts, and the documented error object (types request, banking,
//! authentication, processing). White has no webhooks: clients poll `GET /charges/{id}`.

pub mod cards;
pub mod charges;
pub mod customers;
pub mod error;
pub mod form;
pub mod refunds;
pub mod routes;
pub mod state;

pub use routes::{PREFIX, router};
pub use state::State;
