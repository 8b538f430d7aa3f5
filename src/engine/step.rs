//! Running one step: its `if`, its items, and recording how it ended.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Write;
use super::await_step::{self, Wakeups};
use super::call::{self, CallEnv, Halt, ItemEnd};
use super::control::{self, ControlEnd};
use super::prepare::{DEFAULT_ALIAS, Item};
use super::progress::Progress;
use super::retry::RetryPolicy;
use super::writer::Writer;
use crate::plan::CompiledWorkflow;
use crate::plan::checks::step::{Tolerance, parse_tolerance};
use crate::providers::Provider;
use crate::spec::actions::ActionKind;
use crate::store::{
    Outcome, Skip, StepError, StepKey, StepRecord, StepResult, StepState, Store, Waiting,
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
    pub run_id: String,
    /// Upper bound on await polling intervals (the sandbox runs fast).
    pub max_poll: Option<Duration>,
    /// The store, for awaits to read stored events.
    pub store: Arc<dyn Store>,
    /// Wake-ups for awaits from a webhook receiver in this process.
    pub wakeups: Wakeups,
    /// Whether to draw progress bars.
    pub progress: bool,
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
    /// A `for_each` step's items, in order, with their outputs (skipped and failed items
    /// tolerated by `tolerate_failures` have none).
    Items(Vec<(String, Value)>),
}

/// Runs step `index`, starting from its stored rows.
///
/// # Errors
/// [`Halt`] when a checkpoint cannot be written.
pub async fn run(
    shared: Arc<Shared>,
    index: usize,
    scope: Scope,
    rows: Vec<StepRecord>,
    items: Option<Vec<Item>>,
) -> Result<StepEnd, Halt> {
    let step = &shared.compiled.config.steps[index];
    let mut rows = rows.into_iter();
    let parent = rows.next().expect("every step has its own row");
    let Some(items) = items else {
        let _slot = shared.slots.clone().acquire_owned().await;
        let end = run_item(&shared, index, &scope, &parent).await?;
        return Ok(match end {
            ItemEnd::Succeeded(v) => StepEnd::Succeeded(StepOutput::Single(v)),
            ItemEnd::Failed(m) => StepEnd::Failed(m),
            ItemEnd::Skipped(r) => StepEnd::Skipped(r),
            ItemEnd::NeedsAttention(m) => StepEnd::NeedsAttention(m),
            ItemEnd::Waiting(m) => StepEnd::Waiting(m),
        });
    };
    let by_key: HashMap<String, StepRecord> = rows.map(|r| (r.key.item_key.clone(), r)).collect();
    let alias = step.alias.as_deref().unwrap_or(DEFAULT_ALIAS);
    let per_step = Arc::new(Semaphore::new(
        step.max_parallel
            .map_or(Semaphore::MAX_PERMITS, |n| n.max(1) as usize),
    ));
    let progress = Progress::new(&step.id, items.len() as u64, shared.progress);
    let mut ends: Vec<Option<ItemEnd>> = vec![None; items.len()];
    let mut tasks = JoinSet::new();
    for (i, item) in items.iter().enumerate() {
        let Some(record) = by_key.get(&item.key).cloned() else {
            ends[i] = Some(ItemEnd::Failed(format!(
                "item `{}` has no checkpoint row",
                item.key
            )));
            continue;
        };
        if let Some(end) = settled(&record) {
            progress.inc();
            ends[i] = Some(end);
            continue;
        }
        let step_permit = per_step
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let run_permit = shared
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let mut item_scope = scope.clone();
        item_scope.insert(alias, item.value.clone());
        let shared = shared.clone();
        tasks.spawn(async move {
            let end = run_item(&shared, index, &item_scope, &record).await;
            drop((step_permit, run_permit));
            (i, end)
        });
        // Reap finished items as we go so a large batch does not hold every result at once.
        while let Some(done) = tasks.try_join_next() {
            let (i, end) = done.expect("item tasks do not panic");
            progress.inc();
            ends[i] = Some(end?);
        }
    }
    while let Some(done) = tasks.join_next().await {
        let (i, end) = done.expect("item tasks do not panic");
        progress.inc();
        ends[i] = Some(end?);
    }
    progress.finish();
    let ends: Vec<(String, ItemEnd)> = items
        .iter()
        .zip(ends)
        .map(|(it, e)| (it.key.clone(), e.expect("every item ended")))
        .collect();
    summarise(&shared, &parent, step.tolerate_failures.as_deref(), ends).await
}

/// The end of an item that needs no work on resume.
pub(super) fn settled(record: &StepRecord) -> Option<ItemEnd> {
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
        StepState::Failed => Some(ItemEnd::Failed(message())),
        StepState::NeedsAttention => Some(ItemEnd::NeedsAttention(message())),
        StepState::Cancelled => Some(ItemEnd::Skipped("cancelled".into())),
        StepState::Pending | StepState::Dispatching | StepState::InFlight | StepState::Waiting => {
            None
        }
    }
}

