//! Where adapters read the time from, so tests can fix it.
//!
//! Only wall-clock questions go through here (Whalestack's Digest timestamp, quote expiry,
//! HTTP-date `Retry-After`). Waiting uses tokio time, which tests pause and advance.

use std::fmt;

use chrono::{DateTime, Utc};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
