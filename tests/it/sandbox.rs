//! The provider sandbox (issue 3), driven over HTTP on 127.0.0.1 with reqwest: every
//! endpoint of the four providers, their auth checks and shapes against the seed examples,
//! state progression on an advanced clock, the ledger, webhooks and each fault kind.

mod auth;
mod checkouts;
mod faults;
mod hooks;
mod support;
mod webhooks;
mod whalestack;
mod white;
mod whitepay;
mod whitestones;
