//! Notifications: delivering the outbox the store fills when a run changes status
//! (README, *Approvals and notifications*).
//!
//! [`Notifier`] claims due rows, resolves each target's `${VAR}` from this process's
//! environment ([`target`]), sends it ([`webhook`], [`email`]) and records the attempt. `sluice run` and `resume`
//! deliver their run's notifications when the run stops; `serve` delivers everyone's, again
//! and again, so a notification owed by a process that died is delivered by another, and a
//! failing target is retried with backoff and reported, never holding up a run.

pub mod deliver;
pub mod email;
pub mod target;
pub mod webhook;

pub use deliver::{Notifier, Sent};
pub use target::{Target, describe};
