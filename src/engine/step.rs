//! Running one step: its `if`, its items, and recording how it ended.

pub mod share;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::Write;
use super::approval;
use super::await_step::{self, Wakeups};
use super::breaker::{Breakers, CredentialsRefused};
use super::call::{self, CallEnv, Halt, ItemEnd};
use super::control::{self, ControlEnd};
use super::progress::Progress;
use super::slot::Slot;
use super::writer::{WriteError, Writer};
use crate::catalog::ActionKind;
use crate::ids::{ItemKey, RunId, StepId};
use crate::plan::CompiledWorkflow;
use crate::plan::checks::step::{Tolerance, parse_tolerance};
use crate::plan::context::List;
use crate::plan::for_each::DEFAULT_ALIAS;
use crate::plan::render::render_with;
use crate::plan::retry::RetryPolicy;
use crate::providers::Provider;
use crate::sensitive::FieldPaths;
use crate::store::{
    ClaimRole, ErrorClass, Outcome, SharedStep, Skip, StepError, StepKey, StepRecord, StepState,
    Store, StoreError,
};
use crate::template::{Scope, Templates};

/// What the steps of one run share.
pub struct Shared {
    /// The compiled workflow.
    pub compiled: Arc<CompiledWorkflow>,
    /// Template renderer.
    pub templates: Arc<Templates>,
    /// Adapters by provider block name.
    pub providers: HashMap<String, Arc<dyn Provider>>,
    /// The checkpoint writer.
    pub writer: Writer,
    /// The run's concurrency limit, shared by every step and item.
    pub slots: Arc<Semaphore>,
    /// The run.
    pub run_id: RunId,
    /// Upper bound on await polling intervals (the sandbox runs fast).
    pub max_poll: Option<Duration>,
    /// The store, for awaits to read stored events.
    pub store: Arc<dyn Store>,
    /// Wake-ups for awaits from a webhook receiver in this process.
    pub wakeups: Wakeups,
    /// Whether to draw progress bars.
    pub progress: bool,
    /// The lease owner name item claims are taken under.
    pub owner: String,
    /// How long an item claim lasts unless renewed.
    pub claim_ttl: Duration,
    /// Whether large batch steps may be shared with live `serve` workers ([`share`]).
    pub share_items: bool,
    /// The provider blocks' breakers.
    pub breakers: Breakers,
    /// Per provider block, the fields of its answers kept redacted.
    pub redactions: HashMap<String, FieldPaths>,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StepEnd {
    /// Succeeded; its output (for `for_each` steps: outputs by item key).
    Succeeded(StepOutput),
    /// Skipped; why.
    Skipped(String),
    /// Failed; why.
    Failed(String),
    /// Stopped for an operator.
    NeedsAttention(String),
    /// Waiting for an operator.
    Waiting(String),
}

/// A succeeded step's output.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutput {
    /// A step that ran once.
    Single(Value),
    /// A `for_each` step, with how many of its items succeeded. Their outputs stay in the
    /// checkpoint store, where the steps that use them read them (a large batch is never
    /// held in memory).
    Items(usize),
}

/// The elements of a `for_each` step, in list order.
#[derive(Debug, Clone)]
pub struct Elements {
    /// Their rendered keys.
    pub keys: Vec<ItemKey>,
    /// The elements, as text; shared, never copied.
    pub list: List,
}

/// How one item ended, without its output (which is in the store by then).
#[derive(Debug, Clone, PartialEq)]
enum End {
    Succeeded,
    Skipped,
    Failed(String),
    NeedsAttention,
    Waiting,
    /// Not sent: its provider's breaker is open; why.
    Held(String),
}

impl From<ItemEnd> for End {
    fn from(end: ItemEnd) -> Self {
        match end {
            ItemEnd::Succeeded(_) => End::Succeeded,
            ItemEnd::Skipped(_) => End::Skipped,
            ItemEnd::Failed(m) => End::Failed(m),
            ItemEnd::NeedsAttention(_) => End::NeedsAttention,
            ItemEnd::Waiting(_) => End::Waiting,
            ItemEnd::Held(m) => End::Held(m),
        }
    }
}

