//! `sluice serve`: the webhook receiver, `/healthz` and `/metrics`, and a resumer that
//! continues every run that can go on — on start, when one of its steps is woken by an
//! event, and at every rescan. Also the receiver `sluice run` starts for a workflow that
//! awaits webhooks ([`RunReceiver`]).
//!
//! `serve` is a composition of small tasks sharing one store, one engine and one stop
//! signal: the HTTP server and the resumer today; a scheduler is one more task in
//! [`run`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::common::{DbArgs, build_providers};
use super::{exit, workflow};
use crate::engine::await_step::Wakeups;
use crate::engine::executor::holder_is_dead;
use crate::engine::prepare::workflow_hash;
use crate::engine::{Engine, EngineError, EngineOptions};
use crate::plan::CompiledWorkflow;
use crate::providers::{Provider, ProviderKind};
use crate::scheduler::{EngineLauncher, ScheduledWorkflow, Service};
use crate::spec::actions::ActionKind;
use crate::store::{RunFilter, RunRecord, RunStatus, Store, StoreError, SystemClock};
use crate::webhooks::{Listening, Notice, Providers, Receiver, app, bind};

/// Where the receiver listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// A pending run younger than this is left to the process that just created it.
const PENDING_GRACE: Duration = Duration::from_secs(5);

/// Deliveries for an unknown provider block trigger a scan at most this often.
const UNKNOWN_RESCAN: Duration = Duration::from_secs(1);

/// Receive webhooks and keep runs going: verifies and stores provider events, wakes the
/// steps waiting for them, and resumes runs that can continue.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice serve --workflows workflows/
  sluice serve --listen 0.0.0.0:8787 --db /var/lib/sluice/sluice.db

Point each provider's webhooks at http://ADDR/webhooks/<provider block name> (e.g. /webhooks/ws).
`/healthz` answers 200 while the store is readable; `/metrics` is Prometheus text.
Runs waiting, running or pending whose lease is free are resumed on start, when an event wakes
one of their steps, and every `--rescan`. SIGINT or SIGTERM stops it; runs in progress continue
from their checkpoints on the next start.")]
pub struct ServeArgs {
    /// Address for webhooks, `/healthz` and `/metrics`.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Load every workflow (`*.yaml`, `*.yml`) in DIR, so webhooks for their provider blocks
    /// are accepted before any of their runs is seen.
    #[arg(long, value_name = "DIR")]
    pub workflows: Option<PathBuf>,
    /// How often to look for runs to resume (a run whose process died).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub rescan: Duration,
    #[command(flatten)]
    pub db: DbArgs,
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
    println!(
        "serve: listening on http://{addr} (webhooks at /webhooks/<provider>, /healthz, /metrics)"
    );
    let engine_options = EngineOptions {
        wakeups,
        progress: false,
        ..EngineOptions::default()
    };
    let engine = Arc::new(Engine::new(store.clone(), engine_options.clone()));
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
        // Its own engine: leases belong to an engine's owner name, so a slot's run is never
        // walked by the scheduler and the resumer at once.
        let engine = Arc::new(Engine::new(store.clone(), engine_options));
        start_scheduler(
            &mut tasks,
            store.clone(),
            engine,
            dir.clone(),
            stopped.clone(),
        )?;
    }
    let resumer = Resumer::new(store, engine, workflows);
    tasks.spawn(resumer.run(notices, args.rescan, stopped));

    shutdown_signal().await;
    println!("serve: stopping");
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(exit::code(exit::SUCCESS))
}

