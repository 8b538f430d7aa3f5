//! `sluice prune`: deletes finished runs older than a date, keeping an audit row per payment
//! when asked (README, *Sensitive data*).

use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use super::common::DbArgs;
use super::exit;
use crate::store::{Prune, Pruned};

/// Delete finished runs older than a date.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice prune --finished-before 2025-01-01
  sluice prune --finished-before 2025-01-01T00:00:00Z --keep-audit --db postgres://sluice@db/sluice

Deletes every run that succeeded, failed or was cancelled before the date, with its steps,
attempts, inputs, operator actions and matched webhook events. A run that is pending, running,
waiting or needs attention is never touched. `--keep-audit` first keeps one row per payment
(step run that went to a provider) in `payment_audit`: its key, amount, asset, provider id,
final state and the operator actions on it.")]
pub struct PruneArgs {
    /// Runs finished before this date (`2025-01-01`, midnight UTC) or instant (RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_instant)]
    pub finished_before: DateTime<Utc>,
    /// Keep an audit row per payment of the deleted runs.
    #[arg(long)]
    pub keep_audit: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

/// A date (midnight UTC) or an RFC 3339 instant.
pub(super) fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("`{text}` is not a date (`2025-01-01`) or an RFC 3339 instant"))
}

/// Runs `prune`.
///
/// # Errors
/// A store failure.
pub async fn run(args: &PruneArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    let pruned = store
        .prune_runs(&Prune {
            finished_before: args.finished_before,
            keep_audit: args.keep_audit,
        })
        .await?;
    println!("{}", summary(&pruned));
    Ok(exit::code(exit::SUCCESS))
}

/// `pruned 3 runs (12 audit rows kept)`.
pub(super) fn summary(pruned: &Pruned) -> String {
    let runs = match pruned.runs {
        1 => "1 run".to_owned(),
        n => format!("{n} runs"),
    };
    match pruned.audited {
        0 => format!("pruned {runs}"),
        n => format!("pruned {runs} ({n} audit rows kept)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants_are_read_as_utc() {
        assert_eq!(
            parse_instant("2025-01-01").unwrap().to_rfc3339(),
            "2025-01-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_instant("2025-01-01T02:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2025-01-01T00:00:00+00:00"
        );
        assert!(parse_instant("last year").is_err());
        assert_eq!(
            summary(&Pruned {
                runs: 1,
                audited: 0
            }),
            "pruned 1 run"
        );
        assert_eq!(
            summary(&Pruned {
                runs: 3,
                audited: 12
            }),
            "pruned 3 runs (12 audit rows kept)"
        );
    }
}