/// Runs step `index`, starting from its stored rows.
///
/// The items of a `for_each` step are rendered here, one after the other in the one
/// `scope` (only the element changes), and each runs as its own task once the step's and
/// the run's concurrency let it: rendering never copies the context, and a finished item
/// keeps nothing but how it ended.
///
/// # Errors
/// [`Halt`] when a checkpoint cannot be written.
pub async fn run(
    shared: Arc<Shared>,
    index: usize,
    scope: Scope,
    rows: Vec<StepRecord>,
    elements: Option<Elements>,
) -> Result<StepEnd, Halt> {
    let step = &shared.compiled.config.steps[index];
    let mut rows = rows.into_iter();
    let parent = rows.next().expect("every step has its own row");
    let Some(elements) = elements else {
        let _slot = shared.slots.clone().acquire_owned().await;
        let rendered = render(&shared, index, &scope, &parent);
        let end = run_item(&shared, index, Part::Step, &parent, rendered, None).await?;
        return Ok(match end {
            ItemEnd::Succeeded(v) => StepEnd::Succeeded(StepOutput::Single(v)),
            ItemEnd::Failed(m) => StepEnd::Failed(m),
            ItemEnd::Skipped(r) => StepEnd::Skipped(r),
            ItemEnd::NeedsAttention(m) => StepEnd::NeedsAttention(m),
            ItemEnd::Waiting(m) | ItemEnd::Held(m) => StepEnd::Waiting(m),
        });
    };
    let rows: Vec<StepRecord> = rows.collect();
    if let Err(why) = preflight(&shared, index).await {
        let open = rows.iter().filter(|r| settled(r).is_none()).count();
        return Ok(StepEnd::Waiting(held_message(open, &why.to_string())));
    }
    let claimer = share_claimer(&shared, index, &parent, &rows, &elements).await?;
    if let Some(claimer) = &claimer {
        publish(&shared, index, &scope, &elements, claimer).await?;
    }
    let mut records = Records::new(rows);
    let mut items = Items::new(&shared, index, scope);
    let keys = &elements.keys;
    let progress = Progress::new(&step.id, keys.len() as u64, shared.progress);
    let mut ends: Vec<Option<End>> = vec![None; keys.len()];
    let mut tasks = JoinSet::new();
    // The first item that had to stop the run: no item starts after it, and the items in
    // flight finish (and record) before the step returns, instead of being dropped mid-call.
    let mut halt: Option<Halt> = None;
    // A shared step's walk (without claims) ends where it runs into an item a helper took;
    // the rest is claimed in `finish_shared`.
    let mut taken = false;
    let reap = |(i, end): (usize, Result<End, Halt>),
                ends: &mut Vec<Option<End>>,
                (halt, taken): (&mut Option<Halt>, &mut bool)| {
        progress.inc();
        match end {
            Ok(end) => ends[i] = Some(end),
            Err(h) if claimer.is_some() && taken_by_other(&h) => *taken = true,
            Err(h) => {
                halt.get_or_insert(h);
            }
        }
    };
    for (i, (key, value)) in keys.iter().zip(elements.list.values()).enumerate() {
        if halt.is_some() || taken {
            break;
        }
        let Some(record) = records.take(i, key) else {
            ends[i] = Some(End::Failed(format!("item `{key}` has no checkpoint row")));
            continue;
        };
        if let Some(end) = settled(&record) {
            progress.inc();
            ends[i] = Some(end);
            continue;
        }
        items
            .start(&mut tasks, record, value, move |end| (i, end))
            .await;
        // Reap finished items as we go so a large batch does not hold every task at once.
        while let Some(done) = tasks.try_join_next() {
            let done = done.expect("item tasks do not panic");
            reap(done, &mut ends, (&mut halt, &mut taken));
        }
    }
    while let Some(done) = tasks.join_next().await {
        let done = done.expect("item tasks do not panic");
        reap(done, &mut ends, (&mut halt, &mut taken));
    }
    if let Some(halt) = halt {
        return Err(halt);
    }
    progress.finish();
    if let Some(claimer) = claimer {
        drop(ends);
        let scope = items.into_scope();
        return finish_shared(&shared, index, scope, &parent, &elements, claimer).await;
    }
    let ends = keys.iter().zip(ends).map(|(k, e)| {
        let end = e.unwrap_or_else(|| End::Failed(format!("item `{k}` is not in the list")));
        (k.clone(), end)
    });
    let tally = Tally::of(ends);
    summarise(&shared, index, &parent, tally).await
}

