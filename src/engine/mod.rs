//! Durable execution of a compiled workflow (ARCHITECTURE.md, *Never twice*): runs are created with every
//! step and item as a checkpoint row, leased by one process at a time, and walked as a DAG;
//! every provider write goes through dispatch → send → record, so a run killed at any
//! instant resumes without moving money twice.

mod approval;
pub mod assist;
pub mod await_step;
pub mod breaker;
pub mod call;
mod class;
pub mod compensate;
pub mod control;
pub mod drain;
pub mod error;
pub mod executor;
pub mod held;
pub mod prepare;
pub mod progress;
pub mod protocol;
pub mod settle;
mod slot;
pub mod step;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

pub use drain::Drain;
pub use error::{EngineError, HaltCause};
pub use executor::{DEFAULT_LEASE_TTL, RunReport};
pub use writer::{Write, Writer};

use crate::ids::RunId;
use crate::plan::CompiledWorkflow;
use crate::plan::fingerprint::{inputs_hash, workflow_hash};
use crate::sensitive::card_paths;
use crate::spec::RawCards;
use crate::store::{NewLease, NewRun, NewStep, Store, new_run_id};
use crate::template::{Scope, Templates};

/// Settings of an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Overrides the workflow's `concurrency`.
    pub concurrency: Option<u32>,
    /// How long a run's lease lasts without renewal.
    pub lease_ttl: Duration,
    /// Caps every await's polling interval (the sandbox answers in milliseconds).
    pub max_poll: Option<Duration>,
    /// Draw progress bars for batches on a terminal.
    pub progress: bool,
    /// Where a webhook receiver in this process wakes the run's awaits.
    pub wakeups: await_step::Wakeups,
    /// The lease owner name; `host:pid:random` unless set. It must be unique per engine: two
    /// engines with one name would both hold a run.
    pub owner: Option<String>,
    /// When switched on, runs stop at their next dispatch and hand their lease back.
    pub drain: Drain,
    /// Share large batch steps with the live `serve` workers on the database, if there are
    /// any: see [`step::share`].
    pub share_items: bool,
    /// Notify routes added to those of every run this engine executes (`serve --notify`),
    /// before it walks the run, so its later status changes owe them notifications.
    pub notify: Vec<crate::store::NotifyRoute>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            concurrency: None,
            lease_ttl: DEFAULT_LEASE_TTL,
            max_poll: None,
            progress: true,
            wakeups: await_step::Wakeups::default(),
            owner: None,
            drain: Drain::new(),
            share_items: true,
            notify: Vec::new(),
        }
    }
}

/// Starts and runs workflows against a store.
pub struct Engine {
    store: Arc<dyn Store>,
    templates: Arc<Templates>,
    owner: String,
    options: EngineOptions,
    held: held::HeldInputs,
}

/// Where a new run comes from.
#[derive(Debug, Clone)]
pub struct RunSource<'a> {
    /// The workflow file as given.
    pub path: &'a str,
    /// Its exact text (hashed to bind the run to it).
    pub text: &'a str,
    /// The resolved inputs.
    pub inputs: Map<String, Value>,
    /// A run id chosen by the caller (`--run-id`, a schedule slot), or a fresh one.
    pub run_id: Option<RunId>,
    /// The schedule slot, for scheduled runs.
    pub scheduled_for: Option<chrono::DateTime<chrono::Utc>>,
    /// The hash of the reviewed plan this run executes, if any.
    pub plan_hash: Option<String>,
    /// Who starts it: an operator's name, or the schedule's ([`schedule_starter`]).
    pub started_by: String,
}

/// The name a scheduled run of `workflow` is started by: never a person's, so an approval
/// that forbids self-approval refuses nobody for it.
pub fn schedule_starter(workflow: &str) -> String {
    format!("schedule:{workflow}")
}

impl Engine {
    /// An engine on `store`. Its lease owner name is [`EngineOptions::owner`], or
    /// [`owner_name`] of this host, so `status` can say who holds a run.
    pub fn new(store: Arc<dyn Store>, options: EngineOptions) -> Self {
        let owner = options
            .owner
            .clone()
            .unwrap_or_else(|| owner_name(&host_name()));
        Engine {
            store,
            templates: Arc::new(Templates::new()),
            owner,
            options,
            held: held::HeldInputs::default(),
        }
    }

    /// The name its leases are taken under.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Creates a run for this engine to execute next: every step and `for_each` item as a
    /// `pending` row, bound to the file's and the inputs' hashes, and leased to this engine
    /// from the start so that no `serve` worker claims it first. Nothing is sent.
    ///
    /// # Errors
    /// A bad `for_each` list or key (duplicates), or a store error (the id is taken).
    pub async fn create(
        &self,
        compiled: &CompiledWorkflow,
        source: RunSource<'_>,
    ) -> Result<RunId, EngineError> {
        let (mut run, rows, held) = new_run(&self.templates, compiled, source)?;
        run.lease = Some(self.new_lease());
        self.store.create_run(&run, &rows).await?;
        if let Some(inputs) = held {
            self.hold_inputs(&run.id, inputs);
        }
        Ok(run.id)
    }

