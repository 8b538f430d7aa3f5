//! Turning a due slot into the run to create: its inputs (from `schedule.inputs`), every
//! step and `for_each` item row, and the hashes binding it to its file and inputs, as
//! `Engine::create` does for `sluice run`; here the store then creates the run together
//! with the slot's claim (`ScheduleStore::start_slot_run`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::inputs::{self, SlotInputError};
use super::workflow::ScheduledWorkflow;
use crate::engine::EngineError;
use crate::engine::prepare::{inputs_hash, step_rows, workflow_hash};
use crate::plan::inputs::resolve;
use crate::store::{NewRun, NewStep};
use crate::template::{Scope, Templates};

/// Why a slot's run could not be prepared. The slot is then recorded with a `failed` run
/// carrying this message.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    /// `schedule.inputs` did not give valid inputs.
    #[error(transparent)]
    Inputs(#[from] SlotInputError),
    /// The inputs did not expand into steps (a `for_each` list with duplicate keys, say).
    #[error(transparent)]
    Steps(#[from] EngineError),
}

/// The run for `slot` of `workflow`, named `run_id`, with its step rows.
///
/// # Errors
/// [`SlotError`] when the inputs do not render, cannot be read or do not fit, or do not
/// expand into steps.
pub fn slot_run(
    workflow: &ScheduledWorkflow,
    slot: DateTime<Utc>,
    run_id: &str,
    templates: &Templates,
) -> Result<(NewRun, Vec<NewStep>), SlotError> {
    let config = &workflow.compiled.config;
    let schedule_inputs = config
        .schedule
        .as_ref()
        .map(|s| s.inputs.clone())
        .unwrap_or_default();
    let given = inputs::render(
        &schedule_inputs,
        slot,
        workflow.schedule.timezone(),
        templates,
    )?;
    let inputs = resolve(&config.inputs, &given).map_err(SlotInputError::Invalid)?;
    let base = Scope::new(json!({
        "inputs": Value::Object(inputs.clone()),
        "steps": {},
        "run": {
            "id": run_id,
            "started_at": "",
            "scheduled_for": slot.to_rfc3339_opts(SecondsFormat::Secs, true),
        },
    }));
    let steps = step_rows(&workflow.compiled, templates, &inputs, &base)?;
    Ok((new_run(workflow, slot, run_id, inputs), steps))
}

/// The run recorded as failed when [`slot_run`] could not prepare one: no inputs, no steps.
pub fn failed_run(workflow: &ScheduledWorkflow, slot: DateTime<Utc>, run_id: &str) -> NewRun {
    new_run(workflow, slot, run_id, Map::new())
}

fn new_run(
    workflow: &ScheduledWorkflow,
    slot: DateTime<Utc>,
    run_id: &str,
    inputs: Map<String, Value>,
) -> NewRun {
    NewRun {
        id: run_id.to_string(),
        workflow_name: workflow.name().to_string(),
        workflow_path: workflow.path.clone(),
        workflow_hash: workflow_hash(&workflow.text),
        inputs_hash: inputs_hash(&inputs),
        inputs: Value::Object(inputs),
        plan_hash: None,
        scheduled_for: Some(slot),
    }
}
