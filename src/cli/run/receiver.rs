//! The webhook receiver `sluice run` starts for a workflow that awaits webhooks
//! ([`RunReceiver`]): bound before the run starts so the sandbox can be told where to send.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use tokio::net::TcpListener;

use crate::catalog::ActionKind;
use crate::catalog::ProviderKind;
use crate::cli::serve::DEFAULT_LISTEN;
use crate::engine::await_step::Wakeups;
use crate::plan::CompiledWorkflow;
use crate::providers::Provider;
use crate::store::Store;
use crate::webhooks::{Listening, Providers, Receiver, app, bind};

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

    /// Starts serving with the run's adapters (and its blocks, for what their events are
    /// stored without); returns the wake-ups the engine must use.
    ///
    /// # Errors
    /// When the listener's address cannot be read.
    pub(super) fn start(
        &mut self,
        store: Arc<dyn Store>,
        providers: &HashMap<String, Arc<dyn Provider>>,
        compiled: &CompiledWorkflow,
    ) -> Result<Wakeups> {
        if let Some(listener) = self.listener.take() {
            let registry = Providers::new();
            registry.add_all(providers, &compiled.config.providers);
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
