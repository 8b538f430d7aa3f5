//! `compile`: every semantic check of the workflow language (README, *Validation*) over a loaded workflow, then the DAG.

use std::collections::BTreeSet;

use super::checks::{self, Checker};
use super::dag::Dag;
use crate::catalog::ActionSpec;
use crate::spec::{Diagnostics, Loaded, WorkflowConfig};

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
    checks::notify::check(&mut checker);
    for d in checks::schedule::check_inputs(loaded, &checker.templates).0 {
        checker.report(d);
    }
    let mut steps = Vec::with_capacity(loaded.config.steps.len());
    for index in 0..loaded.config.steps.len() {
        steps.push(checks::step::check(&mut checker, index));
    }
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
            .map(|s| CompiledStep {
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
