//! Repeated identical warnings, folded into one line: with ten thousand items failing the
//! same way, the log says "401 from `ws` × 1,234 in the last 10 s" instead of 1,234 lines.
//!
//! The first warning of a kind is logged at once; the same kind within [`WINDOW`] after it is
//! only counted, and the count is logged when the next one after the window arrives, or when
//! the provider block's transport is dropped at the end of the run.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long repeats of one kind are counted before they are reported.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);

/// The warnings of one provider block, by kind.
#[derive(Debug, Default)]
pub(crate) struct Folded {
    kinds: Mutex<HashMap<String, Window>>,
}

#[derive(Debug)]
struct Window {
    opened: Instant,
    repeats: u64,
}

impl Folded {
    /// Whether a warning of `kind` is to be logged in full now. When a window of repeats
    /// closes with it, their count is logged first.
    pub(crate) fn first(&self, kind: &str) -> bool {
        let mut kinds = self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        match kinds.get_mut(kind) {
            Some(w) if now.duration_since(w.opened) < WINDOW => {
                w.repeats += 1;
                false
            }
            Some(w) => {
                report(kind, w);
                *w = Window {
                    opened: now,
                    repeats: 0,
                };
                true
            }
            None => {
                kinds.insert(
                    kind.to_owned(),
                    Window {
                        opened: now,
                        repeats: 0,
                    },
                );
                true
            }
        }
    }
}

impl Drop for Folded {
    fn drop(&mut self) {
        let kinds = self
            .kinds
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (kind, w) in kinds.iter() {
            report(kind, w);
        }
    }
}

fn report(kind: &str, w: &Window) {
    if w.repeats > 0 {
        let seconds = w.opened.elapsed().as_secs().min(WINDOW.as_secs()).max(1);
        tracing::warn!(
            "{kind} × {} more in the last {seconds} s",
            thousands(w.repeats)
        );
    }
}

/// `1234` as `1,234`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_within_the_window_are_counted_not_logged() {
        let folded = Folded::default();
        assert!(folded.first("401 from `ws`"));
        assert!(!folded.first("401 from `ws`"));
        assert!(!folded.first("401 from `ws`"));
        assert!(folded.first("503 from `ws`"));
        let kinds = folded.kinds.lock().unwrap();
        assert_eq!(kinds["401 from `ws`"].repeats, 2);
    }

    #[test]
    fn counts_read_with_thousands_separators() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
