//! `sluice events`: the webhook events received, and `sluice events replay ID` to deliver a
//! stored one to the waiting steps again.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::Result;

use super::common::DbArgs;
use super::exit;
use crate::store::{EventFilter, StoreError};
use crate::webhooks::{ReplayError, replay};

/// List received webhook events (newest last), or redeliver one.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice events
  sluice events --provider ws --unmatched
  sluice events replay 42          # deliver event 42 to the waiting steps again

An event is `matched` to the step it woke or that took it. `(unparseable)` events had a valid
signature but a body that is not an event of their provider.")]
pub struct EventsArgs {
    #[command(subcommand)]
    pub action: Option<EventsAction>,
    /// Only events of this provider block (the name in `/webhooks/<name>`).
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
    /// Only events no step has taken.
    #[arg(long)]
    pub unmatched: bool,
    /// Show the newest N.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: u32,
    #[command(flatten)]
    pub db: DbArgs,
}

/// What to do with events.
#[derive(Debug, clap::Subcommand)]
pub enum EventsAction {
    /// Deliver a stored event to the waiting steps again, as if the provider had resent it.
    ///
    /// For a run stuck waiting for an event that is already here. The await checks it and
    /// reads the object back as for any event.
    Replay(ReplayArgs),
}

/// `sluice events replay ID`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  sluice events replay 42 && sluice resume run_0193f0c2a1b4e5d6c7b8a9f0")]
pub struct ReplayArgs {
    /// The event's id (first column of `sluice events`).
    #[arg(value_name = "ID")]
    pub id: i64,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs `events`.
///
/// # Errors
/// A store failure.
pub async fn run(args: &EventsArgs) -> Result<ExitCode> {
    if let Some(EventsAction::Replay(replay_args)) = &args.action {
        return replay_one(replay_args).await;
    }
    let store = args.db.open().await?;
    let events = store
        .list_events(&EventFilter {
            provider: args.provider.clone(),
            unmatched_only: args.unmatched,
            ..EventFilter::default()
        })
        .await?;
    let skip = events.len().saturating_sub(args.limit as usize);
    let mut out = format!(
        "{:<6} {:<21} {:<12} {:<22} {:<16} {}\n",
        "ID", "RECEIVED", "PROVIDER", "TYPE", "OBJECT", "MATCHED"
    );
    for e in events.iter().skip(skip) {
        out.push_str(&format!(
            "{:<6} {:<21} {:<12} {:<22} {:<16} {}\n",
            e.id,
            e.received_at.format("%Y-%m-%dT%H:%M:%SZ"),
            e.event.provider,
            e.event.event_type,
            e.event.object_id.as_deref().unwrap_or("-"),
            e.matched
                .as_ref()
                .map_or_else(|| "-".into(), ToString::to_string),
        ));
    }
    super::print_stdout(&out);
    Ok(exit::code(exit::SUCCESS))
}

async fn replay_one(args: &ReplayArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    match replay(&*store, args.id).await {
        Ok(replayed) => {
            println!(
                "event {} redelivered as event {}",
                replayed.original, replayed.id
            );
            if replayed.woken.is_empty() {
                println!(
                    "  no waiting step fits it now; a step that starts waiting for it will take it"
                );
            }
            for key in &replayed.woken {
                println!("  woke {key}");
            }
            let runs: BTreeSet<&str> = replayed.woken.iter().map(|k| k.run_id.as_str()).collect();
            for run in runs {
                println!("  a running `sluice serve` continues it; otherwise: sluice resume {run}");
            }
            Ok(exit::code(exit::SUCCESS))
        }
        Err(
            e
            @ (ReplayError::Unparseable(_) | ReplayError::Store(StoreError::EventNotFound { .. })),
        ) => {
            eprintln!("error: {e}");
            Ok(exit::code(exit::INVALID))
        }
        Err(ReplayError::Store(e)) => Err(e.into()),
    }
}