/// Checks a batch step's provider block before its items go out (at most once a minute per
/// block, see [`Breaker::preflight`](super::breaker::Breaker::preflight)).
async fn preflight(shared: &Shared, index: usize) -> Result<(), CredentialsRefused> {
    let compiled = &shared.compiled.steps[index];
    if !matches!(compiled.action.kind, ActionKind::Read | ActionKind::Write) {
        return Ok(());
    }
    let breaker = compiled
        .provider
        .as_deref()
        .and_then(|name| shared.breakers.get(name));
    match breaker {
        Some(breaker) => breaker.preflight().await,
        None => Ok(()),
    }
}

/// How the step's items are claimed, when it is shared: a large batch of provider calls, when
/// a live `serve` worker other than this process could help with it, or a step a holder
/// before this one shared (whose items other workers may still hold). Alone, a step is not
/// published at all.
async fn share_claimer(
    shared: &Shared,
    index: usize,
    parent: &StepRecord,
    rows: &[StepRecord],
    elements: &Elements,
) -> Result<Option<share::Claimer>, Halt> {
    let step_id = &shared.compiled.config.steps[index].id;
    let kind = shared.compiled.steps[index].action.kind;
    let wanted = shared.share_items
        && matches!(kind, ActionKind::Read | ActionKind::Write)
        && elements.keys.len() >= share::SHARE_FROM_ITEMS
        && helpers_exist(shared).await;
    let shared_before = shared
        .store
        .load_shared_step(&shared.run_id, &StepId::from(step_id))
        .await
        .map_err(store_halt)?
        .is_some();
    Ok((wanted || shared_before).then(|| share::Claimer {
        owner: shared.owner.clone(),
        ttl: shared.claim_ttl,
        first_seq: parent.seq,
        last_seq: rows.iter().map(|r| r.seq).max().unwrap_or(parent.seq),
    }))
}

/// Whether a live `serve` worker other than this process is there to help.
async fn helpers_exist(shared: &Shared) -> bool {
    let now = chrono::Utc::now();
    match shared.store.list_workers().await {
        Ok(workers) => workers
            .iter()
            .any(|w| w.is_live(now) && !w.info.owns(&shared.owner)),
        Err(error) => {
            tracing::warn!(%error, "Cannot list the workers; the step is not shared.");
            false
        }
    }
}

/// Publishes a `for_each` step for other workers to help with: its scope and elements, all
/// they need to render any of its items (again, if a holder before this one published it).
async fn publish(
    shared: &Shared,
    index: usize,
    scope: &Scope,
    elements: &Elements,
    claimer: &share::Claimer,
) -> Result<(), Halt> {
    let step = &shared.compiled.config.steps[index];
    let published = SharedStep {
        run_id: shared.run_id.clone(),
        step_id: StepId::from(&step.id),
        holder: claimer.owner.clone(),
        scope: share::scope_json(scope),
        elements: share::elements_json(elements),
        first_seq: claimer.first_seq,
        last_seq: claimer.last_seq,
    };
    shared
        .store
        .share_step(&published)
        .await
        .map_err(store_halt)?;
    tracing::info!(step = %step.id, items = elements.keys.len(), "Step shared with other workers.");
    Ok(())
}

/// Ends a shared step once its walk is over: claims and runs the items still open that
/// nobody holds (the rest of the list, if the walk ran into the helpers' items; those of
/// workers that died), waits until every item is settled, wherever it ran, and records the
/// step from its items' rows.
async fn finish_shared(
    shared: &Arc<Shared>,
    index: usize,
    scope: Scope,
    parent: &StepRecord,
    elements: &Elements,
    claimer: share::Claimer,
) -> Result<StepEnd, Halt> {
    let step = &shared.compiled.config.steps[index];
    let step_id = StepId::from(&step.id);
    let (ran, held) =
        share::work(shared, index, scope, elements, &claimer, ClaimRole::Holder).await?;
    if let Some(why) = held {
        let open = share::open_items(shared, &step_id)
            .await
            .map_err(store_halt)?;
        return Ok(StepEnd::Waiting(held_message(open as usize, &why)));
    }
    tracing::info!(step = %step.id, items_here = ran, "Every item of the shared step is settled.");
    shared
        .store
        .unshare_step(&shared.run_id, &step_id)
        .await
        .map_err(store_halt)?;
    let tally = Tally::from_store(shared, &step_id)
        .await
        .map_err(store_halt)?;
    summarise(shared, index, parent, tally).await
}