/// How long scheduled runs in flight get to reach a checkpoint when `serve` stops.
const SCHEDULED_GRACE: Duration = Duration::from_secs(10);

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
/// in flight `SCHEDULED_GRACE` to reach a checkpoint.
fn start_scheduler(
    tasks: &mut JoinSet<()>,
    store: Arc<dyn Store>,
    engine: Arc<Engine>,
    dir: PathBuf,
    stopped: watch::Receiver<bool>,
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
        launcher.shutdown(SCHEDULED_GRACE).await;
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

/// A workflow ready to run: compiled, with an adapter per provider block.
struct Workflow {
    compiled: Arc<CompiledWorkflow>,
    providers: HashMap<String, Arc<dyn Provider>>,
}

/// Workflows by file and content hash, each loaded once; loading registers its provider
/// blocks with the receiver.
struct Workflows {
    registry: Providers,
    cache: HashMap<(PathBuf, String), Arc<Workflow>>,
}

impl Workflows {
    fn new(registry: Providers) -> Self {
        Workflows {
            registry,
            cache: HashMap::new(),
        }
    }

    /// Loads every workflow file in `dir`; invalid ones are reported and skipped.
    fn load_dir(&mut self, dir: &Path) -> Result<()> {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read `{}`", dir.display()))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        paths.sort();
        for path in paths {
            match self.load(&path) {
                Ok((_, w)) => tracing::info!(
                    workflow = %w.compiled.config.name,
                    providers = ?w.providers.keys().collect::<Vec<_>>(),
                    "Workflow loaded."
                ),
                Err(error) => {
                    tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "Workflow skipped.");
                }
            }
        }
        Ok(())
    }

    /// The workflow in `path` as it is now, and its hash.
    fn load(&mut self, path: &Path) -> Result<(String, Arc<Workflow>)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let hash = workflow_hash(&text);
        let key = (path.to_path_buf(), hash.clone());
        if let Some(w) = self.cache.get(&key) {
            return Ok((hash, w.clone()));
        }
        let (_, compiled) = workflow::load_and_compile(path)
            .map_err(|e| anyhow!("`{}` is not usable: {e}", path.display()))?;
        let providers = build_providers(&compiled.config, None)?;
        self.registry.add_all(&providers);
        let w = Arc::new(Workflow {
            compiled: Arc::new(compiled),
            providers,
        });
        self.cache.insert(key, w.clone());
        Ok((hash, w))
    }

    /// The workflow `run` started from, if the file is still the same.
    fn for_run(&mut self, run: &RunRecord) -> Result<Arc<Workflow>> {
        let path = Path::new(&run.workflow_path);
        let (hash, w) = self.load(path)?;
        if hash != run.workflow_hash {
            bail!(
                "`{}` changed since the run started; continue it with `sluice resume {} --allow-changed`",
                path.display(),
                run.id
            );
        }
        if w.compiled.config.name != run.workflow_name {
            bail!(
                "`{}` is workflow `{}`, not `{}`",
                path.display(),
                w.compiled.config.name,
                run.workflow_name
            );
        }
        Ok(w)
    }
}

/// Why a run is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// `serve` just started: every run that can go on does.
    Start,
    /// The periodic rescan: runs whose process died. Runs waiting for an operator are left
    /// alone until the operator acts (which makes them pending).
    Rescan,
    /// An event woke one of its steps.
    Woken,
}

/// Resumes runs in this process.
struct Resumer {
    store: Arc<dyn Store>,
    engine: Arc<Engine>,
    workflows: Workflows,
    running: HashMap<tokio::task::Id, String>,
    refused: HashSet<String>,
    tasks: JoinSet<()>,
}

impl Resumer {
    fn new(store: Arc<dyn Store>, engine: Arc<Engine>, workflows: Workflows) -> Self {
        Resumer {
            store,
            engine,
            workflows,
            running: HashMap::new(),
            refused: HashSet::new(),
            tasks: JoinSet::new(),
        }
    }

