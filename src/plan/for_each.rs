//! The list a `for_each` step walks: found under `inputs` by the path its expression names,
//! when a run starts and when a plan is reviewed, so both expand exactly the same items.

use serde_json::{Map, Value};

/// The default name of the current element in a `for_each` step's templates.
pub const DEFAULT_ALIAS: &str = "item";

/// A `for_each` list or key is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step `{step}`: for_each: {reason}")]
pub struct ForEachError {
    /// The step.
    pub step: String,
    /// What is wrong.
    pub reason: String,
}

/// The path of a `for_each` expression: `inputs.payees` from `{{ inputs.payees }}`.
pub fn list_path(expr: &str) -> &str {
    expr.trim()
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .trim()
}

/// The list a `for_each` walks, found in `inputs` (a path like `inputs.payees`).
///
/// # Errors
/// [`ForEachError`] when the path does not lead to a list.
pub fn for_each_list<'v>(
    step: &str,
    expr: &str,
    inputs: &'v Map<String, Value>,
) -> Result<&'v [Value], ForEachError> {
    let path = list_path(expr);
    let mut segs = path.split('.');
    let root = segs.next().unwrap_or_default();
    if root != "inputs" {
        return Err(ForEachError {
            step: step.into(),
            reason: format!(
                "`{path}`: only lists under `inputs` can be expanded when a run starts"
            ),
        });
    }
    let mut node = segs
        .next()
        .and_then(|name| inputs.get(name))
        .ok_or_else(|| ForEachError {
            step: step.into(),
            reason: format!("`{path}` is not set"),
        })?;
    for seg in segs {
        node = node.get(seg).ok_or_else(|| ForEachError {
            step: step.into(),
            reason: format!("`{path}` does not exist"),
        })?;
    }
    node.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| ForEachError {
            step: step.into(),
            reason: format!("`{path}` is not a list"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
