//! The JSON Schema of workflow files, generated from the model's types and doc comments,
//! and from the action catalog for what each action's `with` may hold.

use serde_json::{Value, json};

use super::model::WorkflowConfig;
use crate::catalog::{self, ACTIONS};

/// The schema as pretty-printed JSON with a trailing newline: exactly the text of
/// `schemas/workflow.schema.json` (a test fails when the two drift apart).
pub fn workflow_schema() -> String {
    let mut schema = schemars::schema_for!(WorkflowConfig);
    let step = schema
        .get_mut("$defs")
        .and_then(|defs| defs.get_mut("StepConfig"))
        .and_then(Value::as_object_mut)
        .expect("the model has a `StepConfig` definition");
    step.insert("allOf".into(), with_fields());
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}

/// One rule per action: its `with` takes only fields some provider accepts for it. Which
/// provider runs a step is in another block, so the provider's own table is `validate`'s
/// to apply.
fn with_fields() -> Value {
    let rules: Vec<Value> = ACTIONS
        .iter()
        .map(|a| {
            json!({
                "if": { "properties": { "uses": { "const": a.name } }, "required": ["uses"] },
                "then": {
                    "properties": {
                        "with": { "propertyNames": { "enum": catalog::any_fields(a.name) } }
                    }
                }
            })
        })
        .collect();
    Value::Array(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{CONTROL, ProviderKind, table};

    /// The `with` field names the schema allows for `action`.
    fn schema_fields(schema: &Value, action: &str) -> Vec<String> {
        let rules = schema["$defs"]["StepConfig"]["allOf"].as_array().unwrap();
        let rule = rules
            .iter()
            .find(|r| r["if"]["properties"]["uses"]["const"] == action)
            .unwrap_or_else(|| panic!("no schema rule for `{action}`"));
        let names = &rule["then"]["properties"]["with"]["propertyNames"]["enum"];
        serde_json::from_value(names.clone()).unwrap()
    }

    #[test]
    fn every_adapters_table_agrees_with_the_schema() {
        let schema: Value = serde_json::from_str(&workflow_schema()).unwrap();
        let uses: Vec<String> = serde_json::from_value(
            schema["$defs"]["StepConfig"]["properties"]["uses"]["enum"].clone(),
        )
        .unwrap();
        let offers = ProviderKind::ALL
            .into_iter()
            .flat_map(|k| table(k).offers)
            .chain(CONTROL);
        let mut offered: Vec<&str> = Vec::new();
        for offer in offers {
            let name = offer.action.name;
            assert!(uses.iter().any(|u| u == name), "`{name}` not in `uses`");
            let allowed = schema_fields(&schema, name);
            for field in offer.accepted() {
                assert!(allowed.iter().any(|f| f == field), "`{name}`: `{field}`");
            }
            offered.push(name);
        }
        for name in &uses {
            assert!(offered.contains(&name.as_str()), "nobody offers `{name}`");
            let allowed = schema_fields(&schema, name);
            for field in &allowed {
                let somewhere = catalog::offers(name).any(|o| o.accepts(field));
                assert!(somewhere, "the schema allows `{field}` for `{name}`");
            }
        }
    }
}