    async fn run(
        mut self,
        mut notices: mpsc::UnboundedReceiver<Notice>,
        every: Duration,
        mut stopped: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reason = Reason::Start;
        let mut looked_for_blocks: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                Some(notice) = notices.recv() => match notice {
                    Notice::Woken(key) => match self.store.load_run(&key.run_id).await {
                        Ok(run) => self.consider(run, Reason::Woken),
                        Err(error) => tracing::warn!(run_id = %key.run_id, %error, "Cannot load a woken run."),
                    },
                    // A run started since the last scan: its blocks are registered by a scan,
                    // at most once a second however many deliveries ask.
                    Notice::UnknownProvider(_) => {
                        if looked_for_blocks.is_none_or(|at| at.elapsed() >= UNKNOWN_RESCAN) {
                            looked_for_blocks = Some(Instant::now());
                            self.scan(Reason::Rescan).await;
                        }
                    }
                },
                _ = tick.tick() => {
                    self.scan(reason).await;
                    reason = Reason::Rescan;
                }
                Some(done) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    let id = match done {
                        Ok((id, ())) => id,
                        Err(e) => e.id(),
                    };
                    self.running.remove(&id);
                }
            }
        }
        if !self.tasks.is_empty() {
            tracing::info!(
                runs = self.tasks.len(),
                "Stopping; runs in progress continue from their checkpoints on the next start."
            );
        }
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }

    async fn scan(&mut self, reason: Reason) {
        let filter = RunFilter {
            statuses: vec![RunStatus::Pending, RunStatus::Running, RunStatus::Waiting],
            ..RunFilter::default()
        };
        match self.store.list_runs(&filter).await {
            Ok(runs) => {
                for run in runs {
                    self.consider(run, reason);
                }
            }
            Err(error) => tracing::warn!(%error, "Cannot list runs to resume."),
        }
    }

    /// Registers the run's provider blocks and resumes it if nobody else runs it.
    fn consider(&mut self, run: RunRecord, reason: Reason) {
        if run.status.is_finished() || self.running.values().any(|id| *id == run.id) {
            return;
        }
        let workflow = match self.workflows.for_run(&run) {
            Ok(w) => w,
            Err(error) => {
                if self.refused.insert(run.id.clone()) {
                    tracing::error!(run_id = %run.id, error = %format!("{error:#}"), "Cannot resume the run.");
                }
                return;
            }
        };
        let now = Utc::now();
        let young = (now - run.updated_at).to_std().unwrap_or_default() < PENDING_GRACE;
        let skip = match reason {
            Reason::Rescan => run.status == RunStatus::Waiting,
            Reason::Start | Reason::Woken => false,
        } || (reason != Reason::Woken && run.status == RunStatus::Pending && young)
            || run
                .lease
                .as_ref()
                .is_some_and(|l| l.expires_at > now && !holder_is_dead(&l.owner));
        if skip {
            return;
        }
        let engine = self.engine.clone();
        let run_id = run.id.clone();
        let handle = self.tasks.spawn(async move {
            tracing::info!(run_id = %run_id, "Resuming the run.");
            let result = engine
                .execute(&run_id, workflow.compiled.clone(), workflow.providers.clone())
                .await;
            match result {
                Ok(report) => {
                    tracing::info!(run_id = %run_id, status = %report.status.as_str(), "Run stopped.");
                    for message in report.messages {
                        tracing::info!(run_id = %run_id, "{message}");
                    }
                }
                // Someone else took it first, or it ended meanwhile: nothing to do.
                Err(EngineError::Store(StoreError::Leased { .. }) | EngineError::Finished { .. }) => {}
                Err(error) => tracing::error!(run_id = %run_id, %error, "The run stopped."),
            }
        });
        self.running.insert(handle.id(), run.id);
    }
}

/// The receiver of `sluice run`: started when the workflow awaits webhooks of a provider
/// that sends them.
pub(super) struct RunReceiver {
    listener: Option<TcpListener>,
    listening: Option<Listening>,
    wakeups: Wakeups,
}

