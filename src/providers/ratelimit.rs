//! The per-provider request budget: `rate_limit` (requests per second), `max_in_flight`, and
//! the pause a `429 Too Many Requests` imposes.
//!
//! One [`Limiter`] belongs to one provider instance, which every step and item using the
//! provider block shares, so the limits hold for the whole run. Requests are spaced evenly,
//! `1/rate_limit` seconds apart (no bursts: providers count per second and a burst is what
//! earns a 429). A 429 pauses every caller of the provider until its `Retry-After` has
//! passed. All waiting is on tokio time, so tests pause and advance it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Shared request budget of one provider.
#[derive(Debug)]
pub struct Limiter {
    interval: Option<Duration>,
    in_flight: Option<Arc<Semaphore>>,
    state: Mutex<Slots>,
}

#[derive(Debug, Default)]
struct Slots {
    /// The earliest instant the next request may start.
    next: Option<Instant>,
    /// No request starts before this instant (set by a 429).
    paused_until: Option<Instant>,
}

/// Held while a request is in flight; dropping it frees the slot.
#[derive(Debug)]
pub struct Permit {
    _slot: Option<OwnedSemaphorePermit>,
}

impl Limiter {
    /// A limiter allowing `rate_per_second` request starts per second and `max_in_flight`
    /// concurrent requests; `None` (or 0) means unlimited.
    pub fn new(rate_per_second: Option<u32>, max_in_flight: Option<u32>) -> Self {
        Limiter {
            interval: rate_per_second
                .filter(|r| *r > 0)
                .map(|r| Duration::from_secs(1) / r),
            in_flight: max_in_flight
                .filter(|m| *m > 0)
                .map(|m| Arc::new(Semaphore::new(m as usize))),
            state: Mutex::new(Slots::default()),
        }
    }

    /// Waits for an in-flight slot, then for the request's turn.
    pub async fn acquire(&self) -> Permit {
        let slot = match &self.in_flight {
            // The semaphore is never closed, so acquiring cannot fail.
            Some(s) => Some(
                Arc::clone(s)
                    .acquire_owned()
                    .await
                    .unwrap_or_else(|_| unreachable!("the semaphore is never closed")),
            ),
            None => None,
        };
        loop {
            let wait = self.claim(Instant::now());
            match wait {
                Some(until) => tokio::time::sleep_until(until).await,
                None => break,
            }
        }
        Permit { _slot: slot }
    }

    /// Claims the next start slot at `now`, or says until when to wait.
    fn claim(&self, now: Instant) -> Option<Instant> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = s.paused_until.filter(|p| *p > now) {
            return Some(p);
        }
        let interval = self.interval?;
        let next = s.next.map_or(now, |n| n.max(now));
        if next > now {
            return Some(next);
        }
        s.next = Some(now + interval);
        None
    }

    /// Stops every caller from starting a request for `delay` (a 429's `Retry-After`).
    /// A longer pause already in place is kept.
    pub fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.paused_until.is_none_or(|p| p < until) {
            s.paused_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_evenly() {
        let l = Limiter::new(Some(4), None);
        let start = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..5 {
            let _p = l.acquire().await;
            starts.push(Instant::now() - start);
        }
        let ms: Vec<u128> = starts.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![0, 250, 500, 750, 1000]);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits_and_pause_stops_everyone() {
        let l = Limiter::new(None, None);
        let start = Instant::now();
        for _ in 0..100 {
            let _p = l.acquire().await;
        }
        assert_eq!(Instant::now(), start);
        l.pause_for(Duration::from_secs(3));
        l.pause_for(Duration::from_secs(1));
        let _p = l.acquire().await;
        assert_eq!(Instant::now() - start, Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_slots_are_released_on_drop() {
        let l = Arc::new(Limiter::new(None, Some(2)));
        let a = l.acquire().await;
        let _b = l.acquire().await;
        let l2 = Arc::clone(&l);
        let third = tokio::spawn(async move {
            let _c = l2.acquire().await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!third.is_finished());
        let released = Instant::now();
        drop(a);
        assert_eq!(third.await.unwrap(), released);
    }
}
