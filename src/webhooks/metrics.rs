//! Prometheus text for `/metrics`: webhook intake counters kept by this process, and gauges
//! of runs by status and of the steps of unfinished runs by state, read from the store at
//! scrape time (so they include runs other processes execute).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::store::{RunFilter, RunStatus, StepState, Store, StoreError};

/// What happened to a delivery, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Counted {
    /// Stored as a new event.
    Received,
    /// Already stored; nothing changed.
    Duplicate,
    /// Refused (the reason is the label).
    Rejected(&'static str),
    /// A waiting step woken.
    Woken,
}

/// Intake counters by provider block. Only names of registered blocks become labels (an
/// unknown name counts under `""`), so requests cannot grow the label set.
#[derive(Debug, Default)]
pub struct Metrics {
    counts: Mutex<BTreeMap<(String, Counted), u64>>,
}

impl Metrics {
    /// Counts `n` of `what` for `provider`.
    pub fn add(&self, provider: &str, what: Counted, n: u64) {
        // Counters stay consistent even if a holder panicked.
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry((provider.to_string(), what)).or_default() += n;
    }

    /// The count of `what` for `provider` so far.
    pub fn get(&self, provider: &str, what: Counted) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .get(&(provider.to_string(), what))
            .copied()
            .unwrap_or(0)
    }

    /// The exposition text: counters, then gauges read from `store`.
    ///
    /// # Errors
    /// The store's error when the gauges cannot be read.
    pub async fn render(&self, store: &dyn Store) -> Result<String, StoreError> {
        let mut text = String::new();
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (name, help, pick) in COUNTERS {
            header(&mut text, name, help, "counter");
            for ((provider, what), n) in &counts {
                if let Some(reason) = pick(*what) {
                    let mut labels = vec![("provider", provider.as_str())];
                    if !reason.is_empty() {
                        labels.push(("reason", reason));
                    }
                    sample(&mut text, name, &labels, *n);
                }
            }
        }

        let runs = store.list_runs(&RunFilter::default()).await?;
        header(&mut text, "sluice_runs", "Runs by status.", "gauge");
        for status in RunStatus::ALL {
            let n = runs.iter().filter(|r| r.status == status).count() as u64;
            sample(&mut text, "sluice_runs", &[("status", status.as_str())], n);
        }
        let mut steps: BTreeMap<StepState, u64> = BTreeMap::new();
        for run in runs.iter().filter(|r| !r.status.is_finished()) {
            for c in store.count_steps(&run.id).await? {
                *steps.entry(c.state).or_default() += c.count;
            }
        }
        header(
            &mut text,
            "sluice_steps",
            "Steps and items of unfinished runs by state.",
            "gauge",
        );
        for state in StepState::ALL {
            let n = steps.get(&state).copied().unwrap_or(0);
            sample(&mut text, "sluice_steps", &[("state", state.as_str())], n);
        }
        Ok(text)
    }
}

type Pick = fn(Counted) -> Option<&'static str>;

/// Counter name, help, and which counts it shows (with the `reason` label, if any).
const COUNTERS: [(&str, &str, Pick); 4] = [
    (
        "sluice_webhook_events_received_total",
        "Webhook events verified and stored.",
        |c| (c == Counted::Received).then_some(""),
    ),
    (
        "sluice_webhook_events_duplicate_total",
        "Webhook deliveries of an event already stored (nothing changed).",
        |c| (c == Counted::Duplicate).then_some(""),
    ),
    (
        "sluice_webhook_events_rejected_total",
        "Webhook deliveries refused, by reason.",
        |c| match c {
            Counted::Rejected(reason) => Some(reason),
            _ => None,
        },
    ),
    (
        "sluice_webhook_steps_woken_total",
        "Waiting steps woken by webhook events.",
        |c| (c == Counted::Woken).then_some(""),
    ),
];

fn header(text: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(text: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    let labels: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    let _ = writeln!(text, "{name}{{{}}} {value}", labels.join(","));
}

/// A label value as the exposition format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SqliteConfig, SqliteStore};

    #[tokio::test]
    async fn renders_counters_with_labels_and_gauges_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(SqliteConfig::new(dir.path().join("m.db")))
            .await
            .unwrap();
        let metrics = Metrics::default();
        metrics.add("ws", Counted::Received, 2);
        metrics.add("ws", Counted::Duplicate, 1);
        metrics.add("ws", Counted::Rejected("signature"), 3);
        metrics.add("", Counted::Rejected("unknown_provider"), 1);
        assert_eq!(metrics.get("ws", Counted::Received), 2);
        let text = metrics.render(&store).await.unwrap();
        for line in [
            "# TYPE sluice_webhook_events_received_total counter",
            "sluice_webhook_events_received_total{provider=\"ws\"} 2",
            "sluice_webhook_events_duplicate_total{provider=\"ws\"} 1",
            "sluice_webhook_events_rejected_total{provider=\"ws\",reason=\"signature\"} 3",
            "sluice_webhook_events_rejected_total{provider=\"\",reason=\"unknown_provider\"} 1",
            "# TYPE sluice_runs gauge",
            "sluice_runs{status=\"running\"} 0",
            "sluice_steps{state=\"waiting\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
