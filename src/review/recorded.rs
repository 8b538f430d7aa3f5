//! The inputs a plan was made with, recorded so that `run --plan` can make the same plan
//! again and name the input that changed.
//!
//! Literal values are kept as given; files by path and SHA-256 of their text (their rows
//! are in the plan's items anyway); defaults by the fact that they were defaults, so a
//! changed default shows up as a changed workflow file. Each input also records the hash
//! of its resolved value.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::model::{InputSource, InputsRecord, RecordedInput};
use crate::digest::request_digest;
use crate::plan::fingerprint::inputs_hash;
use crate::plan::inputs::Given;
use crate::sensitive;
use crate::signing::sha256_hex;
use crate::spec::{InputConfig, InputType};

/// The record of `resolved`, the inputs resolved from `given` against `declared`.
pub fn record(
    declared: &BTreeMap<String, InputConfig>,
    given: &BTreeMap<String, Given>,
    resolved: &Map<String, Value>,
) -> InputsRecord {
    let values = declared
        .iter()
        .map(|(name, config)| {
            let value = resolved.get(name).unwrap_or(&Value::Null);
            let (source, literal, path, file_sha256) = match given.get(name) {
                // Card data given on the command line is never kept in the plan file.
                Some(Given::Literal(text)) => (
                    InputSource::Literal,
                    Some(sensitive::mask_text(text)),
                    None,
                    None,
                ),
                Some(Given::File { path, text }) => (
                    InputSource::File,
                    None,
                    Some(path.clone()),
                    Some(sha256_hex(&[text.as_bytes()])),
                ),
                None if value.is_null() => (InputSource::Unset, None, None, None),
                None => (InputSource::Default, None, None, None),
            };
            RecordedInput {
                name: name.clone(),
                source,
                value: literal,
                path,
                file_sha256,
                hash: request_digest(value),
                shown: sensitive::mask_text(&shown(config, value)),
            }
        })
        .collect();
    InputsRecord {
        hash: inputs_hash(resolved),
        values,
    }
}

/// The value in a few words.
fn shown(config: &InputConfig, value: &Value) -> String {
    match value {
        Value::Array(rows) if config.kind == InputType::Csv => plural(rows.len(), "row"),
        Value::Array(items) => plural(items.len(), "item"),
        Value::Object(map) => plural(map.len(), "key"),
        Value::String(s) if s.chars().count() > 60 => {
            format!("{}…", s.chars().take(60).collect::<String>())
        }
        Value::String(s) => s.clone(),
        Value::Null => "(unset)".into(),
        other => other.to_string(),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::inputs::resolve;

    #[test]
    fn literals_files_and_defaults_are_told_apart() {
        let declared: BTreeMap<String, InputConfig> = serde_json::from_value(serde_json::json!({
            "payees": { "type": "csv", "required": true },
            "budget": { "type": "decimal", "default": "25000.00" },
            "note": { "type": "string" },
            "flag": { "type": "boolean" }
        }))
        .unwrap();
        let mut given = BTreeMap::new();
        given.insert(
            "payees".to_string(),
            Given::File {
                path: "p.csv".into(),
                text: "id,amount\nE1,1.00\n".into(),
            },
        );
        given.insert("note".to_string(), Given::Literal("hello".into()));
        let resolved = resolve(&declared, &given).unwrap();
        let record = record(&declared, &given, &resolved);
        assert_eq!(record.hash, inputs_hash(&resolved));
        let by_name: BTreeMap<&str, &RecordedInput> =
            record.values.iter().map(|v| (v.name.as_str(), v)).collect();
        assert_eq!(by_name["payees"].source, InputSource::File);
        assert_eq!(by_name["payees"].path.as_deref(), Some("p.csv"));
        assert_eq!(by_name["payees"].shown, "1 row");
        assert_eq!(by_name["payees"].file_sha256.as_ref().unwrap().len(), 64);
        assert_eq!(by_name["budget"].source, InputSource::Default);
        assert_eq!(by_name["budget"].shown, "25000.00");
        assert_eq!(by_name["note"].source, InputSource::Literal);
        assert_eq!(by_name["note"].value.as_deref(), Some("hello"));
        assert_eq!(by_name["flag"].source, InputSource::Unset);
        assert_ne!(by_name["budget"].hash, by_name["note"].hash);
    }
}
