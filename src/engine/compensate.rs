//! The undo path of a run under `on_failure: compensate` (README, *Compensation*).
//!
//! When a step fails for good, the steps (and items) that succeeded and declare `compensate:`
//! are undone one at a time, last completed first. Each undo is a row of its own
//! (`<step>.compensate`, created with the run, so its idempotency key exists before the step
//! it undoes was dispatched) and runs through the same call protocol as any write
//! ([`super::call`]): dispatch, send, record, and a lookup when in doubt. A resumed run walks
//! the same path again: undos already recorded are not sent again, and one found in doubt is
//! looked up first. The run ends `compensated` only when every undo succeeded; anything else
//! (a refused undo, a step or undo whose fate cannot be told) ends it `compensation_failed`,
//! naming what an operator must look at.
//!
//! What decides *whether* to compensate is here too: never past the pivot, never for a
//! failed `saga: retriable` step (both go forward for an operator instead).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::call::{Halt, ItemEnd};
use super::executor::RunReport;
use super::prepare::item_keys;
use super::step::{self, Shared};
use crate::ids::{ItemKey, StepId};
use crate::plan::context::{RunContext, Uses};
use crate::plan::for_each::DEFAULT_ALIAS;
use crate::plan::render::render_with;
use crate::spec::{OnFailure, SagaRole};
use crate::store::{Outcome, RunStatus, StepRecord, StepState, StoreError};
use crate::template::Scope;

/// What a run that ended `report` does next: `report` itself, unless the workflow asks for
/// compensation of a failure, which then runs.
///
/// # Errors
/// [`Halt`] when a checkpoint cannot be written; [`StoreError`] reading rows.
pub async fn after(
    shared: &Arc<Shared>,
    ctx: &RunContext,
    failed: &[usize],
    report: RunReport,
) -> Result<RunReport, Failure> {
    let compiled = &shared.compiled;
    if compiled.config.on_failure != OnFailure::Compensate || report.status != RunStatus::Failed {
        return Ok(report);
    }
    if let Some(why) = forward_only(shared, failed).await? {
        let mut messages = report.messages;
        messages.push(why);
        return Ok(RunReport {
            status: RunStatus::NeedsAttention,
            messages,
            ..report
        });
    }
    shared
        .store
        .set_run_status(&shared.run_id, RunStatus::Compensating, None)
        .await?;
    let targets = targets(shared).await?;
    let mut problems = Vec::new();
    let mut undone = 0;
    // Per batch step: how many of its items were undone, and whether all went well.
    let mut batches: BTreeMap<usize, (usize, bool)> = BTreeMap::new();
    for target in &targets {
        let end = undo(shared, ctx, target).await?;
        if !target.row.key.item_key.is_empty() {
            let batch = batches.entry(target.index).or_insert((0, true));
            batch.0 += usize::from(matches!(end, Undone::Yes));
            batch.1 &= !matches!(end, Undone::No(_));
        }
        match end {
            Undone::Yes => undone += 1,
            Undone::Nothing => {}
            Undone::No(why) => problems.push(why),
        }
    }
    for (index, (n, all)) in batches {
        if all {
            close_batch(shared, index, n).await?;
        }
    }
    let mut messages = report.messages;
    let status = if problems.is_empty() {
        messages.push(format!("compensated: {undone} undo(s) succeeded"));
        RunStatus::Compensated
    } else {
        messages.extend(problems);
        RunStatus::CompensationFailed
    };
    Ok(RunReport {
        status,
        messages,
        ..report
    })
}

/// Records a batch step's own undo row once every item's undo is done, so that it reads as
/// done too (an undo row another pass already closed is left alone).
async fn close_batch(shared: &Shared, index: usize, undone: usize) -> Result<(), Failure> {
    let undo_id = StepId::from(&shared.compiled.steps[index].id).undo();
    let rows = shared
        .store
        .load_step_rows(&shared.run_id, &undo_id)
        .await?;
    let Some(parent) = rows.into_iter().find(|r| r.key.item_key.is_empty()) else {
        return Ok(());
    };
    if parent.state != StepState::Pending {
        return Ok(());
    }
    let outcome = Outcome::Succeeded {
        output: serde_json::json!({ "undone": undone }),
        provider_ref: None,
    };
    shared
        .writer
        .result(parent.key, outcome)
        .await
        .map_err(Halt::from)?;
    Ok(())
}

