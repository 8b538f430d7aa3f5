//! The sandbox clock: the time objects are stamped with and progress by.
//!
//! It runs `speed` times faster than real time (0 stops it) and jumps forward on
//! `POST /__sandbox/advance`. Signature windows and `GET /time` deliberately do not use
//! it: they use the machine's clock, so advancing the sandbox never makes a correctly signed
//! request stale.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// A clock that can be sped up, stopped and advanced.
#[derive(Debug)]
pub struct Clock {
    inner: Mutex<Anchor>,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    real: Instant,
    sandbox: DateTime<Utc>,
    speed: u32,
}

impl Clock {
    /// A clock starting at the current real time, running at `speed`.
    pub fn new(speed: u32) -> Self {
        Clock {
            inner: Mutex::new(Anchor {
                real: Instant::now(),
                sandbox: Utc::now(),
                speed,
            }),
        }
    }

    /// The current sandbox time.
    pub fn now(&self) -> DateTime<Utc> {
        let anchor = *self.lock();
        anchor.now()
    }

    /// Moves the sandbox time forward by `by`; returns the new time.
    pub fn advance(&self, by: Duration) -> DateTime<Utc> {
        let mut anchor = self.lock();
        let now = anchor.now() + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        *anchor = Anchor {
            real: Instant::now(),
            sandbox: now,
            speed: anchor.speed,
        };
        now
    }

    /// The speed factor.
    pub fn speed(&self) -> u32 {
        self.lock().speed
    }

    /// Real time as unix seconds, for signature windows and `GET /time`.
    pub fn wall_unix() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Anchor> {
        // A poisoned clock still holds a valid anchor: it is plain data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Anchor {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = self.real.elapsed().saturating_mul(self.speed);
        self.sandbox + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX)
    }
}

/// `d` as a chrono duration, saturating.
pub fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopped_clock_moves_only_when_advanced() {
        let clock = Clock::new(0);
        let t0 = clock.now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), t0);
        let t1 = clock.advance(Duration::from_secs(90));
        assert_eq!(t1 - t0, chrono::Duration::seconds(90));
        assert_eq!(clock.now(), t1);
        assert_eq!(clock.speed(), 0);
    }

    #[test]
    fn fast_clock_runs_ahead_of_real_time() {
        let clock = Clock::new(1000);
        let t0 = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now() - t0 >= chrono::Duration::seconds(10));
    }
}