/// Whether a halt only says that another worker has the item: its claim was lost, or its
/// state moved on (settled elsewhere). In a shared step such an item is left to that worker.
fn taken_by_other(halt: &Halt) -> bool {
    let Halt::Store(WriteError::Store(error)) = halt else {
        return false;
    };
    matches!(
        **error,
        StoreError::ClaimLost { .. } | StoreError::InvalidTransition { .. }
    )
}

fn store_halt(error: StoreError) -> Halt {
    Halt::Store(WriteError::Store(Arc::new(error)))
}

/// How a `for_each` step's items ended, counted.
#[derive(Debug, Default)]
struct Tally {
    total: usize,
    succeeded: usize,
    skipped: usize,
    waiting: usize,
    /// Failed items, in list order: key and error.
    failures: Vec<(ItemKey, String)>,
    /// Items that need attention, in list order.
    attention: Vec<ItemKey>,
    /// Items held back by an open breaker, and why (the first item's reason).
    held: usize,
    held_because: Option<String>,
}

impl Tally {
    /// The tally of ends this process saw, in list order.
    fn of(ends: impl Iterator<Item = (ItemKey, End)>) -> Tally {
        let mut tally = Tally::default();
        for (key, end) in ends {
            tally.total += 1;
            match end {
                End::Succeeded => tally.succeeded += 1,
                End::Skipped => tally.skipped += 1,
                End::Waiting => tally.waiting += 1,
                End::Failed(message) => tally.failures.push((key, message)),
                End::NeedsAttention => tally.attention.push(key),
                End::Held(why) => {
                    tally.held += 1;
                    tally.held_because.get_or_insert(why);
                }
            }
        }
        tally
    }

    /// The tally of the step's item rows in the store (items other workers ran included),
    /// read without their outputs.
    async fn from_store(shared: &Shared, step_id: &StepId) -> Result<Tally, StoreError> {
        let mut tally = Tally::default();
        for count in shared.store.count_steps(&shared.run_id).await? {
            if count.step_id != *step_id {
                continue;
            }
            let n = usize::try_from(count.count).unwrap_or(usize::MAX);
            tally.total += n;
            match count.state {
                StepState::Succeeded => tally.succeeded += n,
                StepState::Skipped | StepState::Cancelled => tally.skipped += n,
                StepState::Waiting => tally.waiting += n,
                _ => {}
            }
        }
        // The step's own row is counted with its items.
        tally.total = tally.total.saturating_sub(1);
        let settled = [StepState::Failed, StepState::NeedsAttention];
        for row in shared
            .store
            .steps_in_state(&shared.run_id, &settled)
            .await?
        {
            if row.key.step_id != *step_id || row.key.item_key.is_empty() {
                continue;
            }
            match row.state {
                StepState::Failed => {
                    let message = row.error.map(|e| e.message).unwrap_or_default();
                    tally.failures.push((row.key.item_key, message));
                }
                _ => tally.attention.push(row.key.item_key),
            }
        }
        Ok(tally)
    }
}

/// Starts the items of a `for_each` step, each as its own task once the step's `max_parallel`
/// and the run's `concurrency` let it: rendered one after the other in one scope where only
/// the element changes, so rendering never copies the context.
struct Items<'a> {
    shared: &'a Arc<Shared>,
    index: usize,
    alias: &'a str,
    per_step: Arc<Semaphore>,
    scope: Scope,
}

impl<'a> Items<'a> {
    fn new(shared: &'a Arc<Shared>, index: usize, scope: Scope) -> Self {
        let step = &shared.compiled.config.steps[index];
        Items {
            shared,
            index,
            alias: step.alias.as_deref().unwrap_or(DEFAULT_ALIAS),
            per_step: Arc::new(Semaphore::new(
                step.max_parallel
                    .map_or(Semaphore::MAX_PERMITS, |n| n.max(1) as usize),
            )),
            scope,
        }
    }

