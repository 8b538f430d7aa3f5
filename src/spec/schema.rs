//! The JSON Schema of workflow files, generated from the model's types and doc comments.

use super::model::WorkflowConfig;

/// The schema as pretty-printed JSON with a trailing newline: exactly the text of
/// `schemas/workflow.schema.json` (a test fails when the two drift apart).
pub fn workflow_schema() -> String {
    let schema = schemars::schema_for!(WorkflowConfig);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serialises");
    text.push('\n');
    text
}
