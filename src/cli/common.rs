//! What several commands share: the checkpoint database, run inputs, and provider adapters
//! (against the real APIs, or against an in-process sandbox).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::catalog::ProviderKind;
use crate::engine::RunReport;
use crate::ids::RunId;
use crate::notify::Notifier;
use crate::plan::inputs::{Given, split_arg};
use crate::providers::{HttpClient, Provider, build};
use crate::sandbox::{SandboxConfig, SandboxHandle, WebhookConfig};
use crate::spec::env::{process_env, resolve_provider};
use crate::spec::secret::Secret;
use crate::spec::{ProviderConfig, WorkflowConfig};
use crate::store::{
    DEFAULT_DB_PATH, Durability, RunStatus, SqliteConfig, SqliteStore, Store, display_location,
    open_store,
};

use super::exit;

/// `--db`: where checkpoints live.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// The checkpoint database: a SQLite file, or a `postgres://` URL (put the password in
    /// `PGPASSWORD` or `~/.pgpass`, not in the URL).
    #[arg(
        long,
        env = "SLUICE_DB",
        hide_env_values = true,
        value_name = "PATH|URL",
        default_value = DEFAULT_DB_PATH
    )]
    pub db: PathBuf,
}

impl DbArgs {
    /// Opens the store: a Postgres database when `--db` is a `postgres://` or
    /// `postgresql://` URL, else a SQLite file (created with its directory when missing).
    /// Either is migrated to the current schema. The durability is what `SLUICE_SQLITE_SYNC`
    /// asks for: `full` (the default: SQLite `synchronous=FULL`, Postgres synchronous
    /// commit) or `normal`.
    ///
    /// # Errors
    /// The store's own error: not a database, a foreign or newer one, read-only,
    /// unreachable; or an unknown `SLUICE_SQLITE_SYNC`.
    pub async fn open(&self) -> Result<Arc<dyn Store>> {
        let durability = match std::env::var("SLUICE_SQLITE_SYNC").as_deref() {
            Err(_) | Ok("" | "full" | "FULL") => Durability::Full,
            Ok("normal" | "NORMAL") => Durability::Normal,
            Ok(other) => anyhow::bail!("SLUICE_SQLITE_SYNC is `{other}`, not `full` or `normal`"),
        };
        let opened = match self.db.to_str() {
            Some(location) => open_store(location, durability).await,
            // Not UTF-8, so not a URL: a file name only the operating system can spell.
            None => SqliteStore::open(SqliteConfig::new(&self.db).durability(durability))
                .await
                .map(|store| Arc::new(store) as Arc<dyn Store>),
        };
        opened.with_context(|| {
            format!(
                "cannot open the checkpoint database `{}`",
                display_location(&self.db.to_string_lossy())
            )
        })
    }
}

/// `--sandbox`: run against an in-process emulator of every provider.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxFlag {
    /// Start an in-process sandbox of all four providers and point every provider block at
    /// it, with the sandbox's credentials: no network, no real money. It pays open checkouts
    /// by itself, accepts any target-account label, and runs its clock 20 times faster.
    #[arg(long)]
    pub sandbox: bool,
}

impl SandboxFlag {
    /// Starts the sandbox when asked for.
    ///
    /// # Errors
    /// When its port cannot be bound.
    pub async fn start(&self) -> Result<Option<SandboxHandle>> {
        self.start_with_webhooks(BTreeMap::new()).await
    }

    /// Starts the sandbox when asked for, sending each provider kind's webhooks to its URL
    /// in `webhooks` (the run's receiver).
    ///
    /// # Errors
    /// When its port cannot be bound.
    pub async fn start_with_webhooks(
        &self,
        webhooks: BTreeMap<ProviderKind, String>,
    ) -> Result<Option<SandboxHandle>> {
        if !self.sandbox {
            return Ok(None);
        }
        let config = SandboxConfig {
            addr: "127.0.0.1:0".parse().expect("a valid address"),
            speed: 20,
            auto_pay: Some(crate::sandbox::AutoPay::default()),
            auto_target_accounts: true,
            webhooks: WebhookConfig {
                urls: webhooks,
                ..WebhookConfig::default()
            },
            ..SandboxConfig::default()
        };
        let handle = crate::sandbox::start(config)
            .await
            .context("cannot start the sandbox")?;
        eprintln!("sandbox: listening on {}", handle.origin());
        Ok(Some(handle))
    }
}

