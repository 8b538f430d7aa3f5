//! `sluice console`: the operator console alone, for one database (`serve` serves it too,
//! beside the webhooks), and `sluice console hash-password` for the users file. The flags
//! that say who may sign in are shared with `serve` ([`AccessArgs`]).

use std::io::BufRead;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::http::HeaderName;
use tokio::sync::watch;

use super::common::DbArgs;
use super::exit;
use super::operator::operator_name;
use super::serve::load_workflow;
use crate::console::{Access, Console, TrustedProxy, Users, app, hash_password};
use crate::engine::{DEFAULT_LEASE_TTL, EngineOptions};
use crate::runtime::Workflows;
use crate::runtime::resume::Resumer;
use crate::scheduler::{Providers, ScheduledWorkflow};
use crate::store::Store;
use crate::webhooks::Providers as WebhookProviders;
use crate::webhooks::{Listening, bind};

/// Where `sluice console` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8790";

/// Who may use the console.
#[derive(Debug, Clone, clap::Args)]
pub struct AccessArgs {
    /// The users file (YAML: `users:` with `name`, `role` viewer|operator|approver,
    /// `password_hash` from `sluice console hash-password`, `groups`). Without one, only a
    /// loopback address is usable, by the local user as an operator.
    #[arg(long, value_name = "FILE", env = "SLUICE_CONSOLE_USERS")]
    pub users: Option<PathBuf>,
    /// The header a trusted reverse proxy names the signed-in user in (e.g.
    /// `X-Forwarded-User`); their role is the users file's, else `viewer`.
    #[arg(long, value_name = "NAME", requires = "trusted_proxy")]
    pub proxy_user_header: Option<String>,
    /// An address of that proxy (repeatable): the header is believed from these only.
    #[arg(long, value_name = "IP", requires = "proxy_user_header")]
    pub trusted_proxy: Vec<IpAddr>,
}

impl AccessArgs {
    /// Who may use a console bound to `listen`. A console nobody can use (off loopback,
    /// no users, no proxy) is still served, every page 401, and this says how to open it.
    ///
    /// # Errors
    /// An unreadable users file, a malformed header name.
    pub fn access(&self, listen: SocketAddr) -> Result<Access> {
        let users = match &self.users {
            Some(path) => Users::load(path)?,
            None => Users::default(),
        };
        let proxy = match &self.proxy_user_header {
            Some(name) => Some(TrustedProxy {
                header: HeaderName::try_from(name.as_str())
                    .with_context(|| format!("`{name}` is not a header name"))?,
                from: self.trusted_proxy.clone(),
            }),
            None => None,
        };
        let access = Access::new(users, proxy, listen, &operator_name(None));
        if access.is_closed() {
            eprintln!(
                "warning[W008]: the console on {listen} has no users and is not on loopback: every page answers 401\n  \
                 hint: give `--users FILE` (README, *Operator console*), or `--proxy-user-header NAME --trusted-proxy IP`"
            );
        }
        Ok(access)
    }
}

/// Serve the operator console for a database.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice console --db .sluice/sluice.db                 # http://127.0.0.1:8790 as the local operator
  sluice console --db postgres://sluice@db/sluice --listen 0.0.0.0:8790 --users console-users.yaml
  sluice console hash-password < password.txt          # a `password_hash` for the users file

Decisions taken here make runs runnable; a `sluice serve` on the same database continues them
(or `sluice resume RUN`). *Resume* on a run's page continues it in this process, as
`sluice resume` would, with the credentials of this process's environment.")]
pub struct ConsoleArgs {
    #[command(subcommand)]
    pub action: Option<ConsoleAction>,
    /// Address to serve the console on.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Show the next fire times of the scheduled workflows in DIR (`*.yaml`, `*.yml`).
    #[arg(long, value_name = "DIR")]
    pub workflows: Option<PathBuf>,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Console helpers.
#[derive(Debug, clap::Subcommand)]
pub enum ConsoleAction {
    /// Read a password from standard input and print its argon2 hash for the users file.
    HashPassword,
}

/// Runs `console`.
///
/// # Errors
/// The store cannot be opened, the address cannot be bound, the users file is unusable.
pub async fn run(args: &ConsoleArgs) -> Result<ExitCode> {
    if let Some(ConsoleAction::HashPassword) = args.action {
        return hash_from_stdin();
    }
    let store = args.db.open().await?;
    let listener = bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on `{}`", args.listen))?;
    let addr = listener.local_addr()?;
    let access = args.access.access(addr)?;
    let scheduled = match &args.workflows {
        Some(dir) => Some(watch::channel(scheduled_in(dir)?).1),
        None => None,
    };
    let resumer = resumer(store.clone(), DEFAULT_LEASE_TTL);
    let console = Console::new(store, access, scheduled).with_runner(resumer.clone());
    let listening = Listening::start(listener, app(console))?;
    println!("console: http://{}/", listening.addr());
    let _ = tokio::signal::ctrl_c().await;
    println!("console: stopping");
    listening.shutdown().await;
    resumer.stop(STOP_GRACE).await;
    Ok(exit::code(exit::SUCCESS))
}

/// How long runs resumed from the console get, on stop, to record what they sent.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What continues the runs an operator resumes from the console: this process, through the
/// engine, with the workflows and credentials `sluice resume` would use, under leases of
/// `lease_ttl`.
pub(super) fn resumer(store: Arc<dyn Store>, lease_ttl: Duration) -> Arc<Resumer> {
    let workflows = Workflows::new(WebhookProviders::new(), Box::new(load_workflow));
    let options = EngineOptions {
        progress: false,
        lease_ttl,
        ..EngineOptions::default()
    };
    Arc::new(Resumer::new(store, workflows, options))
}

/// The scheduled workflows of `dir`, for their fire times only: the console fires nothing,
/// so they get no adapters.
fn scheduled_in(dir: &Path) -> Result<Vec<Arc<ScheduledWorkflow>>> {
    super::schedule::scheduled_in(dir, |_| Ok(Providers::new()))
}

fn hash_from_stdin() -> Result<ExitCode> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        bail!("no password on standard input");
    }
    println!("{}", hash_password(password)?);
    Ok(exit::code(exit::SUCCESS))
}
