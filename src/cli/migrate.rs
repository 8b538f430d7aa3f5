//! `sluice migrate`: brings the checkpoint database's schema up to date, explicitly.
//!
//! Every command migrates the database it opens, so this is for operators who want schema
//! changes applied at a time of their choosing (before starting new workers against a shared
//! Postgres database), and to learn which version a database is at.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::common::DbArgs;
use super::exit;
use crate::store::{display_location, migrate_store};

/// Apply pending schema migrations to the checkpoint database.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice migrate                                        # .sluice/sluice.db
  sluice migrate --db postgres://sluice@db.internal/sluice
  PGPASSWORD=… SLUICE_DB=postgres://sluice@db.internal/sluice sluice migrate

A database written by a newer sluice is refused and left untouched (exit 2).")]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs `migrate`.
///
/// # Errors
/// A database that cannot be reached or opened, belongs to something else, or was written by
/// a newer sluice.
pub async fn run(args: &MigrateArgs) -> Result<ExitCode> {
    let location = args
        .db
        .db
        .to_str()
        .with_context(|| format!("`{}` is not valid UTF-8", args.db.db.display()))?;
    let shown = display_location(location);
    let versions = migrate_store(location)
        .await
        .with_context(|| format!("cannot migrate the checkpoint database `{shown}`"))?;
    let text = if versions.migrated() {
        format!(
            "migrated `{shown}` from schema version {} to {}\n",
            versions.before, versions.after
        )
    } else {
        format!(
            "`{shown}` is at schema version {}, up to date\n",
            versions.after
        )
    };
    super::print_stdout(&text);
    Ok(exit::code(exit::SUCCESS))
}