    /// Waits for room, renders `record` with `element` as the element, and runs it in a task
    /// of `tasks` that ends with `tag` of how the item ended.
    async fn start<T: Send + 'static>(
        &mut self,
        tasks: &mut JoinSet<T>,
        record: StepRecord,
        element: Value,
        tag: impl FnOnce(Result<End, Halt>) -> T + Send + 'static,
    ) {
        let step_permit = self.per_step.clone().acquire_owned().await;
        let run_permit = self.shared.slots.clone().acquire_owned().await;
        let slot = Slot::new(
            step_permit.expect("never closed"),
            run_permit.expect("never closed"),
        );
        self.scope.insert(self.alias, element);
        let rendered = render(self.shared, self.index, &self.scope, &record);
        let (shared, index) = (self.shared.clone(), self.index);
        tasks.spawn(
            async move {
                let end =
                    run_item(&shared, index, Part::Step, &record, rendered, Some(&slot)).await;
                drop(slot);
                tag(end.map(End::from))
            }
            .in_current_span(),
        );
    }

    /// The scope, for what the step does after its items.
    fn into_scope(self) -> Scope {
        self.scope
    }
}

/// The checkpoint rows of a batch's items. Rows are stored in list order, so item `i`'s row
/// is found by position; only a list that changed since the run was created (`resume
/// --allow-changed`) needs the index by key, built the first time a position does not match.
struct Records {
    rows: Vec<Option<StepRecord>>,
    by_key: Option<HashMap<ItemKey, usize>>,
}

impl Records {
    fn new(rows: Vec<StepRecord>) -> Self {
        Records {
            rows: rows.into_iter().map(Some).collect(),
            by_key: None,
        }
    }

    fn take(&mut self, i: usize, key: &str) -> Option<StepRecord> {
        let at = |r: &Option<StepRecord>| r.as_ref().is_some_and(|r| r.key.item_key == key);
        if self.rows.get(i).is_some_and(at) {
            return self.rows[i].take();
        }
        let rows = &self.rows;
        let by_key = self.by_key.get_or_insert_with(|| {
            rows.iter()
                .enumerate()
                .filter_map(|(j, r)| Some((r.as_ref()?.key.item_key.clone(), j)))
                .collect()
        });
        let j = by_key.remove(key)?;
        self.rows[j].take()
    }
}

/// The end of a step row another process settled while an await watched it (approved,
/// resolved, cancelled), as the await reports it.
pub(super) fn settled_item(record: &StepRecord) -> Option<ItemEnd> {
    let message = || {
        record
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default()
    };
    match record.state {
        StepState::Succeeded => Some(ItemEnd::Succeeded(
            record.output.clone().unwrap_or(Value::Null),
        )),
        StepState::Skipped => Some(ItemEnd::Skipped(
            record.skip_reason.clone().unwrap_or_default(),
        )),
        StepState::Cancelled => Some(ItemEnd::Skipped("cancelled".into())),
        StepState::Failed => Some(ItemEnd::Failed(message())),
        StepState::NeedsAttention => Some(ItemEnd::NeedsAttention(message())),
        StepState::Pending | StepState::Dispatching | StepState::InFlight | StepState::Waiting => {
            None
        }
    }
}

/// The end of an item that needs no work on resume.
fn settled(record: &StepRecord) -> Option<End> {
    match record.state {
        StepState::Succeeded => Some(End::Succeeded),
        StepState::Skipped | StepState::Cancelled => Some(End::Skipped),
        StepState::Failed => Some(End::Failed(
            record
                .error
                .as_ref()
                .map(|e| e.message.clone())
                .unwrap_or_default(),
        )),
        StepState::NeedsAttention => Some(End::NeedsAttention),
        StepState::Pending | StepState::Dispatching | StepState::InFlight | StepState::Waiting => {
            None
        }
    }
}

/// Why a step stopped with `held` items not sent.
fn held_message(held: usize, why: &str) -> String {
    format!(
        "waiting: {held} item(s) not sent, because {why}; fix it, then `sluice resume` continues"
    )
}

