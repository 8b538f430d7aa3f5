//! The `plan` part: `sluice plan` of a generated payroll at 10k and 100k rows, as a reviewer
//! runs it (the text) and as CI keeps it for `sluice run --plan` (with `--out plan.json`):
//! the median wall time, the peak RSS of the `sluice` process, and the plan file's size. A
//! plan that does not succeed, whose output lacks its hash, or whose file does not read
//! back (format, hash and kept requests checked) with every row is a failed measurement.

use std::path::Path;

use serde::Serialize;

use crate::data::Payroll;
use crate::e2e::{Cli, WORKFLOW};

/// One `sluice plan` measurement.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRun {
    /// Payroll rows.
    pub rows: usize,
    /// Whether the plan file was written (`--out plan.json`).
    pub out: bool,
    /// Median wall time; none when the measurement failed.
    pub wall_s: Option<f64>,
    /// Peak RSS of the `sluice` process.
    pub peak_rss_mib: Option<f64>,
    /// The plan file, in MB (10^6 bytes).
    pub file_mb: Option<f64>,
    /// The plan hash, or why the measurement failed.
    pub note: String,
}

impl PlanRun {
    /// `plan 100000 rows --out plan.json`.
    pub fn name(&self) -> String {
        format!(
            "plan {} rows{}",
            self.rows,
            if self.out { " --out plan.json" } else { "" }
        )
    }
}

impl Cli<'_> {
    /// `sluice plan` of `payroll`, `repeat` times, with `--out` when `out`.
    pub fn plan(&self, payroll: &Payroll, out: bool, repeat: usize) -> PlanRun {
        let file = self.work.join(format!("plan-{}.json", payroll.rows));
        let mut args = vec![
            "plan".to_string(),
            WORKFLOW.to_string(),
            "--input".into(),
            format!("payees=@{}", payroll.path.display()),
            "--input".into(),
            format!("budget={}", payroll.total),
        ];
        if out {
            args.extend(["--out".to_string(), file.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut run = PlanRun {
            rows: payroll.rows,
            out,
            wall_s: None,
            peak_rss_mib: None,
            file_mb: None,
            note: String::new(),
        };
        let timed = self.median(&run.name(), &args, None, repeat, |o| {
            let text = String::from_utf8_lossy(&o.stdout);
            text.lines()
                .find_map(|l| l.trim().strip_prefix("plan hash"))
                .map(str::trim)
                .unwrap_or_default()
                .to_string()
        });
        let hashed = timed.note.len() == 64 && timed.note.bytes().all(|b| b.is_ascii_hexdigit());
        run.note = format!("hash {}", timed.note);
        if timed.exit != Some(0) || !hashed {
            run.note = format!("FAILED: exit {:?}, {}", timed.exit, timed.note);
            return run;
        }
        if out {
            match plan_items(&file) {
                Ok(n) if n == payroll.rows => {
                    let bytes = std::fs::metadata(&file).map_or(0, |m| m.len());
                    run.file_mb = Some(bytes as f64 / 1e6);
                }
                Ok(n) => {
                    run.note = format!("FAILED: plan.json has {n} items, not {}", payroll.rows);
                    return run;
                }
                Err(e) => {
                    run.note = format!("FAILED: {e}");
                    return run;
                }
            }
        }
        run.wall_s = timed.wall_s;
        run.peak_rss_mib = timed.peak_rss_mib;
        run
    }
}

/// How many items the plan file at `path` plans for its `for_each` steps, read back as
/// `sluice run --plan` reads it.
fn plan_items(path: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let plan = sluice::review::from_json(&text).map_err(|e| e.to_string())?;
    Ok(plan
        .steps
        .iter()
        .filter(|s| s.for_each.is_some())
        .map(|s| s.items.len())
        .sum())
}
