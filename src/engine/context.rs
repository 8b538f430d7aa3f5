//! The template context of a run: `inputs`, `steps`, `run`, and the current `for_each`
//! element.
//!
//! A batch renders the same few templates once per item. Cloning the whole context (which
//! holds every CSV row) for each item would make a batch quadratic, so each step's context
//! holds only the roots its templates use, computed once from the template references.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::template::references;

/// The parts of the context a step's templates use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uses {
    /// `inputs.<name>` used.
    pub inputs: BTreeSet<String>,
    /// `steps.<id>` used.
    pub steps: BTreeSet<String>,
    /// Whether `run` is used.
    pub run: bool,
}

impl Uses {
    /// The roots used by `templates` (strings that do not parse use nothing: validation
    /// has already refused them).
    pub fn of<'t>(templates: impl IntoIterator<Item = &'t str>) -> Uses {
        let mut uses = Uses::default();
        for t in templates {
            for r in references(t).unwrap_or_default() {
                match r.path.as_slice() {
                    [root, name, ..] if root == "inputs" => {
                        uses.inputs.insert(name.clone());
                    }
                    [root, id, ..] if root == "steps" => {
                        uses.steps.insert(id.clone());
                    }
                    [root, ..] if root == "run" => uses.run = true,
                    _ => {}
                }
            }
        }
        uses
    }
}

/// What a run's templates can see.
#[derive(Debug, Clone)]
pub struct RunContext {
    inputs: Map<String, Value>,
    steps: Map<String, Value>,
    run: Value,
}

impl RunContext {
    /// A context with the run's inputs and `run` fields (`id`, `started_at`, `scheduled_for`).
    pub fn new(inputs: Map<String, Value>, run: Value) -> Self {
        RunContext {
            inputs,
            steps: Map::new(),
            run,
        }
    }

    /// Records the output of a step that runs once: `steps.<id>.output`.
    pub fn set_output(&mut self, step: &str, output: Value) {
        let mut entry = Map::new();
        entry.insert("output".into(), output);
        self.steps.insert(step.into(), Value::Object(entry));
    }

    /// Records the outputs of a `for_each` step: `steps.<id>.items` by key and
    /// `steps.<id>.outputs` in item order.
    pub fn set_items(&mut self, step: &str, items: Vec<(String, Value)>) {
        let outputs = items.iter().map(|(_, v)| v.clone()).collect();
        let mut entry = Map::new();
        entry.insert("items".into(), Value::Object(items.into_iter().collect()));
        entry.insert("outputs".into(), Value::Array(outputs));
        self.steps.insert(step.into(), Value::Object(entry));
    }

    /// The inputs.
    pub fn inputs(&self) -> &Map<String, Value> {
        &self.inputs
    }

    /// The context restricted to `uses`, for one step (and all its items).
    pub fn for_step(&self, uses: &Uses) -> Map<String, Value> {
        let mut ctx = Map::new();
        let inputs: Map<String, Value> = uses
            .inputs
            .iter()
            .filter_map(|n| self.inputs.get(n).map(|v| (n.clone(), v.clone())))
            .collect();
        ctx.insert("inputs".into(), Value::Object(inputs));
        let steps: Map<String, Value> = uses
            .steps
            .iter()
            .filter_map(|s| self.steps.get(s).map(|v| (s.clone(), v.clone())))
            .collect();
        ctx.insert("steps".into(), Value::Object(steps));
        ctx.insert("run".into(), self.run.clone());
        ctx
    }
}

/// The context of one `for_each` element: the step's context plus the element under its
/// alias. Only the element is added, so this costs the size of one row.
pub fn with_item(step_ctx: &Map<String, Value>, alias: &str, item: &Value) -> Value {
    let mut ctx = step_ctx.clone();
    ctx.insert(alias.into(), item.clone());
    Value::Object(ctx)
}
