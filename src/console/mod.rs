//! The operator console: server-rendered pages for the people who run payments — the
//! needs-attention inbox with the evidence to decide each item in doubt, runs and their DAG,
//! batch items a page at a time, schedules, webhook events and workers — kept live with
//! server-sent events, behind users, roles and CSRF tokens.
//!
//! A services module like [`webhooks`](crate::webhooks): it reads the [`store`](crate::store)
//! and takes decisions through the same store calls as the CLI (so the never-twice rules are
//! the store's and the engine's, never the page's); it never runs a workflow itself — the
//! `serve` worker continues the runs a decision makes runnable, and *resume* hands a run to
//! the [`Runner`] its process gave it. [`runtime`](crate::runtime)
//! serves it beside the webhook receiver; `sluice console` serves it alone.

mod access;
mod actions;
mod assets;
mod error;
mod layout;
mod live;
mod pages;
mod router;
mod runner;
mod session;
mod state;
pub mod users;

pub use access::{Access, TrustedProxy};
pub use router::app;
pub use runner::{Runner, RunnerError};
pub use state::{Console, Scheduled};
pub use users::{Role, Users, UsersError, hash_password};