/// Reads `--input name=value` and `--input name=@file` arguments.
///
/// # Errors
/// A malformed argument or an unreadable file.
pub fn read_inputs(args: &[String]) -> Result<BTreeMap<String, Given>> {
    let mut given = BTreeMap::new();
    for arg in args {
        let (name, value) = split_arg(arg)?;
        let value = match value.strip_prefix('@') {
            Some(path) => Given::File {
                path: path.to_string(),
                text: std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read `{path}` for input `{name}`"))?,
            },
            None => Given::Literal(value.to_string()),
        };
        given.insert(name.to_string(), value);
    }
    Ok(given)
}

/// Builds an adapter for every provider block: credentials from the environment, or the
/// sandbox's URL and credentials when a sandbox runs.
///
/// # Errors
/// An unset variable or an unusable provider block.
pub fn build_providers(
    config: &WorkflowConfig,
    sandbox: Option<&SandboxHandle>,
) -> Result<HashMap<String, Arc<dyn Provider>>> {
    let http = HttpClient::new().context("cannot build the HTTP client")?;
    let mut providers = HashMap::new();
    for (name, block) in &config.providers {
        let mut resolved = match sandbox {
            // The sandbox supplies the URL and every credential, so those fields are not
            // read from the environment at all.
            Some(_) => {
                let block = ProviderConfig {
                    base_url: None,
                    api_key: None,
                    api_secret: None,
                    secret_key: None,
                    token: None,
                    webhook_secret: None,
                    ..block.clone()
                };
                resolve_provider(name, &block, &process_env)?
            }
            None => resolve_provider(name, block, &process_env)?,
        };
        if let Some(sandbox) = sandbox {
            resolved.base_url = Some(sandbox.base_url(block.kind));
            let key = Secret::new(crate::sandbox::DEFAULT_API_KEY);
            let secret = Secret::new(crate::sandbox::DEFAULT_API_SECRET);
            resolved.api_key = Some(key.clone());
            resolved.api_secret = Some(secret);
            resolved.secret_key = Some(key.clone());
            resolved.token = Some(key);
        }
        providers.insert(name.clone(), build(&resolved, &http)?);
    }
    Ok(providers)
}

/// Delivers the notifications `run_id` owes now that it stopped, once each; one that fails
/// is reported and left to `serve` or `sluice notifications --deliver` to retry. It never
/// changes the exit code.
pub async fn notify_run(store: Arc<dyn Store>, run_id: &RunId) {
    // A process killed here has committed the status change and its outbox rows: another
    // process delivers them.
    crate::engine::failpoint("before_notify");
    let owner = crate::engine::owner_name(&crate::engine::host_name());
    match Notifier::new(store, owner).deliver_due(Some(run_id)).await {
        Ok(sent) => {
            for s in sent {
                if let Some(error) = s.error {
                    eprintln!(
                        "  notification {} ({}) not delivered: {error}; retried by `sluice serve` or `sluice notifications --deliver`",
                        s.id, s.event
                    );
                }
            }
        }
        Err(e) => eprintln!("  notifications not delivered: {e}"),
    }
}

/// Prints a run's outcome and returns its exit code (README, *Commands*).
pub fn finish(report: &RunReport) -> std::process::ExitCode {
    for m in &report.messages {
        eprintln!("  {m}");
    }
    let (word, code) = match report.status {
        RunStatus::Succeeded => ("succeeded", exit::SUCCESS),
        RunStatus::Failed => ("failed", exit::FAILED),
        RunStatus::Cancelled => ("was cancelled", exit::FAILED),
        RunStatus::NeedsAttention => ("needs attention", exit::NEEDS_ATTENTION),
        RunStatus::Waiting if report.credentials_refused => ("is waiting", exit::FAILED),
        RunStatus::Waiting => ("is waiting", exit::NEEDS_ATTENTION),
        RunStatus::Compensated => ("failed and was compensated", exit::FAILED),
        RunStatus::CompensationFailed => (
            "failed and its compensation needs attention",
            exit::NEEDS_ATTENTION,
        ),
        RunStatus::Pending | RunStatus::Running | RunStatus::Compensating => {
            ("stopped", exit::FAILED)
        }
    };
    println!("run {} {word}", report.run_id);
    if report.status != RunStatus::Succeeded {
        println!("  details: sluice status {}", report.run_id);
    }
    exit::code(code)
}
