//! Operator decisions: `approve`, `deny`, `resolve`, `cancel`, `dismiss`. Each is recorded
//! with who, when and why (`--as`, default `$USER`; `--reason`) and shown by `sluice status`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::common::{DbArgs, notify_run};
use super::exit;
use super::status::approval_progress;
use crate::ids::{ItemKey, RunId, StepId};
use crate::store::{ActionKind, Dismissal, OperatorAction};

/// Who decided and why.
#[derive(Debug, Clone, clap::Args)]
pub struct Who {
    /// Who decides (default `$USER`).
    #[arg(long = "as", value_name = "NAME")]
    pub actor: Option<String>,
    /// Why, in your words; recorded and shown by `sluice status`.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

impl Who {
    /// The deciding operator: `--as`, else `$USER`.
    pub fn actor(&self) -> String {
        operator_name(self.actor.as_deref())
    }
}

/// The operator acting: `given` (`--as`), else `$USER`.
pub fn operator_name(given: Option<&str>) -> String {
    given
        .map(str::to_owned)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Approve a waiting `approval` step.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  sluice approve run_0193f0c2a1b4e5d6c7b8a9f0 sign_off --reason \"checked the totals\" && sluice resume run_0193f0c2a1b4e5d6c7b8a9f0")]
pub struct ApproveArgs {
    /// The run.
    #[arg(value_name = "RUN")]
    pub run_id: RunId,
    /// The approval step.
    #[arg(value_name = "STEP")]
    pub step: StepId,
    #[command(flatten)]
    pub who: Who,
    #[command(flatten)]
    pub users: UsersArg,
    #[command(flatten)]
    pub db: DbArgs,
}

/// The users file, for the groups an approval's `approvers: [@group]` admits.
#[derive(Debug, clap::Args)]
pub struct UsersArg {
    /// The console's users file: the decider's groups in it count for an approval that names
    /// `@group`s among its approvers.
    #[arg(long, value_name = "FILE", env = "SLUICE_CONSOLE_USERS")]
    pub users: Option<PathBuf>,
}

impl UsersArg {
    /// The groups the users file puts `actor` in; none without a file, or for a name it
    /// does not list.
    ///
    /// # Errors
    /// A users file that cannot be read.
    pub fn groups_of(&self, actor: &str) -> Result<Vec<String>> {
        let Some(path) = &self.users else {
            return Ok(Vec::new());
        };
        #[cfg(feature = "console")]
        {
            let users = crate::console::Users::load(path)?;
            Ok(users
                .get(actor)
                .map(|u| u.groups.clone())
                .unwrap_or_default())
        }
        #[cfg(not(feature = "console"))]
        {
            let _ = actor;
            bail!(
                "`--users {}`: this sluice was built without the console feature, which reads users files",
                path.display()
            )
        }
    }
}

/// Deny a waiting `approval` step: it fails, and the run with it.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  sluice deny run_0193f0c2a1b4e5d6c7b8a9f0 sign_off --reason \"two payees are not on the approved list\"")]
pub struct DenyArgs {
    /// The run.
    #[arg(value_name = "RUN")]
    pub run_id: RunId,
    /// The approval step.
    #[arg(value_name = "STEP")]
    pub step: StepId,
    /// Who denies (default `$USER`).
    #[arg(long = "as", value_name = "NAME")]
    pub actor: Option<String>,
    /// Why (required); recorded and shown by `sluice status`.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[command(flatten)]
    pub users: UsersArg,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Decide what happened to a step or item that needs attention (a request in doubt).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice resolve RUN pay[E003] --succeeded 8947deb6a087     # the provider has it: record it as done
  sluice resolve RUN pay[E003] --retry                      # the provider has nothing: send again, same key
  sluice resolve RUN pay[E003] --skip --reason \"paid by hand\"

Then continue with `sluice resume RUN`.")]
#[command(group(clap::ArgGroup::new("decision").required(true).args(["succeeded", "retry", "skip"])))]
pub struct ResolveArgs {
    /// The run.
    #[arg(value_name = "RUN")]
    pub run_id: RunId,
    /// The step, or one item of it: `STEP` or `STEP[ITEM]`.
    #[arg(value_name = "STEP[ITEM]")]
    pub target: String,
    /// It happened: the provider's id of the object you found.
    #[arg(long, value_name = "PROVIDER_ID")]
    pub succeeded: Option<String>,
    /// It did not happen: send it again with the same idempotency key.
    #[arg(long)]
    pub retry: bool,
    /// Skip it (its dependants run unless they use its output); give `--reason`.
    #[arg(long, requires = "reason")]
    pub skip: bool,
    #[command(flatten)]
    pub who: Who,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Cancel a run: pending and waiting steps are cancelled; steps in doubt stay resolvable.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  sluice cancel run_0193f0c2a1b4e5d6c7b8a9f0 --reason \"wrong payroll file\"")]