impl RunReceiver {
    /// Binds the receiver's address: `--listen ADDR`; `none` for no receiver; by default
    /// 127.0.0.1:8787 (a free port with an in-process sandbox). When the default address is
    /// taken the run goes on without webhooks, its awaits polling; an address given
    /// explicitly must be bound.
    ///
    /// # Errors
    /// An unparsable address, or one given explicitly that cannot be bound.
    pub(super) async fn bind(
        listen: Option<&str>,
        compiled: &CompiledWorkflow,
        sandbox: bool,
    ) -> Result<Self> {
        let mut receiver = RunReceiver {
            listener: None,
            listening: None,
            wakeups: Wakeups::new(),
        };
        if !awaits_webhooks(compiled) || listen == Some("none") {
            return Ok(receiver);
        }
        let explicit = listen.is_some();
        let addr: SocketAddr = match listen {
            Some(a) => a.parse().with_context(|| {
                format!("`--listen {a}` is not an address like `127.0.0.1:8787`")
            })?,
            None if sandbox => "127.0.0.1:0".parse().expect("a valid address"),
            None => DEFAULT_LISTEN.parse().expect("a valid address"),
        };
        match bind(addr).await {
            Ok(l) => receiver.listener = Some(l),
            Err(e) if explicit => {
                return Err(anyhow!(e).context(format!("cannot listen on `{addr}`")));
            }
            Err(e) => eprintln!(
                "warning: cannot listen on `{addr}` ({e}): this run receives no webhooks itself \
                 (a `sluice serve` there still wakes it; otherwise its awaits poll); \
                 `--listen ADDR` picks another address"
            ),
        }
        Ok(receiver)
    }

    /// Webhook URLs for an in-process sandbox: for each provider kind, the block an await
    /// of that kind uses (a sandbox sends per kind, the receiver listens per block).
    pub(super) fn sandbox_urls(
        &self,
        compiled: &CompiledWorkflow,
    ) -> BTreeMap<ProviderKind, String> {
        let Some(addr) = self.listener.as_ref().and_then(|l| l.local_addr().ok()) else {
            return BTreeMap::new();
        };
        let mut urls = BTreeMap::new();
        for (name, kind) in await_blocks(compiled) {
            urls.entry(kind)
                .or_insert_with(|| format!("http://{addr}/webhooks/{name}"));
        }
        urls
    }

    /// Starts serving with the run's adapters; returns the wake-ups the engine must use.
    ///
    /// # Errors
    /// When the listener's address cannot be read.
    pub(super) fn start(
        &mut self,
        store: Arc<dyn Store>,
        providers: &HashMap<String, Arc<dyn Provider>>,
    ) -> Result<Wakeups> {
        if let Some(listener) = self.listener.take() {
            let registry = Providers::new();
            registry.add_all(providers);
            let receiver = Receiver::new(store, registry, self.wakeups.clone());
            let listening = Listening::start(listener, app(Arc::new(receiver)))?;
            let paths: Vec<String> = webhook_blocks(providers)
                .iter()
                .map(|name| format!("/webhooks/{name}"))
                .collect();
            eprintln!(
                "webhooks: listening on http://{} ({})",
                listening.addr(),
                paths.join(", ")
            );
            self.listening = Some(listening);
        }
        Ok(self.wakeups.clone())
    }

    /// Stops the receiver, if one runs.
    pub(super) async fn shutdown(self) {
        if let Some(listening) = self.listening {
            listening.shutdown().await;
        }
    }
}

/// Whether a step awaits events of a provider that sends webhooks.
fn awaits_webhooks(compiled: &CompiledWorkflow) -> bool {
    !await_blocks(compiled).is_empty()
}

/// The provider blocks (name, kind) that awaits use, in step order, without White (it
/// sends no webhooks).
fn await_blocks(compiled: &CompiledWorkflow) -> Vec<(String, ProviderKind)> {
    compiled
        .steps
        .iter()
        .filter(|s| s.action.kind == ActionKind::Await)
        .filter_map(|s| {
            let name = s.provider.as_ref()?;
            let kind = compiled.config.providers.get(name)?.kind;
            (kind != ProviderKind::White).then(|| (name.clone(), kind))
        })
        .collect()
}

/// The names of the blocks that can receive webhooks, sorted.
fn webhook_blocks(providers: &HashMap<String, Arc<dyn Provider>>) -> Vec<String> {
    let mut names: Vec<String> = providers
        .iter()
        .filter(|(_, p)| p.kind() != ProviderKind::White)
        .map(|(n, _)| n.clone())
        .collect();
    names.sort();
    names
}