/// Records a `for_each` step's own row from how its items ended.
async fn summarise(
    shared: &Shared,
    index: usize,
    parent: &StepRecord,
    tally: Tally,
) -> Result<StepEnd, Halt> {
    let tolerance = shared.compiled.config.steps[index]
        .tolerate_failures
        .as_deref();
    let Tally {
        total,
        succeeded,
        skipped,
        waiting,
        failures,
        attention,
        held,
        held_because,
    } = tally;
    if let Some(why) = held_because {
        // Nothing was recorded for the held items: the step stays open and resumes from them.
        return Ok(StepEnd::Waiting(held_message(held, &why)));
    }
    if !attention.is_empty() {
        let keys: Vec<String> = attention.iter().take(5).map(|k| format!("`{k}`")).collect();
        return Ok(StepEnd::NeedsAttention(format!(
            "{} item(s) need attention: {}{}",
            attention.len(),
            keys.join(", "),
            if attention.len() > 5 { ", …" } else { "" }
        )));
    }
    if waiting > 0 {
        return Ok(StepEnd::Waiting(format!("{waiting} item(s) waiting")));
    }
    let allowed = match tolerance.and_then(parse_tolerance) {
        Some(Tolerance::Count(n)) => n as usize,
        Some(Tolerance::Percent(p)) => {
            use rust_decimal::prelude::ToPrimitive;
            let share = p * rust_decimal::Decimal::from(total) / rust_decimal::Decimal::ONE_HUNDRED;
            share.floor().to_usize().unwrap_or(0)
        }
        None => 0,
    };
    let failed = failures.len();
    let key = parent.key.clone();
    if failed > allowed {
        let first: Vec<String> = failures
            .iter()
            .take(3)
            .map(|(k, m)| format!("`{k}`: {m}"))
            .collect();
        let message = format!(
            "{failed} of {total} items failed (tolerated: {allowed}); {}",
            first.join("; ")
        );
        write_result(
            shared,
            key,
            Outcome::Failed(StepError::new(ErrorClass::Items, message.clone())),
        )
        .await?;
        return Ok(StepEnd::Failed(message));
    }
    if let Some(end) = super::settle::wait(shared, index, &key).await? {
        return Ok(end);
    }
    let failures: Vec<Value> = failures
        .into_iter()
        .map(|(k, m)| json!({ "key": k, "error": m }))
        .collect();
    let summary = json!({
        "items": total,
        "succeeded": succeeded,
        "skipped": skipped,
        "failed": failed,
        "failures": failures,
    });
    write_result(
        shared,
        key,
        Outcome::Succeeded {
            output: summary,
            provider_ref: None,
        },
    )
    .await?;
    Ok(StepEnd::Succeeded(StepOutput::Items(succeeded)))
}

async fn write_result(shared: &Shared, key: StepKey, outcome: Outcome) -> Result<(), Halt> {
    shared.writer.result(key, outcome).await?;
    Ok(())
}

/// A step row's templates, rendered: the request, or why the row does not run.
enum Rendered {
    /// The rendered `with`.
    Request(Map<String, Value>),
    /// `if` is false; the reason.
    Skip(String),
    /// A template failed; the message.
    Invalid(String),
}

/// Renders a step row's `if` (for a row that has not started) and `with`.
fn render(shared: &Shared, index: usize, scope: &Scope, record: &StepRecord) -> Rendered {
    let step = &shared.compiled.config.steps[index];
    if let Some(cond) = &step.condition
        && record.state == StepState::Pending
    {
        match shared.templates.render_bool(cond, scope) {
            Ok(true) => {}
            Ok(false) => return Rendered::Skip(format!("`if` is false: {cond}")),
            Err(e) => return Rendered::Invalid(format!("`if`: {e}")),
        }
    }
    let action = shared.compiled.steps[index].action;
    match render_with(&shared.templates, action, &step.with, scope) {
        Ok(request) => Rendered::Request(request),
        Err(e) => Rendered::Invalid(format!("`with`: {e}")),
    }
}

/// Which action of step `index` a row runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The step's own.
    Step,
    /// Its `compensate:`, on its undo rows.
    Undo,
}

/// Runs one undo row of step `index` (the step's, or one item's) with its rendered `request`,
/// under the same protocol, retry policy and timeout as the step's own rows.
///
/// # Errors
/// [`Halt`] when a checkpoint cannot be written.
pub(super) async fn run_undo(
    shared: &Shared,
    index: usize,
    record: &StepRecord,
    request: Map<String, Value>,
) -> Result<ItemEnd, Halt> {
    let rendered = Rendered::Request(request);
    run_item(shared, index, Part::Undo, record, rendered, None).await
}

