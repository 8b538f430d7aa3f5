//! `sluice serve`: its flags, the workflows it loads (printing their diagnostics), signals
//! and exit code. What runs (the webhook receiver, `/healthz` and `/metrics`, the worker that
//! claims and continues runs, and the scheduler for `--workflows`) is
//! [`runtime`](crate::runtime).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::common::{DbArgs, build_providers};
use super::{exit, workflow};
use crate::plan::CompiledWorkflow;
use crate::runtime::retention::{self, Retention};
use crate::runtime::settlement;
use crate::runtime::{Adapters, Server, WorkerSettings, Workflows, identity};
use crate::scheduler::ScheduledWorkflow;
use crate::store::Store;
use crate::webhooks::{Providers, bind};

/// Where the receiver listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// Receive webhooks and keep runs going: verifies and stores provider events, wakes the
/// steps waiting for them, and resumes runs that can continue.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice serve --workflows workflows/
  sluice serve --listen 0.0.0.0:8787 --db /var/lib/sluice/sluice.db
  sluice serve --db postgres://sluice@db/sluice --name worker-a --listen 0.0.0.0:8787

The operator console is at http://ADDR/ (on loopback the local user is an operator; elsewhere
give `--users FILE` or a trusted proxy: README, *Operator console*); *Resume* on a run's page
continues the run in this process.
Point each provider's webhooks at http://ADDR/webhooks/<provider block name> (e.g. /webhooks/ws).
`/healthz` answers 200 while the store is readable; `/metrics` is Prometheus text.
Runs whose lease is free are claimed on start (waiting ones too), when an event wakes one of
their steps, and every `--rescan`, up to `--max-runs` at once; several `serve` on one database
share the runs (`sluice workers` lists them), and the items of a large batch step (64 provider
calls or more) are shared by every worker with room. SIGINT or SIGTERM stops it: nothing new is sent,
what is in flight is recorded, and its runs are handed back to the other workers (or to the
next start) at their last checkpoint.")]
pub struct ServeArgs {
    /// Address for webhooks, `/healthz` and `/metrics`.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Load every workflow (`*.yaml`, `*.yml`) in DIR, so webhooks for their provider blocks
    /// are accepted before any of their runs is seen.
    #[arg(long, value_name = "DIR")]
    pub workflows: Option<PathBuf>,
    /// How often to look for runs to claim (new ones, and ones whose worker died).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub rescan: Duration,
    /// This worker's name in `sluice workers` and in the lease owners of its runs (followed
    /// by `:PID:RANDOM`). Default: the host name, which also lets a worker on this host take
    /// over at once from one that died here.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The most runs this worker executes at once, counting shared batch steps it helps with.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_runs: u32,
    /// Run every batch step in the worker that holds its run: neither share this worker's
    /// batch steps with the others nor help with theirs.
    #[arg(long)]
    pub no_share: bool,
    /// How long a run's lease (and this worker's heartbeat) lasts without renewal; renewed
    /// every third of it. Another worker takes over a dead worker's runs after this.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_ttl)]
    pub lease_ttl: Duration,
    /// On stop, how long runs get to record what they sent before they are cut off.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub stop_grace: Duration,
    /// Delete runs that finished longer ago than this (`400d`), at start and every hour
    /// (README, *Sensitive data*).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub retention: Option<Duration>,
    /// With `--retention`, keep an audit row per payment of the runs deleted.
    #[arg(long, requires = "retention")]
    pub keep_audit: bool,
    /// How often to read the recent runs' committed payments back from their providers and
    /// record those settled or failed after commit (README, *Settlement, reports and
    /// reconciliation*).
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_ttl)]
    pub settle_every: Duration,
    /// Also reconcile the recent runs' payments with the providers' records this often,
    /// logging every mismatch with its item key; a workflow's own `reconcile.every` takes
    /// precedence for its runs.
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub reconcile_every: Option<Duration>,
    /// Notify rules (a YAML file with a `notify:` list, as in a workflow; secrets only as
    /// `${VAR}`) for every run this worker starts or holds and every missed slot of its
    /// schedules, in addition to each workflow's own (README, *Approvals and notifications*).
    #[arg(long, value_name = "FILE")]
    pub notify: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
    #[cfg(feature = "console")]
    #[command(flatten)]
    pub console: super::console::AccessArgs,
}

/// A lease TTL: at least a second, so that renewing every third of it is not a busy loop.
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if ttl < Duration::from_secs(1) {
        return Err("must be at least 1s".into());
    }
    Ok(ttl)
}

/// Workflows loaded as `serve` loads them, for a task of its own.
fn serving_workflows() -> Workflows {
    Workflows::new(Providers::new(), Box::new(load_workflow))
}

