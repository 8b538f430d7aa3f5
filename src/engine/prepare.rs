//! Turning a compiled workflow and its inputs into a run: every step and `for_each` item as
//! a row, item keys rendered and checked for duplicates, and the hashes that bind the run to
//! its file and inputs.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::EngineError;
use crate::plan::CompiledWorkflow;
use crate::signing::sha256_hex;
use crate::store::{NewStep, request_digest};
use crate::template::{Scope, Templates};

/// The default name of the current element in a `for_each` step's templates.
pub const DEFAULT_ALIAS: &str = "item";

/// One element of a `for_each` step: its key and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The rendered `key`.
    pub key: String,
    /// The element.
    pub value: Value,
}

/// The hash that binds a run to its workflow file's exact text.
pub fn workflow_hash(text: &str) -> String {
    sha256_hex(&[text.as_bytes()])
}

/// The hash that binds a run (or a plan) to its inputs.
pub fn inputs_hash(inputs: &Map<String, Value>) -> String {
    request_digest(&Value::Object(inputs.clone()))
}

/// The list a `for_each` walks, found in `inputs` (a path like `inputs.payees`).
///
/// # Errors
/// [`EngineError::ForEach`] when the path does not lead to a list.
pub fn for_each_list<'v>(
    step: &str,
    expr: &str,
    inputs: &'v Map<String, Value>,
) -> Result<&'v [Value], EngineError> {
    let path = expr
        .trim()
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .trim();
    let mut segs = path.split('.');
    let root = segs.next().unwrap_or_default();
    if root != "inputs" {
        return Err(EngineError::ForEach {
            step: step.into(),
            reason: format!(
                "`{path}`: only lists under `inputs` can be expanded when a run starts"
            ),
        });
    }
    let mut node = segs
        .next()
        .and_then(|name| inputs.get(name))
        .ok_or_else(|| EngineError::ForEach {
            step: step.into(),
            reason: format!("`{path}` is not set"),
        })?;
    for seg in segs {
        node = node.get(seg).ok_or_else(|| EngineError::ForEach {
            step: step.into(),
            reason: format!("`{path}` does not exist"),
        })?;
    }
    node.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| EngineError::ForEach {
            step: step.into(),
            reason: format!("`{path}` is not a list"),
        })
}

/// Renders each element's key. Keys must be non-empty and unique: the idempotency key is
/// derived from them, so two rows with one key would be paid once.
///
/// # Errors
/// [`EngineError::ForEach`] naming the first bad element, or every duplicate key.
pub fn expand_items(
    templates: &Templates,
    step: &str,
    alias: &str,
    key_template: &str,
    list: &[Value],
    base: &Scope,
) -> Result<Vec<Item>, EngineError> {
    let mut scope = base.clone();
    let mut items = Vec::with_capacity(list.len());
    let mut first_row: BTreeMap<String, usize> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for (i, value) in list.iter().enumerate() {
        scope.insert(alias, value.clone());
        let key = templates
            .render(key_template, &scope)
            .map_err(|e| EngineError::ForEach {
                step: step.into(),
                reason: format!("element {}: key: {e}", i + 1),
            })?;
        let key = key.trim().to_string();
        if key.is_empty() {
            return Err(EngineError::ForEach {
                step: step.into(),
                reason: format!("element {} has an empty key", i + 1),
            });
        }
        if let Some(first) = first_row.get(&key) {
            duplicates.push(format!("`{key}` (elements {} and {})", first + 1, i + 1));
        } else {
            first_row.insert(key.clone(), i);
        }
        items.push(Item {
            key,
            value: value.clone(),
        });
    }
    if !duplicates.is_empty() {
        return Err(EngineError::ForEach {
            step: step.into(),
            reason: format!("duplicate keys: {}", duplicates.join(", ")),
        });
    }
    Ok(items)
}

/// Every step row of a new run, in execution order: one row per step, plus one per item
/// for `for_each` steps (whose own row then summarises its items).
///
/// # Errors
/// As [`for_each_list`] and [`expand_items`].
pub fn step_rows(
    compiled: &CompiledWorkflow,
    templates: &Templates,
    inputs: &Map<String, Value>,
    base: &Scope,
) -> Result<Vec<NewStep>, EngineError> {
    let mut rows = Vec::new();
    for &i in compiled.dag.order() {
        let step = &compiled.config.steps[i];
        rows.push(NewStep::step(&step.id));
        if let (Some(expr), Some(key)) = (&step.for_each, &step.key) {
            let alias = step.alias.as_deref().unwrap_or(DEFAULT_ALIAS);
            let list = for_each_list(&step.id, expr, inputs)?;
            let items = expand_items(templates, &step.id, alias, key, list, base)?;
            rows.extend(items.iter().map(|it| NewStep::item(&step.id, &it.key)));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_rendered_and_duplicates_named() {
        let t = Templates::new();
        let base = Scope::new(serde_json::json!({}));
        let list = vec![
            serde_json::json!({"id": "E1"}),
            serde_json::json!({"id": "E2"}),
            serde_json::json!({"id": "E1"}),
        ];
        let err = expand_items(&t, "pay", "payee", "{{payee.id}}", &list, &base).unwrap_err();
        assert_eq!(
            err.to_string(),
            "step `pay`: for_each: duplicate keys: `E1` (elements 1 and 3)"
        );
        let items = expand_items(&t, "pay", "payee", "{{payee.id}}", &list[..2], &base).unwrap();
        assert_eq!(
            items.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
            ["E1", "E2"]
        );
        let blank = vec![serde_json::json!({"id": " "})];
        assert!(expand_items(&t, "pay", "payee", "{{payee.id}}", &blank, &base).is_err());
    }

    #[test]
    fn for_each_lists_come_from_inputs() {
        let inputs: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"payees": [1, 2], "n": "3"})).unwrap();
        assert_eq!(
            for_each_list("s", "inputs.payees", &inputs).unwrap().len(),
            2
        );
        assert!(for_each_list("s", "inputs.n", &inputs).is_err());
        assert!(for_each_list("s", "steps.x.output", &inputs).is_err());
        assert_eq!(workflow_hash("a").len(), 64);
    }
}