/// Records a `for_each` step's own row from its items' ends.
async fn summarise(
    shared: &Shared,
    parent: &StepRecord,
    tolerance: Option<&str>,
    ends: Vec<(String, ItemEnd)>,
) -> Result<StepEnd, Halt> {
    let count = |f: fn(&ItemEnd) -> bool| ends.iter().filter(|(_, e)| f(e)).count();
    let failed = count(|e| matches!(e, ItemEnd::Failed(_)));
    let attention: Vec<&String> = ends
        .iter()
        .filter_map(|(k, e)| matches!(e, ItemEnd::NeedsAttention(_)).then_some(k))
        .collect();
    let waiting = count(|e| matches!(e, ItemEnd::Waiting(_)));
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
    let total = ends.len();
    let allowed = match tolerance.and_then(parse_tolerance) {
        Some(Tolerance::Count(n)) => n as usize,
        Some(Tolerance::Percent(p)) => {
            use rust_decimal::prelude::ToPrimitive;
            let share = p * rust_decimal::Decimal::from(total) / rust_decimal::Decimal::ONE_HUNDRED;
            share.floor().to_usize().unwrap_or(0)
        }
        None => 0,
    };
    let failures: Vec<Value> = ends
        .iter()
        .filter_map(|(k, e)| match e {
            ItemEnd::Failed(m) => Some(json!({ "key": k, "error": m })),
            _ => None,
        })
        .collect();
    let summary = json!({
        "items": total,
        "succeeded": count(|e| matches!(e, ItemEnd::Succeeded(_))),
        "skipped": count(|e| matches!(e, ItemEnd::Skipped(_))),
        "failed": failed,
        "failures": failures,
    });
    let key = parent.key.clone();
    if failed > allowed {
        let first: Vec<String> = failures
            .iter()
            .take(3)
            .map(|f| {
                format!(
                    "`{}`: {}",
                    f["key"].as_str().unwrap_or_default(),
                    f["error"].as_str().unwrap_or_default()
                )
            })
            .collect();
        let message = format!(
            "{failed} of {total} items failed (tolerated: {allowed}); {}",
            first.join("; ")
        );
        write_result(
            shared,
            key,
            Outcome::Failed(StepError::new("items", message.clone())),
        )
        .await?;
        return Ok(StepEnd::Failed(message));
    }
    write_result(
        shared,
        key,
        Outcome::Succeeded {
            output: summary,
            provider_ref: None,
        },
    )
    .await?;
    let outputs = ends
        .into_iter()
        .filter_map(|(k, e)| match e {
            ItemEnd::Succeeded(v) => Some((k, v)),
            _ => None,
        })
        .collect();
    Ok(StepEnd::Succeeded(StepOutput::Items(outputs)))
}

async fn write_result(shared: &Shared, key: StepKey, outcome: Outcome) -> Result<(), Halt> {
    shared
        .writer
        .write(Write::Result(StepResult {
            key,
            outcome,
            attempt: None,
        }))
        .await?;
    Ok(())
}

/// Runs one step row (the step itself, or one item): `if`, rendering, then the action.
async fn run_item(
    shared: &Shared,
    index: usize,
    scope: &Scope,
    record: &StepRecord,
) -> Result<ItemEnd, Halt> {
    let compiled = &shared.compiled;
    let step = &compiled.config.steps[index];
    let action = compiled.steps[index].action;
    if let Some(cond) = &step.condition
        && record.state == StepState::Pending
    {
        match shared.templates.render_bool(cond, scope) {
            Ok(true) => {}
            Ok(false) => {
                let reason = format!("`if` is false: {cond}");
                shared
                    .writer
                    .write(Write::Skip(Skip {
                        key: record.key.clone(),
                        reason: reason.clone(),
                    }))
                    .await?;
                return Ok(ItemEnd::Skipped(reason));
            }
            Err(e) => return record_failure(shared, record, format!("`if`: {e}")).await,
        }
    }
    let request = match shared
        .templates
        .render_value(&Value::Object(step.with.clone()), scope)
    {
        Ok(Value::Object(map)) => map,
        Ok(_) => Map::new(),
        Err(e) => return record_failure(shared, record, format!("`with`: {e}")).await,
    };
    let policy = RetryPolicy::resolve(step.retry.as_ref(), compiled.config.defaults.retry.as_ref());
    let timeout = step
        .timeout
        .or(compiled.config.defaults.timeout)
        .map(|t| t.get());
    match action.kind {
        ActionKind::Control => run_control(shared, record, action.name, &request).await,
        kind => {
            let name = compiled.steps[index]
                .provider
                .as_deref()
                .unwrap_or_default();
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
                writer: &shared.writer,
                policy,
                deadline: timeout.map(|t| tokio::time::Instant::now() + t),
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
        ControlEnd::AwaitApproval(ref message) => {
            shared
                .writer
                .write(Write::Wait(Waiting {
                    key: record.key.clone(),
                    request: Some(json!({ "approval": true, "message": message })),
                    next_check_at: None,
                    deadline_at: None,
                }))
                .await?;
            return Ok(end.into());
        }
        ControlEnd::Done(_) | ControlEnd::Failed(_) => {}
    }
    let end: ItemEnd = end.into();
    let outcome = match &end {
        ItemEnd::Succeeded(v) => Outcome::Succeeded {
            output: v.clone(),
            provider_ref: None,
        },
        ItemEnd::Failed(m) => Outcome::Failed(StepError::new(action, m.clone())),
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
        Outcome::Failed(StepError::new("template", message.clone())),
    )
    .await?;
    Ok(ItemEnd::Failed(message))
}
