//! `sluice serve`: the webhook receiver, `/healthz` and `/metrics`, a worker that claims and
//! continues runs ([`worker`]), and the scheduler for `--workflows`. Also the receiver
//! `sluice run` starts for a workflow that awaits webhooks ([`RunReceiver`]).
//!
//! `serve` is a composition of small tasks sharing one store and one stop signal: the HTTP
//! server, the worker, and the scheduler, each in [`run`].

mod receiver;
mod worker;

pub(super) use receiver::RunReceiver;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::common::{DbArgs, build_providers};
use super::exit;
use crate::engine::await_step::Wakeups;
use crate::engine::{Drain, Engine, EngineOptions, host_name, owner_name};
use crate::scheduler::{EngineLauncher, ScheduledWorkflow, Service};
use crate::store::{Store, SystemClock, WorkerInfo};
use crate::webhooks::{Providers, Receiver, app, bind};
use worker::{Worker, WorkerSettings, Workflows};

/// Where the receiver listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// Receive webhooks and keep runs going: verifies and stores provider events, wakes the
/// steps waiting for them, and resumes runs that can continue.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice serve --workflows workflows/
  sluice serve --listen 0.0.0.0:8787 --db /var/lib/sluice/sluice.db
  sluice serve --db postgres://sluice@db/sluice --name worker-a --listen 0.0.0.0:8787

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
    #[command(flatten)]
    pub db: DbArgs,
}

/// A lease TTL: at least a second, so that renewing every third of it is not a busy loop.
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if ttl < Duration::from_secs(1) {
        return Err("must be at least 1s".into());
    }
    Ok(ttl)
}

/// Runs `serve` until SIGINT or SIGTERM.
///
/// # Errors
/// The store cannot be opened, the address cannot be bound, or `--workflows` is unreadable.
pub async fn run(args: &ServeArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    let wakeups = Wakeups::new();
    let registry = Providers::new();
    let mut workflows = Workflows::new(registry.clone());
    if let Some(dir) = &args.workflows {
        workflows.load_dir(dir)?;
    }
    let (notices_tx, notices) = mpsc::unbounded_channel();
    let receiver = Arc::new(
        Receiver::new(store.clone(), registry.clone(), wakeups.clone()).with_notices(notices_tx),
    );
    let listener = bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on `{}`", args.listen))?;
    let addr = listener.local_addr()?;
    let info = worker_info(args, addr);
    println!(
        "serve: worker {} listening on http://{addr} (webhooks at /webhooks/<provider>, /healthz, /metrics)",
        info.id
    );
    let drain = Drain::new();
    let engine_options = EngineOptions {
        wakeups: wakeups.clone(),
        progress: false,
        lease_ttl: args.lease_ttl,
        owner: Some(info.id.clone()),
        drain: drain.clone(),
        share_items: !args.no_share,
        ..EngineOptions::default()
    };
    let engine = Arc::new(Engine::new(store.clone(), engine_options.clone()));
    // Its own lease owner name for the items it claims helping with other runs' steps, so
    // that a run this worker takes over meanwhile never counts those items as its own.
    let helper = Arc::new(Engine::new(
        store.clone(),
        EngineOptions {
            owner: Some(format!("{}/help", info.id)),
            ..engine_options.clone()
        },
    ));
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    {
        let mut stopped = stopped.clone();
        tasks.spawn(async move {
            let stop = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(error) =
                crate::webhooks::server::serve_until(listener, app(receiver), stop).await
            {
                tracing::error!(%error, "The webhook receiver stopped.");
            }
        });
    }
    if let Some(dir) = &args.workflows {
        // Its own engine and lease owner name: a slot's run is never walked by the scheduler
        // and the worker at once.
        let options = EngineOptions {
            owner: Some(format!("{}/scheduler", info.id)),
            ..engine_options
        };
        let engine = Arc::new(Engine::new(store.clone(), options));
        start_scheduler(
            &mut tasks,
            store.clone(),
            engine,
            dir.clone(),
            stopped.clone(),
            args.stop_grace,
        )?;
    }
    let settings = WorkerSettings {
        rescan: args.rescan,
        lease_ttl: args.lease_ttl,
        max_runs: args.max_runs as usize,
        grace: args.stop_grace,
        help: !args.no_share,
    };
    let worker = Worker::new(
        store,
        (engine, helper),
        info,
        (drain, wakeups),
        settings,
        workflows,
    );
    tasks.spawn(worker.run(notices, stopped));

    shutdown_signal().await;
    println!("serve: stopping");
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(exit::code(exit::SUCCESS))
}

/// Who this worker is: `NAME:PID:RANDOM`, the lease owner name of its engine.
fn worker_info(args: &ServeArgs, addr: SocketAddr) -> WorkerInfo {
    let host = host_name();
    let name = args.name.clone().unwrap_or_else(|| host.clone());
    WorkerInfo {
        id: owner_name(&name),
        name,
        host,
        pid: std::process::id(),
        listen: Some(addr.to_string()),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// The scheduled workflows of `dir` with their adapters; invalid files are reported and
/// left out, the others keep running.
fn scheduled_in(dir: &Path) -> Result<Vec<Arc<ScheduledWorkflow>>> {
    let loaded = super::schedule::load_dir(dir)?;
    let mut scheduled = Vec::new();
    for (source, compiled) in loaded.workflows {
        let providers = match build_providers(&compiled.config, None) {
            Ok(p) => p,
            Err(error) => {
                tracing::warn!(path = %source.source.name, error = %format!("{error:#}"), "Workflow not scheduled.");
                continue;
            }
        };
        match ScheduledWorkflow::new(&source, compiled, providers) {
            Ok(Some(w)) => scheduled.push(Arc::new(w)),
            Ok(None) => {}
            Err(diagnostics) => super::report::eprint(&source.source, &diagnostics),
        }
    }
    Ok(scheduled)
}

/// Starts the scheduler for the workflows of `dir`: it fires due slots (each once, across
/// every `serve` on the database), reloads `dir` on SIGHUP, and on stop gives scheduled runs
/// in flight `grace` to reach a checkpoint (the engine drains with the worker's).
fn start_scheduler(
    tasks: &mut JoinSet<()>,
    store: Arc<dyn Store>,
    engine: Arc<Engine>,
    dir: PathBuf,
    stopped: watch::Receiver<bool>,
    grace: Duration,
) -> Result<()> {
    let (reload, workflows) = watch::channel(scheduled_in(&dir)?);
    let launcher = Arc::new(EngineLauncher::new(engine));
    let service = Service::new(store, launcher.clone(), Arc::new(SystemClock));
    let mut stop = stopped.clone();
    tasks.spawn(async move {
        service
            .run(workflows, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        launcher.shutdown(grace).await;
    });
    #[cfg(unix)]
    {
        let mut stop = stopped;
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    Some(()) = hangups.recv() => match scheduled_in(&dir) {
                        Ok(w) => {
                            tracing::info!(workflows = w.len(), "Reloaded the scheduled workflows.");
                            let _ = reload.send(w);
                        }
                        Err(error) => tracing::error!(error = %format!("{error:#}"), "Reload failed; keeping the workflows loaded before."),
                    },
                }
            }
        });
    }
    Ok(())
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
