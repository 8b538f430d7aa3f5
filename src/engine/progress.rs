//! Progress of a `for_each` batch: a bar on a terminal, one summary line otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// Progress of one step's items.
pub struct Progress {
    bar: Option<ProgressBar>,
    step: String,
    total: u64,
}

impl Progress {
    /// A bar for `total` items of `step`, drawn only when `enabled` and stderr is a terminal.
    pub fn new(step: &str, total: u64, enabled: bool) -> Self {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {rate} eta {eta}")
                    .expect("the template is valid")
                    .with_key(
                        "rate",
                        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                            // Whole items a second: `198/s`, not indicatif's `198.3698/s`.
                            let _ = write!(w, "{:.0}/s", state.per_sec());
                        },
                    )
                    .progress_chars("=> "),
            );
            bar.set_prefix(step.to_string());
            bar
        });
        Progress {
            bar,
            step: step.to_string(),
            total,
        }
    }

    /// One more item settled.
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// The batch is over.
    pub fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => tracing::info!(step = %self.step, items = self.total, "Batch settled."),
        }
    }
}