/// Why compensation stopped the run.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A checkpoint could not be written.
    #[error(transparent)]
    Halt(#[from] Halt),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the failure goes forward instead of back, if it does: the pivot succeeded, or a step
/// that must complete failed.
async fn forward_only(shared: &Shared, failed: &[usize]) -> Result<Option<String>, StoreError> {
    let config = &shared.compiled.config;
    if let Some(&i) = failed
        .iter()
        .find(|&&i| config.steps[i].saga == Some(SagaRole::Retriable))
    {
        return Ok(Some(format!(
            "`{}` must complete (`saga: retriable`): nothing is undone; fix the cause, then `sluice retry {} --failed`",
            config.steps[i].id, shared.run_id
        )));
    }
    let Some(pivot) = config
        .steps
        .iter()
        .find(|s| s.saga == Some(SagaRole::Pivot))
    else {
        return Ok(None);
    };
    let rows = shared
        .store
        .load_step_rows(&shared.run_id, &StepId::from(&pivot.id))
        .await?;
    let passed = rows
        .first()
        .is_some_and(|r| r.state == StepState::Succeeded);
    Ok(passed.then(|| {
        format!(
            "the pivot `{}` succeeded, so the run goes forward and nothing is undone: fix the cause, then `sluice retry {} --failed`",
            pivot.id, shared.run_id
        )
    }))
}

/// One row to undo: a step's own (or one item's) and the step's index.
struct Target {
    index: usize,
    row: StepRecord,
}

/// Every row of a step with `compensate:` that may need undoing, last completed first.
async fn targets(shared: &Shared) -> Result<Vec<Target>, StoreError> {
    let compiled = &shared.compiled;
    let mut targets = Vec::new();
    for (index, step) in compiled.steps.iter().enumerate() {
        if step.undo.is_none() {
            continue;
        }
        let rows = shared
            .store
            .load_step_rows(&shared.run_id, &StepId::from(&step.id))
            .await?;
        let per_item = compiled.config.steps[index].for_each.is_some();
        let rows = rows
            .into_iter()
            .filter(|r| r.key.item_key.is_empty() != per_item);
        targets.extend(rows.map(|row| Target { index, row }));
    }
    // Completion order is the order the results were recorded in; rows recorded in one
    // commit keep their plan order.
    targets.sort_by_key(|t| std::cmp::Reverse((t.row.updated_at, t.row.seq)));
    Ok(targets)
}

/// How undoing one row went.
enum Undone {
    /// Its undo succeeded (now or before).
    Yes,
    /// Nothing to undo: it never happened.
    Nothing,
    /// Not undone; what an operator must look at.
    No(String),
}

/// Undoes one row, if it happened, through its undo row.
async fn undo(shared: &Shared, ctx: &RunContext, target: &Target) -> Result<Undone, Failure> {
    let row = &target.row;
    let name = describe(&row.key.step_id, &row.key.item_key);
    match row.state {
        StepState::Succeeded => {}
        // The call protocol looked it up when it ended in doubt and could not tell: an
        // operator must say whether it happened before it can be undone.
        StepState::NeedsAttention | StepState::Dispatching | StepState::InFlight => {
            return Ok(Undone::No(format!(
                "{name} is in doubt, so it was not undone: check it at the provider, resolve it (`sluice resolve {} {}`), then `sluice resume {}`",
                shared.run_id,
                target_arg(&row.key.step_id, &row.key.item_key),
                shared.run_id
            )));
        }
        StepState::Pending
        | StepState::Waiting
        | StepState::Failed
        | StepState::Skipped
        | StepState::Cancelled => return Ok(Undone::Nothing),
    }
    let undo_id = row.key.step_id.undo();
    let undo_row = shared
        .store
        .load_step_rows(&shared.run_id, &undo_id)
        .await?
        .into_iter()
        .find(|r| r.key.item_key == row.key.item_key);
    let Some(undo_row) = undo_row else {
        return Ok(Undone::No(format!("{name} has no undo row")));
    };
    let undo_name = describe(&undo_id, &row.key.item_key);
    match undo_row.state {
        StepState::Succeeded => return Ok(Undone::Yes),
        StepState::Failed | StepState::NeedsAttention => {
            return Ok(Undone::No(ended(&undo_name, &undo_row)));
        }
        _ => {}
    }
    let request = match render(shared, ctx, target).await {
        Ok(request) => request,
        Err(why) => return Ok(Undone::No(format!("{undo_name} cannot be rendered: {why}"))),
    };
    tracing::info!(step = %undo_id, item = %row.key.item_key, "Undoing.");
    Ok(
        match step::run_undo(shared, target.index, &undo_row, request).await? {
            ItemEnd::Succeeded(_) => Undone::Yes,
            ItemEnd::Skipped(_) => Undone::Nothing,
            ItemEnd::Failed(m) => Undone::No(format!("{undo_name} failed: {m}")),
            ItemEnd::NeedsAttention(m) => Undone::No(format!("{undo_name} needs attention: {m}")),
            ItemEnd::Waiting(m) | ItemEnd::Held(m) => {
                Undone::No(format!("{undo_name} was not sent: {m}"))
            }
        },
    )
}

/// The undo's request for one row: `with` rendered over the inputs, the run, the row's own
/// output as `steps.<id>.output` and, for an item, its element under the step's alias.
async fn render(
    shared: &Shared,
    ctx: &RunContext,
    target: &Target,
) -> Result<Map<String, Value>, String> {
    let compiled = &shared.compiled;
    let step = &compiled.config.steps[target.index];
    let undo = step
        .compensate
        .as_ref()
        .expect("a target has `compensate:`");
    let action = compiled.steps[target.index]
        .undo
        .as_ref()
        .expect("a target has an undo")
        .action;
    let uses = Uses::of(templates(&undo.with).iter().map(String::as_str));
    let mut data = ctx.for_step(&uses);
    let mut own = Map::new();
    own.insert(
        "output".into(),
        target.row.output.clone().unwrap_or(Value::Null),
    );
    if let Some(Value::Object(steps)) = data.get_mut("steps") {
        steps.insert(step.id.clone(), Value::Object(own));
    }
    let mut scope = Scope::new(Value::Object(data));
    if let (Some(expr), Some(key)) = (&step.for_each, &step.key) {
        let alias = step.alias.as_deref().unwrap_or(DEFAULT_ALIAS);
        let element = element(
            shared,
            ctx,
            (&step.id, expr, key, alias),
            &target.row.key.item_key,
        )?;
        scope.insert(alias, element);
    }
    render_with(&shared.templates, action, &undo.with, &scope).map_err(|e| e.to_string())
}

/// The element of a `for_each` step whose key is `item`.
fn element(
    shared: &Shared,
    ctx: &RunContext,
    (id, expr, key, alias): (&str, &str, &str, &str),
    item: &ItemKey,
) -> Result<Value, String> {
    let list = ctx.list(id, expr).map_err(|e| e.to_string())?;
    let key_scope = Scope::new(Value::Object(ctx.for_step(&Uses::of([key]))));
    let keys = item_keys(&shared.templates, id, alias, key, list.values(), key_scope)
        .map_err(|e| e.to_string())?;
    let at: HashMap<&ItemKey, usize> = keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let i = at
        .get(item)
        .ok_or_else(|| format!("item `{item}` is no longer in the list"))?;
    list.values()
        .nth(*i)
        .ok_or_else(|| format!("item `{item}` is no longer in the list"))
}

fn templates(with: &Map<String, Value>) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    with.values().for_each(|v| walk(v, &mut out));
    out
}

fn describe(step: &StepId, item: &ItemKey) -> String {
    format!("`{}`", target_arg(step, item))
}

/// A row as the operator commands name it: `STEP` or `STEP[ITEM]`.
fn target_arg(step: &StepId, item: &ItemKey) -> String {
    if item.is_empty() {
        step.to_string()
    } else {
        format!("{step}[{item}]")
    }
}

fn ended(name: &str, row: &StepRecord) -> String {
    let why = row
        .error
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_default();
    format!("{name} {}: {why}", row.state.as_str())
}
