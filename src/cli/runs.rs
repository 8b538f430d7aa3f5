//! `sluice runs`: lists runs, newest first.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::common::DbArgs;
use super::exit;
use crate::store::{RunFilter, RunStatus};

/// List runs, newest first.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice runs
  sluice runs --workflow payroll --status failed")]
pub struct RunsArgs {
    /// Only runs of this workflow.
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,
    /// Only runs in this status (pending, running, waiting, succeeded, failed, needs_attention, cancelled).
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs `runs`.
///
/// # Errors
/// An unknown status or a store failure.
pub async fn run(args: &RunsArgs) -> Result<ExitCode> {
    let statuses = args
        .status
        .iter()
        .map(|s| {
            s.parse::<RunStatus>()
                .with_context(|| format!("unknown status `{s}`"))
        })
        .collect::<Result<Vec<_>>>()?;
    let store = args.db.open().await?;
    let runs = store
        .list_runs(&RunFilter {
            workflow: args.workflow.clone(),
            statuses,
            limit: Some(args.limit),
            ..RunFilter::default()
        })
        .await?;
    let mut out = format!(
        "{:<38} {:<24} {:<16} {:<26} {}\n",
        "RUN", "WORKFLOW", "STATUS", "STARTED", "BY"
    );
    for r in runs {
        out.push_str(&format!(
            "{:<38} {:<24} {:<16} {:<26} {}\n",
            r.id,
            r.workflow_name,
            r.status.as_str(),
            r.created_at.to_rfc3339(),
            r.started_by.as_deref().unwrap_or("-")
        ));
    }
    super::print_stdout(&out);
    Ok(exit::code(exit::SUCCESS))
}
