//! The White Payments emulation, under `/white` (seed 001): charges, customers, refunds and
//! tokens; form-encoded bodies, HTTP Basic with the secret key as user name, minor-unit
//! integer amounts, and the documented error object (types request, banking,
//! authentication, processing). Creating a charge, customer, refund or token answers
//! 201 Created (the seed's status list); reads and captures answer 200. White has no
//! webhooks: clients poll `GET /charges/{id}`.

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
