//! `sluice retry RUN --failed`: redrive. Failed steps and items go back to pending and the
//! run continues; every success is kept and nothing that succeeded is sent again.

use std::process::ExitCode;

use anyhow::Result;

use super::operator::Who;
use super::resume::{self, ResumeArgs};
use crate::store::{ActionKind, OperatorAction};

/// Re-run only what failed, keeping every success (redrive).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice retry run_0193f0c2a1b4e5d6c7b8a9f0 --failed
  sluice retry run_0193f0c2a1b4e5d6c7b8a9f0 --failed --step pay")]
pub struct RetryArgs {
    /// Only this step's failed items.
    #[arg(long, value_name = "STEP")]
    pub step: Option<String>,
    /// Re-run the failed steps and items (the only mode; required so the intent is explicit).
    #[arg(long, required = true)]
    pub failed: bool,
    #[command(flatten)]
    pub who: Who,
    #[command(flatten)]
    pub resume: ResumeArgs,
}

/// Runs `retry`.
///
/// # Errors
/// As `resume`.
pub async fn run(args: &RetryArgs) -> Result<ExitCode> {
    let store = args.resume.db.open().await?;
    let record = store
        .apply_operator_action(&OperatorAction {
            run_id: args.resume.run_id.clone(),
            step_id: args.step.clone(),
            item_key: None,
            kind: ActionKind::Retry,
            actor: args.who.actor(),
            reason: args.who.reason.clone(),
        })
        .await?;
    println!("{} failed step runs back to pending", record.steps_changed);
    drop(store);
    resume::run(&args.resume).await
}
