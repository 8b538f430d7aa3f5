//! Transitions that are due at a sandbox time: the queue that moves objects through their
//! states as the clock advances.
//!
//! A timer only names the object; the provider module re-reads the object's state when it
//! fires, so a timer made stale by another change (a checkout paid before it expired) does
//! nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// What becomes due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// A Whalestack checkout with a payment in progress settles.
    CheckoutSettle(String),
    /// A Whalestack checkout still unpaid expires.
    CheckoutExpiry(String),
    /// A Whalestack swap in PROCESSING completes or fails.
    Swap(String),
    /// A Whalestack transfer in PROCESSING completes or fails.
    Transfer(String),
    /// A Whalestack deposit in PENDING_EXTERNAL completes.
    Deposit(String),
    /// A WHITESTONES payment intent in processing succeeds or fails.
    Payment(String),
    /// A WHITESTONES payout in pending completes or fails.
    Payout(String),
    /// A Whitepay conversion moves to its next state.
    Conversion(String),
    /// The sandbox, playing the customer, pays a checkout or payment intent.
    AutoPay(String),
}

/// Timers ordered by due time, then by creation.
#[derive(Debug, Default)]
pub struct Timers {
    queue: BTreeMap<(DateTime<Utc>, u64), Due>,
    seq: u64,
}

impl Timers {
    /// Schedules `due` at `at`.
    pub fn schedule(&mut self, at: DateTime<Utc>, due: Due) {
        self.seq += 1;
        self.queue.insert((at, self.seq), due);
    }

    /// The earliest timer due at or before `now`, removed from the queue.
    pub fn pop_due(&mut self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, Due)> {
        let entry = self.queue.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        let at = entry.key().0;
        Some((at, entry.remove()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_and_only_when_due() {
        let t0 = Utc::now();
        let mut timers = Timers::default();
        timers.schedule(t0 + chrono::Duration::seconds(10), Due::Swap("b".into()));
        timers.schedule(t0 + chrono::Duration::seconds(5), Due::Swap("a".into()));
        timers.schedule(t0 + chrono::Duration::seconds(5), Due::Swap("a2".into()));
        assert_eq!(timers.pop_due(t0), None);
        let later = t0 + chrono::Duration::seconds(6);
        assert_eq!(timers.pop_due(later).unwrap().1, Due::Swap("a".into()));
        assert_eq!(timers.pop_due(later).unwrap().1, Due::Swap("a2".into()));
        assert_eq!(timers.pop_due(later), None);
        let end = t0 + chrono::Duration::seconds(10);
        assert_eq!(timers.pop_due(end).unwrap().1, Due::Swap("b".into()));
    }
}
