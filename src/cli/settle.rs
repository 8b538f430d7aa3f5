//! `sluice settle RUN`: reads the run's committed payments back from their providers once
//! and records those now settled or failed after commit (what `serve` does continually).

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::common::{DbArgs, build_providers, notify_run};
use super::exit;
use super::payments::{compile_for, load_payments};
use crate::ids::RunId;
use crate::settlement::{PaymentState, track};
use crate::store::Settlement;

/// Learn which of a run's committed payments settled or failed after commit, by reading each
/// back from its provider (read-only at the provider).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice settle run_0193f0c2a1b4e5d6c7b8a9f0

`sluice serve` does this for every recent run every `--settle-every`. A payment failed after
commit is an operator case: `sluice status` lists it and the run's `item_failed_after_commit`
notifications are sent.

Exit status: 0 no payment failed after commit, 1 one did, 2 usage error.")]
pub struct SettleArgs {
    /// The run.
    #[arg(value_name = "RUN")]
    pub run_id: RunId,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs `settle`.
///
/// # Errors
/// An unknown run, an unusable workflow or provider block, a store failure.
pub async fn run(args: &SettleArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    let record = store.load_run(&args.run_id).await?;
    let Some(compiled) = compile_for(&record, None) else {
        return Ok(exit::code(exit::INVALID));
    };
    let providers = build_providers(&compiled.config, None)?;
    let payments = load_payments(&store, &record, &compiled).await?;
    let learned = track(&*store, &payments, &providers)
        .await
        .context("cannot record settlements")?;
    for s in &learned {
        println!(
            "{}  {}{}",
            s.key,
            s.settlement.as_str(),
            s.provider_state
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        );
    }
    let payments = load_payments(&store, &record, &compiled).await?;
    let count = |state: PaymentState| payments.iter().filter(|p| p.state == state).count();
    let (failed, committed) = (
        count(PaymentState::FailedAfterCommit),
        count(PaymentState::Committed),
    );
    println!(
        "run {}: {} newly settled, {} failed after commit, {} still committed",
        record.id,
        learned
            .iter()
            .filter(|s| s.settlement == Settlement::Settled)
            .count(),
        failed,
        committed
    );
    notify_run(store, &record.id).await;
    Ok(exit::code(if failed > 0 {
        exit::FAILED
    } else {
        exit::SUCCESS
    }))
}