/// Runs `serve` until SIGINT or SIGTERM.
///
/// # Errors
/// The store cannot be opened, the address cannot be bound, or `--workflows` is unreadable.
pub async fn run(args: &ServeArgs) -> Result<ExitCode> {
    let notify = match &args.notify {
        Some(path) => match super::notifications::load_rules(path) {
            Ok(routes) => routes,
            Err(invalid) => {
                eprintln!("error: {invalid}");
                return Ok(exit::code(exit::INVALID));
            }
        },
        None => Vec::new(),
    };
    let store = args.db.open().await?;
    let mut workflows = Workflows::new(Providers::new(), Box::new(load_workflow));
    if let Some(dir) = &args.workflows {
        workflows.load_dir(dir)?;
    }
    let listener = bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on `{}`", args.listen))?;
    let addr = listener.local_addr()?;
    let info = identity(args.name.as_deref(), addr);
    println!(
        "serve: worker {} listening on http://{addr} (console at /, webhooks at /webhooks/<provider>, /healthz, /metrics)",
        info.id
    );
    let (scheduled, reloads) = match &args.workflows {
        Some(dir) => {
            let (reload, scheduled) = watch::channel(scheduled_in(dir)?);
            (
                Some(scheduled),
                Some(reload_on_hangup(dir.clone(), reload)?),
            )
        }
        None => (None, None),
    };
    let settings = WorkerSettings {
        rescan: args.rescan,
        lease_ttl: args.lease_ttl,
        max_runs: args.max_runs as usize,
        grace: args.stop_grace,
        assist: !args.no_share,
        notify,
    };
    let pruning = args.retention.map(|keep| {
        let keep_audit = args.keep_audit;
        retention::spawn(store.clone(), Retention { keep, keep_audit })
    });
    let tracking = [
        settlement::spawn(store.clone(), serving_workflows(), args.settle_every),
        settlement::spawn_reconcile(store.clone(), serving_workflows(), args.reconcile_every),
    ];
    let scheduled_pages = scheduled.clone();
    let (pages, resumed) = pages(args, store.clone(), addr, scheduled_pages)?;
    let mut server = Server::start_with_pages(
        store.clone(),
        listener,
        (info, settings),
        workflows,
        scheduled,
        pages,
    );
    let learning = server
        .take_objects()
        .map(|objects| settlement::learn(store, serving_workflows(), objects));

    shutdown_signal().await;
    println!("serve: stopping");
    if let Some(reloads) = reloads {
        reloads.abort();
    }
    if let Some(pruning) = pruning {
        pruning.abort();
    }
    for task in tracking.into_iter().chain(learning) {
        task.abort();
    }
    server.stop().await;
    stop_resumed(&resumed, args.stop_grace).await;
    Ok(exit::code(exit::SUCCESS))
}

/// The runs resumed from the console, continued in this process.
#[cfg(feature = "console")]
type Resumed = Arc<crate::runtime::resume::Resumer>;
/// No console, nothing resumed from it.
#[cfg(not(feature = "console"))]
type Resumed = ();

/// The operator console, served at `/` beside the webhooks, and the runs it resumes.
#[cfg(feature = "console")]
fn pages(
    args: &ServeArgs,
    store: Arc<dyn Store>,
    addr: SocketAddr,
    scheduled: Option<watch::Receiver<Vec<Arc<ScheduledWorkflow>>>>,
) -> Result<(axum::Router, Resumed)> {
    let access = args.console.access(addr)?;
    let resumer = super::console::resumer(store.clone(), args.lease_ttl);
    let console =
        crate::console::Console::new(store, access, scheduled).with_runner(resumer.clone());
    Ok((crate::console::app(console), resumer))
}

/// No console in a build without the `console` feature.
#[cfg(not(feature = "console"))]
fn pages(
    _: &ServeArgs,
    _: Arc<dyn Store>,
    _: SocketAddr,
    _: Option<watch::Receiver<Vec<Arc<ScheduledWorkflow>>>>,
) -> Result<(axum::Router, Resumed)> {
    Ok((axum::Router::new(), ()))
}

/// Drains the runs resumed from the console, as the worker drains its own.
#[cfg(feature = "console")]
async fn stop_resumed(resumed: &Resumed, grace: Duration) {
    resumed.stop(grace).await;
}

#[cfg(not(feature = "console"))]
async fn stop_resumed(_: &Resumed, _: Duration) {}

/// Compiles a workflow for the worker, printing its diagnostics, and builds its adapters.
pub(super) fn load_workflow(path: &Path) -> Result<(CompiledWorkflow, Adapters)> {
    let (_, compiled) = workflow::load_and_compile(path)
        .map_err(|e| anyhow!("`{}` is not usable: {e}", path.display()))?;
    let providers = build_providers(&compiled.config, None)?;
    Ok((compiled, providers))
}

/// The scheduled workflows of `dir` with their adapters; invalid files are reported and
/// left out, the others keep running.
fn scheduled_in(dir: &Path) -> Result<Vec<Arc<ScheduledWorkflow>>> {
    super::schedule::scheduled_in(dir, |compiled| build_providers(&compiled.config, None))
}

/// Reloads the scheduled workflows of `dir` on SIGHUP, sending them to the scheduler; a
/// reload that fails keeps the workflows loaded before. Does nothing off Unix.
fn reload_on_hangup(
    dir: PathBuf,
    reload: watch::Sender<Vec<Arc<ScheduledWorkflow>>>,
) -> Result<JoinHandle<()>> {
    #[cfg(unix)]
    {
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        Ok(tokio::spawn(async move {
            while let Some(()) = hangups.recv().await {
                match scheduled_in(&dir) {
                    Ok(w) => {
                        tracing::info!(workflows = w.len(), "Reloaded the scheduled workflows.");
                        let _ = reload.send(w);
                    }
                    Err(error) => {
                        tracing::error!(error = %format!("{error:#}"), "Reload failed; keeping the workflows loaded before.")
                    }
                }
            }
        }))
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, reload);
        Ok(tokio::spawn(async {}))
    }
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