pub struct CancelArgs {
    /// The run.
    #[arg(value_name = "RUN")]
    pub run_id: RunId,
    #[command(flatten)]
    pub who: Who,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Dismiss an open reconciliation discrepancy (`sluice status RUN` lists each with its id):
/// it was looked into and needs nothing more. The same disagreement found again later is not
/// reopened.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  sluice dismiss run_0193f0c2a1b4e5d6c7b8a9f0 3 --reason \"paid by hand on purpose, see ticket 812\"")]
pub struct DismissArgs {
    /// The run.
    #[arg(value_name = "RUN")]
    pub run_id: RunId,
    /// The discrepancy's id, as `sluice status RUN` shows it (`#3`).
    #[arg(value_name = "ID")]
    pub id: i64,
    /// Who dismisses it (default `$USER`).
    #[arg(long = "as", value_name = "NAME")]
    pub actor: Option<String>,
    /// Why (required); recorded and shown by `sluice status`.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Splits `pay[E003]` into the step and the item.
///
/// # Errors
/// A malformed target.
pub fn parse_target(target: &str) -> Result<(StepId, Option<ItemKey>)> {
    match target.split_once('[') {
        None => Ok((target.into(), None)),
        Some((step, rest)) => match rest.strip_suffix(']') {
            Some(item) if !step.is_empty() && !item.is_empty() => {
                Ok((step.into(), Some(item.into())))
            }
            _ => bail!("`{target}` is not `STEP` or `STEP[ITEM]`"),
        },
    }
}

async fn apply(db: &DbArgs, action: OperatorAction) -> Result<ExitCode> {
    let store = db.open().await?;
    let run_id = action.run_id.clone();
    let kind = action.kind.clone();
    // A refused approval exits 2 with the store's reason (`usage_or_failure`).
    let record = store.apply_operator_action(&action).await?;
    // A cancel or a denial may owe notifications (written with the decision).
    notify_run(store.clone(), &run_id).await;
    println!(
        "{} recorded for run {run_id} ({} step runs changed)",
        kind, record.steps_changed
    );
    match kind {
        ActionKind::Cancel | ActionKind::Deny => {}
        ActionKind::Approve if record.steps_changed == 0 => {
            let run = store.load_run(&run_id).await?;
            let steps = store.load_steps(&run_id).await?;
            let waiting = steps
                .iter()
                .filter(|s| Some(&s.key.step_id) == action.step_id.as_ref())
                .find_map(|s| approval_progress(&run, s));
            if let Some(progress) = waiting {
                println!("still waiting: {progress}");
            }
        }
        _ => println!("continue with: sluice resume {run_id}"),
    }
    Ok(exit::code(exit::SUCCESS))
}

/// Runs `approve`.
///
/// # Errors
/// An unknown run or step, or a step that is not waiting.
pub async fn approve(args: &ApproveArgs) -> Result<ExitCode> {
    apply(
        &args.db,
        OperatorAction {
            run_id: args.run_id.clone(),
            step_id: Some(args.step.clone()),
            item_key: None,
            kind: ActionKind::Approve,
            actor: args.who.actor(),
            reason: args.who.reason.clone(),
            groups: args.users.groups_of(&args.who.actor())?,
        },
    )
    .await
}

/// Runs `deny`.
///
/// # Errors
/// An unknown run or step, or a step that is not waiting.
pub async fn deny(args: &DenyArgs) -> Result<ExitCode> {
    apply(
        &args.db,
        OperatorAction {
            run_id: args.run_id.clone(),
            step_id: Some(args.step.clone()),
            item_key: None,
            kind: ActionKind::Deny,
            actor: operator_name(args.actor.as_deref()),
            reason: Some(args.reason.clone()),
            groups: args
                .users
                .groups_of(&operator_name(args.actor.as_deref()))?,
        },
    )
    .await
}

/// Runs `resolve`.
///
/// # Errors
/// A malformed target, an unknown run or step, or one that does not need attention.
pub async fn resolve(args: &ResolveArgs) -> Result<ExitCode> {
    let (step, item) = parse_target(&args.target)?;
    let kind = match (&args.succeeded, args.retry, args.skip) {
        (Some(id), _, _) => ActionKind::ResolveSucceeded {
            provider_ref: id.clone(),
        },
        (None, true, _) => ActionKind::ResolveRetry,
        _ => ActionKind::ResolveSkip,
    };
    apply(
        &args.db,
        OperatorAction {
            run_id: args.run_id.clone(),
            step_id: Some(step),
            item_key: item,
            kind,
            actor: args.who.actor(),
            reason: args.who.reason.clone(),
            groups: Vec::new(),
        },
    )
    .await
}

/// Runs `cancel`.
///
/// # Errors
/// An unknown run.
pub async fn cancel(args: &CancelArgs) -> Result<ExitCode> {
    apply(
        &args.db,
        OperatorAction {
            run_id: args.run_id.clone(),
            step_id: None,
            item_key: None,
            kind: ActionKind::Cancel,
            actor: args.who.actor(),
            reason: args.who.reason.clone(),
            groups: Vec::new(),
        },
    )
    .await
}

/// Runs `dismiss`.
///
/// # Errors
/// An empty reason, or a discrepancy the run has not open (unknown, cleared or dismissed).
pub async fn dismiss(args: &DismissArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    let dismissal = Dismissal {
        run_id: args.run_id.clone(),
        id: args.id,
        actor: operator_name(args.actor.as_deref()),
        reason: args.reason.clone(),
    };
    let record = store.dismiss_discrepancy(&dismissal).await?;
    let action = &record.action;
    println!(
        "dismiss_discrepancy recorded for run {}: discrepancy {} of {}[{}] dismissed by {}",
        args.run_id,
        args.id,
        action.step_id.as_ref().map_or("", |s| s.as_str()),
        action.item_key.as_ref().map_or("", |i| i.as_str()),
        action.actor
    );
    Ok(exit::code(exit::SUCCESS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_a_step_or_an_item() {
        assert_eq!(parse_target("pay").unwrap(), ("pay".into(), None));
        assert_eq!(
            parse_target("pay[E003]").unwrap(),
            ("pay".into(), Some("E003".into()))
        );
        assert!(parse_target("pay[").is_err());
        assert!(parse_target("[x]").is_err());
    }
}
