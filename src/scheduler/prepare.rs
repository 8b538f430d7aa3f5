//! Turning a due slot into the run to create: its inputs (from `schedule.inputs`), every
//! step and `for_each` item row, and the hashes binding it to its file and inputs, as
//! `Engine::create` does for `sluice run`; here the store then creates the run together
//! with the slot's claim (`ScheduleStore::start_slot_run`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::inputs::{self, SlotInputError};
use super::workflow::ScheduledWorkflow;
use crate::engine::EngineError;
use crate::engine::prepare::notify_routes;
use crate::engine::{PreparedRun, RunSource, new_run, schedule_starter};
use crate::ids::RunId;
use crate::plan::fingerprint::{inputs_hash, workflow_hash};
use crate::plan::inputs::resolve;
use crate::store::NewRun;
use crate::template::Templates;

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

/// The run for `slot` of `workflow`, named `run_id`, with its step rows, and its real
/// inputs when they carry card data the run's row keeps masked (`engine::held`).
///
/// # Errors
/// [`SlotError`] when the inputs do not render, cannot be read or do not fit, or do not
/// expand into steps.
pub fn slot_run(
    workflow: &ScheduledWorkflow,
    slot: DateTime<Utc>,
    run_id: &RunId,
    templates: &Templates,
) -> Result<PreparedRun, SlotError> {
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
    let source = RunSource {
        path: &workflow.path,
        text: &workflow.text,
        inputs,
        run_id: Some(run_id.clone()),
        scheduled_for: Some(slot),
        plan_hash: None,
        started_by: schedule_starter(workflow.name()),
    };
    Ok(new_run(templates, &workflow.compiled, source)?)
}

/// The run recorded as failed when [`slot_run`] could not prepare one: no inputs, no steps.
pub fn failed_run(workflow: &ScheduledWorkflow, slot: DateTime<Utc>, run_id: &RunId) -> NewRun {
    let inputs = Map::new();
    NewRun {
        id: run_id.clone(),
        workflow_name: workflow.name().to_string(),
        workflow_path: workflow.path.clone(),
        workflow_hash: workflow_hash(&workflow.text),
        inputs_hash: inputs_hash(&inputs),
        inputs: Value::Object(inputs),
        plan_hash: None,
        scheduled_for: Some(slot),
        started_by: schedule_starter(workflow.name()),
        notify: notify_routes(&workflow.compiled.config.notify),
        lease: None,
    }
}