    /// Holds the real inputs of `run_id` in this process: a run whose inputs carry card data
    /// stores them masked ([`held`]), and continues only where they are held.
    pub fn hold_inputs(&self, run_id: &RunId, inputs: Map<String, Value>) {
        self.held.hold(run_id, inputs);
    }

    /// Creates a run as [`create`](Self::create) does, but held by nobody: for the `serve`
    /// workers on the database to claim (`sluice run --detach`).
    ///
    /// # Errors
    /// As [`create`](Self::create); [`EngineError::DetachedCards`] when the inputs carry
    /// card data, which a worker could not be given.
    pub async fn enqueue(
        &self,
        compiled: &CompiledWorkflow,
        source: RunSource<'_>,
    ) -> Result<RunId, EngineError> {
        let (run, rows, held) = new_run(&self.templates, compiled, source)?;
        if held.is_some() {
            return Err(EngineError::DetachedCards);
        }
        self.store.create_run(&run, &rows).await?;
        Ok(run.id)
    }

    /// The lease a run this engine creates is born with.
    pub fn new_lease(&self) -> NewLease {
        NewLease {
            owner: self.owner.clone(),
            ttl: self.options.lease_ttl,
        }
    }
}

/// A new run as [`new_run`] prepares it: the run's row, its step rows, and its real inputs
/// when the row keeps them masked ([`held`]).
pub type PreparedRun = (NewRun, Vec<NewStep>, Option<Map<String, Value>>);

/// The rows of a new run, without writing them: the run (bound to the workflow file's and
/// the inputs' hashes) and one row per step and `for_each` item, and the real inputs when
/// the run's row keeps them masked for their card data ([`held`]). `sluice run` creates them
/// with `create_run`; the scheduler with the slot's claim, in one transaction.
///
/// # Errors
/// A bad `for_each` list or key (duplicates); [`EngineError::RawCards`] when inputs feed
/// card data the workflow refuses.
pub fn new_run(
    templates: &Templates,
    compiled: &CompiledWorkflow,
    source: RunSource<'_>,
) -> Result<PreparedRun, EngineError> {
    if compiled.config.sensitive.raw_cards == RawCards::Refuse {
        let inputs: Vec<String> = source
            .inputs
            .iter()
            .filter(|(_, value)| !card_paths(value).is_empty())
            .map(|(name, _)| name.clone())
            .collect();
        if !inputs.is_empty() {
            return Err(EngineError::RawCards { inputs });
        }
    }
    let run_id = source
        .run_id
        .clone()
        .unwrap_or_else(|| new_run_id(chrono::Utc::now()));
    let scheduled = source
        .scheduled_for
        .map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    // Only the inputs some `key` template reads: at 100,000 rows a copy of every input
    // would cost more memory than the whole run.
    let key_uses = crate::plan::context::Uses::of(
        compiled
            .config
            .steps
            .iter()
            .filter_map(|s| s.key.as_deref()),
    );
    let key_inputs: serde_json::Map<String, Value> = key_uses
        .inputs
        .iter()
        .filter_map(|n| source.inputs.get(n).map(|v| (n.clone(), v.clone())))
        .collect();
    let base = Scope::new(serde_json::json!({
        "inputs": Value::Object(key_inputs),
        "steps": {},
        "run": { "id": run_id, "started_at": "", "scheduled_for": scheduled },
    }));
    let rows = prepare::step_rows(compiled, templates, &source.inputs, &base)?;
    let hash = inputs_hash(&source.inputs);
    let (stored, held) = held::split(source.inputs);
    let run = NewRun {
        id: run_id,
        workflow_name: compiled.config.name.clone(),
        workflow_path: source.path.to_string(),
        workflow_hash: workflow_hash(source.text),
        inputs_hash: hash,
        inputs: stored,
        plan_hash: source.plan_hash,
        scheduled_for: source.scheduled_for,
        started_by: source.started_by,
        notify: prepare::notify_routes(&compiled.config.notify),
        lease: None,
    };
    Ok((run, rows, held))
}

/// A lease owner name unique to this process: `NAME:PID:RANDOM`. With this host's name as
/// NAME, a holder that died on this host is recognised at once (see
/// [`executor::holder_is_dead`]); other names wait for the lease to expire.
pub fn owner_name(name: &str) -> String {
    format!(
        "{name}:{}:{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// This machine's name, for lease owners.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map_or_else(|| "localhost".to_string(), |h| h.trim().to_string())
}

/// A named point in the write protocol where the `failpoints` feature can stop the process,
/// to prove that a run killed there resumes without paying twice. `FAILPOINTS=NAME=return`
/// aborts the process at NAME (like `kill -9`); without the feature this compiles to nothing.
#[inline]
pub fn failpoint(name: &str) {
    let _ = name;
    fail::fail_point!(name, |_| {
        eprintln!("failpoint `{name}` hit: aborting");
        std::process::abort();
    });
}
