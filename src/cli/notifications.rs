//! `sluice notifications`: what the outbox holds (delivered, pending, given up, and why), and
//! `--deliver` to try the due ones now. Also reads `serve --notify FILE`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::common::DbArgs;
use super::exit;
use crate::engine::prepare::notify_routes;
use crate::engine::{host_name, owner_name};
use crate::ids::RunId;
use crate::notify::{Notifier, describe};
use crate::plan::checks::notify::check_serve_file;
use crate::spec::{ServeNotifyConfig, parse_as};
use crate::store::NotifyRoute;

/// List notifications (newest first), or deliver the due ones first.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice notifications
  sluice notifications --run run_0193f0c2a1b4e5d6c7b8a9f0
  sluice notifications --deliver      # try every due notification once now (serve does this on its own)

A notification is `pending` until its target accepts it, tried again with a growing delay, and
`failed` after 8 attempts; targets are shown as written (`${VAR}`), never resolved, and
never with a secret: no webhook `secret` or `smtp` URL, a webhook URL without user info or query.")]
pub struct NotificationsArgs {
    /// Only this run's.
    #[arg(long = "run", value_name = "RUN")]
    pub run_id: Option<RunId>,
    /// First try every due notification once.
    #[arg(long)]
    pub deliver: bool,
    /// Show the newest N.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: u32,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs `notifications`.
///
/// # Errors
/// A store failure.
pub async fn run(args: &NotificationsArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    if args.deliver {
        let notifier = Notifier::new(store.clone(), owner_name(&host_name()));
        let sent = notifier.deliver_due(args.run_id.as_ref()).await?;
        let failed = sent.iter().filter(|s| s.error.is_some()).count();
        println!("{} tried, {failed} not delivered\n", sent.len());
    }
    let listed = store
        .list_notifications(args.run_id.as_ref(), args.limit)
        .await?;
    let mut out = format!(
        "{:<6} {:<38} {:<16} {:<10} {:<8} {:<32} {}\n",
        "ID", "RUN", "EVENT", "STATE", "ATTEMPTS", "TARGET", "LAST ERROR"
    );
    for n in listed {
        let target = describe(&n.target);
        let owner = n.run_id.as_ref().map_or_else(
            || format!("schedule {}", n.workflow_name),
            ToString::to_string,
        );
        out.push_str(&format!(
            "{:<6} {:<38} {:<16} {:<10} {:<8} {:<32} {}\n",
            n.id,
            owner,
            n.event,
            n.state,
            n.attempts,
            target,
            n.last_error.as_deref().unwrap_or("")
        ));
    }
    super::print_stdout(&out);
    Ok(exit::code(exit::SUCCESS))
}

/// The notify rules of `serve --notify FILE`, as routes, printing the file's problems with
/// their places.
///
/// # Errors
/// The file cannot be read, or has problems (printed to stderr).
pub(super) fn load_rules(path: &Path) -> Result<Vec<NotifyRoute>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{name}`"))?;
    let (source, config) = match parse_as::<ServeNotifyConfig>(&name, &text) {
        Ok(parsed) => parsed,
        Err(failure) => {
            super::report::eprint(&failure.source, &failure.diagnostics);
            anyhow::bail!("`{name}` is not a valid notify file");
        }
    };
    if let Err(diagnostics) = check_serve_file(&source, &config) {
        super::report::eprint(&source, &diagnostics);
        anyhow::bail!("`{name}` is not a valid notify file");
    }
    Ok(notify_routes(&config.notify))
}
