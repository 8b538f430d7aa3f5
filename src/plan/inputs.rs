//! Run inputs: `--input name=value` and `--input name=@file`, checked against the declared
//! types and turned into the template context's `inputs` object.
//!
//! Decimals stay text (never a float); CSV rows become objects of strings, with declared
//! decimal columns checked row by row, so a bad amount is caught before anything runs.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::money::{MoneyError, parse_amount};
use crate::spec::{ColumnType, InputConfig, InputType};

/// A value given on the command line: literal text, or the contents of a file (`@path`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    /// `name=value`.
    Literal(String),
    /// `name=@path`: the file's name (for messages) and its text.
    File {
        /// The path as given.
        path: String,
        /// The file's contents.
        text: String,
    },
}

impl Given {
    fn text(&self) -> &str {
        match self {
            Given::Literal(t) => t,
            Given::File { text, .. } => text,
        }
    }
}

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// A required input was not given and has no default.
    #[error("input `{name}` is required")]
    Missing {
        /// The input's name.
        name: String,
    },
    /// An input that the workflow does not declare.
    #[error("unknown input `{name}`{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Unknown {
        /// The name given.
        name: String,
        /// A "did you mean".
        hint: Option<String>,
    },
    /// A value that does not fit the input's type.
    #[error("input `{name}`: {problem}")]
    Invalid {
        /// The input's name.
        name: String,
        /// What is wrong, with the row and column for CSV.
        problem: String,
    },
}

/// An `--input` argument without a name and an `=`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not `name=value` or `name=@file`")]
pub struct InputArgError(pub String);

/// Parses `name=value` or `name=@path` (the file is read by the caller).
///
/// # Errors
/// [`InputArgError`] when there is no name or no `=`.
pub fn split_arg(arg: &str) -> Result<(&str, &str), InputArgError> {
    arg.split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| InputArgError(arg.to_owned()))
}

/// Why CSV text was refused, naming the row (1-based, the header is row 1) and column.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The header row is malformed.
    #[error("invalid CSV header: {0}")]
    Header(#[source] csv::Error),
    /// A declared column is not in the header.
    #[error(
        "the CSV has no column `{column}` (it has {})",
        found.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
    )]
    MissingColumn {
        /// The declared column.
        column: String,
        /// The header's columns.
        found: Vec<String>,
    },
    /// A record is malformed (e.g. has more fields than the header).
    #[error("row {row}: {source}")]
    Record {
        /// The row.
        row: usize,
        /// The reader's error.
        #[source]
        source: csv::Error,
    },
    /// A declared decimal column holds something else.
    #[error("row {row}, column `{column}`: {source}")]
    Decimal {
        /// The row.
        row: usize,
        /// The column.
        column: String,
        /// Why the amount was refused.
        #[source]
        source: MoneyError,
    },
    /// A declared integer column holds something else.
    #[error("row {row}, column `{column}`: `{value}` is not a whole number")]
    Integer {
        /// The row.
        row: usize,
        /// The column.
        column: String,
        /// The cell's text.
        value: String,
    },
}

/// Builds the `inputs` object from the declared inputs and the given values: defaults fill
/// the gaps, every value is checked against its type, and every problem is reported.
///
/// # Errors
/// Every missing, unknown or invalid input.
pub fn resolve(
    declared: &BTreeMap<String, InputConfig>,
    given: &BTreeMap<String, Given>,
) -> Result<Map<String, Value>, Vec<InputError>> {
    let mut errors = Vec::new();
    for name in given.keys().filter(|n| !declared.contains_key(*n)) {
        errors.push(InputError::Unknown {
            name: name.clone(),
            hint: crate::spec::diagnostic::did_you_mean(name, declared.keys().map(String::as_str)),
        });
    }
    let mut out = Map::new();
    for (name, config) in declared {
        let value = match (given.get(name), &config.default) {
            (Some(g), _) => convert(name, config, g),
            (None, Some(Value::String(d))) => convert(name, config, &Given::Literal(d.clone())),
            (None, Some(other)) => Ok(other.clone()),
            (None, None) if config.required => Err(InputError::Missing { name: name.clone() }),
            (None, None) => Ok(Value::Null),
        };
        match value {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn convert(name: &str, config: &InputConfig, given: &Given) -> Result<Value, InputError> {
    let invalid = |problem: String| InputError::Invalid {
        name: name.to_string(),
        problem,
    };
    let text = given.text();
    match config.kind {
        InputType::String => Ok(Value::String(text.to_string())),
        InputType::Decimal => parse_amount(text.trim())
            .map(|_| Value::String(text.trim().to_string()))
            .map_err(|e| invalid(e.to_string())),
        InputType::Integer => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| invalid(format!("`{text}` is not a whole number"))),
        InputType::Boolean => match text.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            other => Err(invalid(format!("`{other}` is not `true` or `false`"))),
        },
        InputType::List => Ok(Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        )),
        InputType::Json => {
            serde_json::from_str(text).map_err(|e| invalid(format!("invalid JSON: {e}")))
        }
        InputType::Csv => parse_csv(text, &config.columns).map_err(|e| invalid(e.to_string())),
    }
}

