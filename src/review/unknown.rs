//! What a plan cannot know yet: templates that read earlier steps' outputs (their values
//! are [`KNOWN_AFTER_APPLY`]) and `if` conditions that read `steps.*` or `run.*` (decided at
//! apply; `run.*` is assigned when the run starts).

use serde_json::{Map, Value};

use super::model::KNOWN_AFTER_APPLY;
use crate::template::references;

/// How a step's `if` is decided.
pub enum Condition<'a> {
    /// From inputs and the element alone: rendered here.
    Static(&'a str),
    /// It reads something only known at apply (named).
    AtApply(String),
}

impl<'a> Condition<'a> {
    /// How `template` is decided.
    pub fn of(template: &'a str) -> Self {
        match unknown_reference(template, &["steps", "run"]) {
            Some(path) => Condition::AtApply(format!("`if` reads `{path}`")),
            None => Condition::Static(template),
        }
    }
}

/// The first path of `template` under one of `roots`, if any.
fn unknown_reference(template: &str, roots: &[&str]) -> Option<String> {
    references(template)
        .unwrap_or_default()
        .into_iter()
        .find(|r| {
            r.path
                .first()
                .is_some_and(|root| roots.contains(&root.as_str()))
        })
        .map(|r| r.path.join("."))
}

/// `with` with every string that reads `steps.*` replaced by [`KNOWN_AFTER_APPLY`].
pub fn mask_unknown(value: &Value) -> Value {
    match value {
        Value::String(t) if t.contains("{{") && unknown_reference(t, &["steps"]).is_some() => {
            Value::String(KNOWN_AFTER_APPLY.to_string())
        }
        Value::Array(list) => Value::Array(list.iter().map(mask_unknown).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask_unknown(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether `value` holds a value known only after apply.
pub fn contains_unknown(value: &Value) -> bool {
    match value {
        Value::String(s) => s == KNOWN_AFTER_APPLY,
        Value::Array(list) => list.iter().any(contains_unknown),
        Value::Object(map) => map.values().any(contains_unknown),
        _ => false,
    }
}

/// The top-level `with` fields that are known only after apply, in backticks.
pub fn unknown_fields(with: &Map<String, Value>) -> Vec<String> {
    with.iter()
        .filter(|(_, v)| contains_unknown(v))
        .map(|(k, _)| format!("`{k}`"))
        .collect()
}
