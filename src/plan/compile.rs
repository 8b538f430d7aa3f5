//! `compile`: every semantic check of the workflow language (README, *Validation*) over a loaded workflow, then the DAG.

use std::collections::BTreeSet;

use super::checks::{self, Checker};
use super::dag::Dag;
use crate::catalog::ActionSpec;
use crate::spec::{Diagnostics, Loaded, StepConfig, WorkflowConfig};

/// A step that passed validation.
#[derive(Debug, Clone)]
pub struct CompiledStep {
    /// The step's id.
    pub id: String,
    /// Its action's contract.
    pub action: &'static ActionSpec,
    /// The provider block it runs against (None for control actions).
    pub provider: Option<String>,
    /// Indices of the steps it depends on: `needs` plus template references.
    pub deps: BTreeSet<usize>,
    /// What undoes it, when it has `compensate:`.
    pub undo: Option<CompiledUndo>,
}

/// A step's `compensate:` that passed validation.
#[derive(Debug, Clone)]
pub struct CompiledUndo {
    /// The undoing action's contract (a write).
    pub action: &'static ActionSpec,
    /// The provider block it runs against: its own `provider`, or the step's.
    pub provider: String,
}

/// A workflow that passed validation: its steps, their dependencies and an execution order.
#[derive(Debug, Clone)]
pub struct CompiledWorkflow {
    /// The model as loaded.
    pub config: WorkflowConfig,
    /// One entry per step, in file order.
    pub steps: Vec<CompiledStep>,
    /// The dependency graph and a deterministic topological order.
    pub dag: Dag,
    /// Warnings; they do not stop a run.
    pub warnings: Diagnostics,
}

impl CompiledWorkflow {
    /// The index of the step with `id`.
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }
}

/// The undo of a step that passed validation, if it has one.
fn compiled_undo(step: &StepConfig, provider: Option<&str>) -> Option<CompiledUndo> {
    let undo = step.compensate.as_ref()?;
    let method = undo.with.get("method").and_then(serde_json::Value::as_str);
    Some(CompiledUndo {
        action: crate::catalog::action_for(&undo.uses, method)
            .expect("no errors, so every undo action is known"),
        provider: undo.provider.as_deref().or(provider)?.to_string(),
    })
}

/// Validates `loaded` and builds its DAG.
///
/// # Errors
/// Every problem found, errors and warnings together, in source order.
pub fn compile(loaded: &Loaded) -> Result<CompiledWorkflow, Diagnostics> {
    let mut checker = Checker::new(&loaded.source, &loaded.config);
    checks::workflow::check(&mut checker);
    checks::inputs::check(&mut checker);
    checks::providers::check(&mut checker);
    checks::schedule::check(&mut checker);
    checks::reconcile::check(&mut checker);
    checks::notify::check(&mut checker);
    for d in checks::schedule::check_inputs(loaded, &checker.templates).0 {
        checker.report(d);
    }
    let mut steps = Vec::with_capacity(loaded.config.steps.len());
    for index in 0..loaded.config.steps.len() {
        steps.push(checks::step::check(&mut checker, index));
    }
    checks::saga::check(&mut checker, &steps);
    checks::inputs::check_unused(&mut checker);
    checks::cards::check(&mut checker);
    let edges: Vec<BTreeSet<usize>> = steps.iter().map(|s| s.deps.clone()).collect();
    let dag = Dag::build(&edges);
    for cycle in dag.cycles() {
        checks::workflow::report_cycle(&mut checker, cycle);
    }
    let diagnostics = checker.finish();
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    Ok(CompiledWorkflow {
        config: loaded.config.clone(),
        steps: steps
            .into_iter()
            .zip(&loaded.config.steps)
            .map(|(s, config)| CompiledStep {
                undo: compiled_undo(config, s.provider.as_deref()),
                id: s.id,
                action: s.action.expect("no errors, so every action is known"),
                provider: s.provider,
                deps: s.deps,
            })
            .collect(),
        dag,
        warnings: diagnostics,
    })
}
