//! The retry policy of a step: how many attempts, and how long to wait between them.
//!
//! Only failures classified retryable are retried; rejected and in-doubt writes never are
//! (README, *Providers*; ARCHITECTURE.md, *Never twice*). A provider's `Retry-After` wins over the computed wait.

use std::time::Duration;

use crate::spec::{Backoff, RetryConfig};

/// A resolved retry policy: the step's own settings over `defaults.retry` over these
/// defaults (5 attempts, exponential from 1s to 1m, with jitter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// How the wait grows.
    pub backoff: Backoff,
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Whether waits are randomised.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            backoff: Backoff::Exponential,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The policy for a step: its `retry` fields first, then `defaults.retry`, then the
    /// built-in defaults, field by field.
    pub fn resolve(step: Option<&RetryConfig>, defaults: Option<&RetryConfig>) -> Self {
        let base = RetryPolicy::default();
        let pick =
            |f: fn(&RetryConfig) -> Option<u32>| step.and_then(f).or_else(|| defaults.and_then(f));
        let pick_dur = |f: fn(&RetryConfig) -> Option<crate::spec::HumanDuration>| {
            step.and_then(f)
                .or_else(|| defaults.and_then(f))
                .map(|d| d.get())
        };
        RetryPolicy {
            max_attempts: pick(|r| r.max_attempts).unwrap_or(base.max_attempts).max(1),
            backoff: step
                .and_then(|r| r.backoff)
                .or_else(|| defaults.and_then(|r| r.backoff))
                .unwrap_or(base.backoff),
            initial: pick_dur(|r| r.initial).unwrap_or(base.initial),
            max: pick_dur(|r| r.max).unwrap_or(base.max),
            jitter: step
                .and_then(|r| r.jitter)
                .or_else(|| defaults.and_then(|r| r.jitter))
                .unwrap_or(base.jitter),
        }
    }

    /// The wait before attempt `attempt + 1`, after `attempt` (1-based) failed; None when
    /// no attempt is left. A provider's `Retry-After` wins when it is longer.
    pub fn wait_after(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        self.wait_with_jitter(attempt, retry_after, rand::random())
    }

    /// [`wait_after`](Self::wait_after) with the jitter drawn as `jitter_unit` in `[0, 1)`: a
    /// uniform wait between half the computed wait and all of it, so tests can fix it.
    pub fn wait_with_jitter(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        jitter_unit: f64,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let computed = match self.backoff {
            Backoff::Fixed => self.initial,
            Backoff::Exponential => {
                let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
                self.initial.saturating_mul(factor)
            }
        }
        .min(self.max);
        let wait = if self.jitter {
            computed.mul_f64(0.5 + 0.5 * jitter_unit.clamp(0.0, 1.0))
        } else {
            computed
        };
        Some(retry_after.map_or(wait, |ra| ra.max(wait)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_attempts: Option<u32>, initial: Option<&str>) -> RetryConfig {
        RetryConfig {
            max_attempts,
            backoff: None,
            initial: initial.map(|i| i.parse().unwrap()),
            max: None,
            jitter: Some(false),
        }
    }

    #[test]
    fn step_settings_override_defaults_field_by_field() {
        let step = config(Some(2), None);
        let defaults = config(Some(9), Some("200ms"));
        let p = RetryPolicy::resolve(Some(&step), Some(&defaults));
        assert_eq!(p.max_attempts, 2);
        assert_eq!(p.initial, Duration::from_millis(200));
        assert_eq!(p.max, Duration::from_secs(60));
        assert!(!p.jitter);
        assert_eq!(RetryPolicy::resolve(None, None), RetryPolicy::default());
    }

    #[test]
    fn exponential_waits_are_capped_and_stop_after_the_last_attempt() {
        let p = RetryPolicy {
            jitter: false,
            max: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let waits: Vec<_> = (1..=5).map(|a| p.wait_with_jitter(a, None, 0.0)).collect();
        assert_eq!(
            waits,
            vec![
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(4)),
                Some(Duration::from_secs(5)),
                None
            ]
        );
        assert_eq!(
            p.wait_with_jitter(1, Some(Duration::from_secs(30)), 0.0),
            Some(Duration::from_secs(30))
        );
        let jittered = RetryPolicy::default();
        assert_eq!(
            jittered.wait_with_jitter(1, None, 0.0),
            Some(Duration::from_millis(500))
        );
        let high = jittered.wait_with_jitter(1, None, 0.999).unwrap();
        assert!(high > Duration::from_millis(990) && high <= Duration::from_secs(1));
    }
}