/// Parses CSV text with a header row into a list of row objects (all values text).
///
/// # Errors
/// [`CsvError`] for the first problem: a malformed record, a missing declared column, or a bad
/// decimal or integer.
pub fn parse_csv(text: &str, columns: &BTreeMap<String, ColumnType>) -> Result<Value, CsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(CsvError::Header)?.clone();
    for column in columns.keys() {
        if !headers.iter().any(|h| h == column) {
            return Err(CsvError::MissingColumn {
                column: column.clone(),
                found: headers.iter().map(str::to_owned).collect(),
            });
        }
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.map_err(|source| CsvError::Record { row, source })?;
        let mut object = Map::with_capacity(headers.len());
        for (header, value) in headers.iter().zip(record.iter()) {
            match columns.get(header) {
                Some(ColumnType::Decimal) => {
                    parse_amount(value).map_err(|source| CsvError::Decimal {
                        row,
                        column: header.to_owned(),
                        source,
                    })?;
                }
                Some(ColumnType::Integer) => {
                    value.parse::<i64>().map_err(|_| CsvError::Integer {
                        row,
                        column: header.to_owned(),
                        value: value.to_owned(),
                    })?;
                }
                Some(ColumnType::String) | None => {}
            }
            object.insert(header.to_string(), Value::String(value.to_string()));
        }
        rows.push(Value::Object(object));
    }
    Ok(Value::Array(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(kind: InputType, required: bool, default: Option<&str>) -> InputConfig {
        InputConfig {
            kind,
            required,
            default: default.map(|d| Value::String(d.into())),
            description: None,
            columns: BTreeMap::new(),
        }
    }

    #[test]
    fn defaults_types_and_every_error_at_once() {
        let mut declared = BTreeMap::new();
        declared.insert(
            "budget".to_string(),
            decl(InputType::Decimal, false, Some("25000.00")),
        );
        declared.insert("count".to_string(), decl(InputType::Integer, true, None));
        declared.insert(
            "flag".to_string(),
            decl(InputType::Boolean, false, Some("false")),
        );
        declared.insert("tags".to_string(), decl(InputType::List, false, None));
        let mut given = BTreeMap::new();
        given.insert("count".to_string(), Given::Literal("3".into()));
        given.insert("tags".to_string(), Given::Literal("a, b".into()));
        let inputs = resolve(&declared, &given).unwrap();
        assert_eq!(inputs["budget"], Value::String("25000.00".into()));
        assert_eq!(inputs["count"], Value::from(3));
        assert_eq!(inputs["flag"], Value::Bool(false));
        assert_eq!(inputs["tags"], serde_json::json!(["a", "b"]));

        let mut bad = BTreeMap::new();
        bad.insert("budget".to_string(), Given::Literal("1e3".into()));
        bad.insert("budgte".to_string(), Given::Literal("1".into()));
        let errors = resolve(&declared, &bad).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(
            text[0].contains("unknown input `budgte` (did you mean `budget`?)"),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("`1e3` is not a decimal")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t == "input `count` is required"),
            "{text:?}"
        );
    }

    #[test]
    fn csv_rows_keep_amount_text_and_name_bad_cells() {
        let mut columns = BTreeMap::new();
        columns.insert("amount".to_string(), ColumnType::Decimal);
        let rows = parse_csv("id,amount\nE1, 10.50\nE2,0.10\n", &columns).unwrap();
        assert_eq!(
            rows,
            serde_json::json!([{"id":"E1","amount":"10.50"},{"id":"E2","amount":"0.10"}])
        );
        let err = parse_csv("id,amount\nE1,10.50\nE2,12,50\n", &columns)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("row 3:"), "{err}");
        let err = parse_csv("id,amount\nE1,10.50\nE2,ten\n", &columns)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "row 3, column `amount`: `ten` is not a decimal amount (expected digits with an optional `.` and sign)"
        );
        let err = parse_csv("id,amt\nE1,1\n", &columns)
            .unwrap_err()
            .to_string();
        assert!(err.contains("(it has `id`, `amt`)"), "{err}");
        assert!(err.contains("no column `amount`"), "{err}");
    }

    #[test]
    fn sum_over_a_10000_row_csv_column_is_exact() {
        let mut text = String::from("id,amount\n");
        let mut cents: i64 = 0;
        for i in 0..10_000_i64 {
            // Amounts whose float sum drifts: 0.01, 0.10, 1.11, ...
            let c = (i * 7919) % 1_000_003 + 1;
            cents += c;
            text.push_str(&format!("E{i},{}.{:02}\n", c / 100, c % 100));
        }
        let mut columns = BTreeMap::new();
        columns.insert("amount".to_string(), ColumnType::Decimal);
        let rows = parse_csv(&text, &columns).unwrap();
        let ctx = serde_json::json!({ "inputs": { "payees": rows } });
        let templates = crate::template::Templates::new();
        let total = templates
            .render("{{sum inputs.payees 'amount'}}", &ctx)
            .unwrap();
        assert_eq!(total, format!("{}.{:02}", cents / 100, cents % 100));
        assert_eq!(
            templates.render("{{add '0.1' '0.2'}}", &ctx).unwrap(),
            "0.3"
        );
    }

    #[test]
    fn split_arg_requires_a_name() {
        assert_eq!(split_arg("payees=@p.csv"), Ok(("payees", "@p.csv")));
        assert_eq!(split_arg("note=a=b"), Ok(("note", "a=b")));
        assert!(split_arg("=x").is_err());
        assert!(split_arg("novalue").is_err());
    }
}
