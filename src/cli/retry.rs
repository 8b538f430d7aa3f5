//! `sluice retry RUN --failed`: redrive. Failed steps and items go back to pending and the
//! run continues; every success is kept and nothing that succeeded is sent again. A failed
//! write whose provider object is known (a checkpoint or an id was recorded) may have moved
//! money after all: it is looked up at the provider before anything is sent again, and
//! recorded as succeeded if it is found.

use std::process::ExitCode;

use anyhow::Result;

use super::operator::Who;
use super::resume::{self, ResumeArgs};
use crate::ids::StepId;
use crate::store::{ActionKind, OperatorAction};

/// Re-run only what failed, keeping every success (redrive).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice retry run_0193f0c2a1b4e5d6c7b8a9f0 --failed
  sluice retry run_0193f0c2a1b4e5d6c7b8a9f0 --failed --step pay")]
pub struct RetryArgs {
    /// Only this step's failed items.
    #[arg(long, value_name = "STEP")]
    pub step: Option<StepId>,
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
            groups: Vec::new(),
        })
        .await?;
    println!(
        "{} failed step runs sent back; those whose provider object is known are looked up \
         there before anything is sent again",
        record.steps_changed
    );
    drop(store);
    resume::run(&args.resume).await
}