/// Runs one step row (the step itself, or one item holding `slot`) from its rendered
/// templates, inside a span carrying the run, step and item, so every log line of the item
/// says which it is.
async fn run_item(
    shared: &Shared,
    index: usize,
    part: Part,
    record: &StepRecord,
    rendered: Rendered,
    slot: Option<&Slot>,
) -> Result<ItemEnd, Halt> {
    let span = tracing::info_span!(
        "item",
        run_id = %record.key.run_id,
        step = %record.key.step_id,
        item = %record.key.item_key,
    );
    run_item_inner(shared, index, part, record, rendered, slot)
        .instrument(span)
        .await
}

async fn run_item_inner(
    shared: &Shared,
    index: usize,
    part: Part,
    record: &StepRecord,
    rendered: Rendered,
    slot: Option<&Slot>,
) -> Result<ItemEnd, Halt> {
    let compiled = &shared.compiled;
    let step = &compiled.config.steps[index];
    let (action, provider) = match (part, &compiled.steps[index].undo) {
        (Part::Undo, Some(undo)) => (undo.action, Some(undo.provider.as_str())),
        _ => (
            compiled.steps[index].action,
            compiled.steps[index].provider.as_deref(),
        ),
    };
    let request = match rendered {
        Rendered::Request(request) => request,
        Rendered::Skip(reason) => {
            shared
                .writer
                .write(Write::Skip(Skip {
                    key: record.key.clone(),
                    reason: reason.clone(),
                }))
                .await?;
            return Ok(ItemEnd::Skipped(reason));
        }
        Rendered::Invalid(message) => return record_failure(shared, record, message).await,
    };
    let policy = RetryPolicy::resolve(step.retry.as_ref(), compiled.config.defaults.retry.as_ref());
    let timeout = step
        .timeout
        .or(compiled.config.defaults.timeout)
        .map(|t| t.get());
    match action.kind {
        ActionKind::Control => run_control(shared, record, action.name, &request).await,
        kind => {
            let name = provider.unwrap_or_default();
            let Some(provider) = shared.providers.get(name) else {
                return record_failure(
                    shared,
                    record,
                    format!("provider `{name}` is not configured"),
                )
                .await;
            };
            let env = CallEnv {
                provider,
                breaker: shared.breakers.get(name),
                redact: shared.redactions.get(name),
                writer: &shared.writer,
                policy,
                deadline: timeout.map(|t| tokio::time::Instant::now() + t),
                // A step's own output feeds later templates; an item's is read back if used.
                keep_output: record.key.item_key.is_empty(),
                slot,
            };
            if kind == ActionKind::Await {
                let env = await_step::AwaitEnv {
                    call: &env,
                    store: &shared.store,
                    wakeups: &shared.wakeups,
                    max_poll: shared.max_poll,
                };
                await_step::run(&env, record, &request).await
            } else {
                call::run(&env, kind, action.name, record, request).await
            }
        }
    }
}

async fn run_control(
    shared: &Shared,
    record: &StepRecord,
    action: &str,
    request: &Map<String, Value>,
) -> Result<ItemEnd, Halt> {
    let end = control::run(action, &record.key.step_id, &shared.run_id, request);
    match end {
        ControlEnd::Sleep(d) => tokio::time::sleep(d).await,
        ControlEnd::AwaitApproval(asked, tell) => {
            return approval::wait(&shared.writer, record, *asked, tell).await;
        }
        ControlEnd::Done(_) | ControlEnd::Failed(_) => {}
    }
    let end: ItemEnd = end.into();
    let outcome = match &end {
        ItemEnd::Succeeded(v) => Outcome::Succeeded {
            output: v.clone(),
            provider_ref: None,
        },
        ItemEnd::Failed(m) => {
            // A failed control step is classed by its action's name (`assert`, `sleep`).
            let Ok(class) = action.parse::<ErrorClass>();
            Outcome::Failed(StepError::new(class, m.clone()))
        }
        _ => return Ok(end),
    };
    write_result(shared, record.key.clone(), outcome).await?;
    Ok(end)
}

async fn record_failure(
    shared: &Shared,
    record: &StepRecord,
    message: String,
) -> Result<ItemEnd, Halt> {
    write_result(
        shared,
        record.key.clone(),
        Outcome::Failed(StepError::new(ErrorClass::Template, message.clone())),
    )
    .await?;
    Ok(ItemEnd::Failed(message))
}
