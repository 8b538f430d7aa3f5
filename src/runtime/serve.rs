//! `serve` as a composition of small tasks sharing one store and one stop signal: the HTTP
//! server (webhooks, `/healthz`, `/metrics`), the [`Worker`], the [`Notifier`] delivering
//! every run's notifications, and the scheduler for the scheduled workflows, if any.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::worker::{Worker, WorkerSettings};
use super::workflows::Workflows;
use crate::engine::await_step::Wakeups;
use crate::engine::{Drain, Engine, EngineOptions, host_name, owner_name};
use crate::notify::Notifier;
use crate::scheduler::{EngineLauncher, ScheduledWorkflow, Service};
use crate::store::{Store, SystemClock, WorkerInfo};
use crate::webhooks::{ObjectEvent, Receiver, app};

/// Webhooks naming an object that wait to be read back for settlement; more are not queued
/// (polling learns them).
const OBJECTS_QUEUED: usize = 1024;

/// Who a worker is: `NAME:PID:RANDOM`, the lease owner name of its engine, `NAME` being
/// `name` or the host name.
pub fn identity(name: Option<&str>, listen: SocketAddr) -> WorkerInfo {
    let host = host_name();
    let name = name.map_or_else(|| host.clone(), str::to_owned);
    WorkerInfo {
        id: owner_name(&name),
        name,
        host,
        pid: std::process::id(),
        listen: Some(listen.to_string()),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// A running `serve`: its tasks and the signal that stops them.
pub struct Server {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    objects: Option<mpsc::Receiver<ObjectEvent>>,
}

impl Server {
    /// Starts serving on `listener` as worker `info`: the receiver accepts webhooks for the
    /// provider blocks of `workflows`, the worker claims runs with `settings`, and, when
    /// `scheduled` is given, the scheduler fires the due slots of the workflows it holds
    /// (updated by whoever sends on it).
    pub fn start(
        store: Arc<dyn Store>,
        listener: TcpListener,
        info: WorkerInfo,
        settings: WorkerSettings,
        workflows: Workflows,
        scheduled: Option<watch::Receiver<Vec<Arc<ScheduledWorkflow>>>>,
    ) -> Server {
        Self::start_with_pages(
            store,
            listener,
            (info, settings),
            workflows,
            scheduled,
            Router::new(),
        )
    }

    /// As [`start`](Self::start), serving `pages` (the operator console) on the same
    /// address beside the webhooks, `/healthz` and `/metrics`.
    pub fn start_with_pages(
        store: Arc<dyn Store>,
        listener: TcpListener,
        (info, settings): (WorkerInfo, WorkerSettings),
        workflows: Workflows,
        scheduled: Option<watch::Receiver<Vec<Arc<ScheduledWorkflow>>>>,
        pages: Router,
    ) -> Server {
        let wakeups = Wakeups::new();
        let drain = Drain::new();
        let (notices_tx, notices) = mpsc::unbounded_channel();
        let (objects_tx, objects) = mpsc::channel(OBJECTS_QUEUED);
        let receiver = Receiver::new(store.clone(), workflows.registry().clone(), wakeups.clone())
            .with_notices(notices_tx)
            .with_objects(objects_tx);
        let options = EngineOptions {
            wakeups: wakeups.clone(),
            progress: false,
            lease_ttl: settings.lease_ttl,
            owner: Some(info.id.clone()),
            drain: drain.clone(),
            share_items: settings.assist,
            notify: settings.notify.clone(),
            ..EngineOptions::default()
        };
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(receive(
            listener,
            app(Arc::new(receiver)).merge(pages),
            stopped.clone(),
        ));
        if let Some(scheduled) = scheduled {
            // Its own engine and lease owner name: a slot's run is never walked by the
            // scheduler and the worker at once.
            let engine = engine_as(&store, &options, &format!("{}/scheduler", info.id));
            let launcher = Arc::new(EngineLauncher::new(engine));
            let service = Service::new(store.clone(), launcher.clone(), Arc::new(SystemClock))
                .with_notify(settings.notify.clone());
            tasks.spawn(schedule(
                service,
                launcher,
                scheduled,
                stopped.clone(),
                settings.grace,
            ));
        }
        let notifier = Notifier::new(store.clone(), format!("{}/notify", info.id));
        tasks.spawn(notifier.run(stopped.clone()));
        let engine = Arc::new(Engine::new(store.clone(), options.clone()));
        // Its own lease owner name for the items it claims assisting with other runs' steps,
        // so that a run this worker takes over meanwhile never counts those items as its own.
        let helper = engine_as(&store, &options, &format!("{}/help", info.id));
        let worker = Worker::new(
            store,
            (engine, helper),
            info,
            (drain, wakeups),
            settings,
            workflows,
        );
        tasks.spawn(worker.run(notices, stopped));
        Server {
            stop,
            tasks,
            objects: Some(objects),
        }
    }

    /// The webhooks naming an object, as they are stored, for settlement
    /// ([`settlement::learn`](super::settlement::learn)); `None` after the first call.
    pub fn take_objects(&mut self) -> Option<mpsc::Receiver<ObjectEvent>> {
        self.objects.take()
    }

    /// Stops every task and waits for them: the worker drains and hands its runs back.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// An engine like `options` describes, under lease owner name `owner`.
fn engine_as(store: &Arc<dyn Store>, options: &EngineOptions, owner: &str) -> Arc<Engine> {
    let options = EngineOptions {
        owner: Some(owner.to_owned()),
        ..options.clone()
    };
    Arc::new(Engine::new(store.clone(), options))
}

/// Serves `routes` (webhooks, `/healthz`, `/metrics`, and the console if any) until stopped.
async fn receive(listener: TcpListener, routes: Router, mut stopped: watch::Receiver<bool>) {
    let stop = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    if let Err(error) = crate::webhooks::server::serve_until(listener, routes, stop).await {
        tracing::error!(%error, "The webhook receiver stopped.");
    }
}

/// Fires due slots of the `workflows` with `service` (each once, across every `serve` on
/// the database) until stopped, then gives scheduled runs in flight `grace` to reach a checkpoint (the
/// engine drains with the worker's).
async fn schedule(
    service: Service,
    launcher: Arc<EngineLauncher>,
    workflows: watch::Receiver<Vec<Arc<ScheduledWorkflow>>>,
    mut stopped: watch::Receiver<bool>,
    grace: std::time::Duration,
) {
    service
        .run(workflows, async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await;
    launcher.shutdown(grace).await;
}
