//! Turning a compiled workflow and its inputs into a run: every step and `for_each` item as
//! a row, item keys rendered and checked for duplicates, and the hashes that bind the run to
//! its file and inputs.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::error::EngineError;
use crate::ids::{ItemKey, StepId};
use crate::plan::CompiledWorkflow;
use crate::plan::context::Uses;
use crate::plan::for_each::{DEFAULT_ALIAS, for_each_list};
use crate::spec::NotifyRule;
use crate::store::{NewStep, NotifyRoute};
use crate::template::{Scope, Templates};

/// The workflow's `notify:` rules as the run keeps them: event names and the targets as
/// written, `${VAR}` unresolved (see [`crate::store::NotifyRoute`]).
pub fn notify_routes(rules: &[NotifyRule]) -> Vec<NotifyRoute> {
    rules
        .iter()
        .map(|rule| NotifyRoute {
            on: rule.on.iter().map(|e| e.as_str().to_owned()).collect(),
            target: serde_json::json!({ "webhook": rule.webhook, "email": rule.email }),
        })
        .collect()
}

/// One element of a `for_each` step: its key and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The rendered `key`.
    pub key: ItemKey,
    /// The element.
    pub value: Value,
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
    let keys = item_keys(
        templates,
        step,
        alias,
        key_template,
        list.iter().cloned(),
        base.clone(),
    )?;
    Ok(keys
        .into_iter()
        .zip(list)
        .map(|(key, value)| Item {
            key,
            value: value.clone(),
        })
        .collect())
}

/// The keys of [`expand_items`], in list order: `scope` is the context the key template
/// sees, and each element of `list` is set under `alias` in turn.
///
/// # Errors
/// As [`expand_items`].
pub fn item_keys(
    templates: &Templates,
    step: &str,
    alias: &str,
    key_template: &str,
    list: impl ExactSizeIterator<Item = Value>,
    mut scope: Scope,
) -> Result<Vec<ItemKey>, EngineError> {
    let mut keys = Vec::with_capacity(list.len());
    for (i, value) in list.enumerate() {
        scope.insert(alias, value);
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
        keys.push(ItemKey::from(key));
    }
    // Checked once every key is rendered, against the keys themselves (not copies of them).
    let mut first_row: HashMap<&str, usize> = HashMap::with_capacity(keys.len());
    let mut duplicates = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        if let Some(first) = first_row.get(key.as_str()) {
            duplicates.push(format!("`{key}` (elements {} and {})", first + 1, i + 1));
        } else {
            first_row.insert(key, i);
        }
    }
    if !duplicates.is_empty() {
        return Err(EngineError::ForEach {
            step: step.into(),
            reason: format!("duplicate keys: {}", duplicates.join(", ")),
        });
    }
    Ok(keys)
}

/// The part of `base` the templates in `uses` read: the inputs, steps and `run` they name.
/// A key template reads one element, so its scope should not carry (and copy) every list.
pub fn narrow(base: &Scope, uses: &Uses) -> Scope {
    let data = base.data();
    let pick = |root: &str, names: &mut dyn Iterator<Item = &String>| -> Value {
        let all = data.get(root).and_then(Value::as_object);
        Value::Object(
            names
                .filter_map(|n| all?.get(n).map(|v| (n.clone(), v.clone())))
                .collect(),
        )
    };
    let mut out = Map::new();
    out.insert("inputs".into(), pick("inputs", &mut uses.inputs.iter()));
    out.insert("steps".into(), pick("steps", &mut uses.steps.iter()));
    if let Some(run) = data.get("run") {
        out.insert("run".into(), run.clone());
    }
    Scope::new(Value::Object(out))
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
    let order = compiled.dag.order();
    let mut rows = Vec::with_capacity(order.len());
    // The undo rows of steps with `compensate:`, after every step's own: registered with the
    // run, so each undo's idempotency key exists before the step it undoes is dispatched.
    let mut undo_rows = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        let step = &compiled.config.steps[i];
        rows.push(NewStep::step(&step.id));
        let undo = step
            .compensate
            .as_ref()
            .map(|_| StepId::from(&step.id).undo());
        if let Some(undo) = &undo {
            undo_rows.push(NewStep::step(undo.clone()));
        }
        if let (Some(expr), Some(key)) = (&step.for_each, &step.key) {
            let alias = step.alias.as_deref().unwrap_or(DEFAULT_ALIAS);
            let list = for_each_list(&step.id, expr, inputs)?;
            let scope = narrow(base, &Uses::of([key.as_str()]));
            let keys = item_keys(templates, &step.id, alias, key, list.iter().cloned(), scope)?;
            // Room for these items and the steps still to come, so that 100,000 rows are
            // not grown into room for twice as many.
            rows.reserve_exact(keys.len() + order.len() - n - 1);
            if let Some(undo) = &undo {
                undo_rows.extend(keys.iter().map(|k| NewStep::item(undo.clone(), k.clone())));
            }
            rows.extend(keys.into_iter().map(|k| NewStep::item(&step.id, k)));
        }
    }
    rows.append(&mut undo_rows);
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
}
