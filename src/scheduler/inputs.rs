//! `schedule.inputs`: the inputs a scheduled run gets, written as templates over its slot.
//!
//! Each value is a template that sees `slot.date` (`2026-11-21`), `slot.time` (`09:00:00`)
//! and `slot.iso` (`2026-11-21T09:00:00+01:00`), all in the schedule's time zone. After
//! rendering, a value starting with `@` names a file whose text is the input, exactly like
//! `--input name=@file` (a relative path is read from the working directory):
//! `payees: "@payroll/{{slot.date}}.csv"`. The values are then checked against the declared
//! inputs by [`crate::plan::inputs::resolve`], like the command line's.
//!
//! `plan::checks::schedule::check_inputs` finds what can be found before any slot fires
//! (undeclared names, template errors, a required input no slot would get); [`render`]
//! builds one slot's values.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::plan::inputs::{Given, InputError};

use crate::template::{TemplateError, Templates};

/// Why a slot's inputs could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SlotInputError {
    /// A template did not render.
    #[error("`schedule.inputs.{name}` does not render")]
    Template {
        /// The input.
        name: String,
        /// Why.
        #[source]
        source: TemplateError,
    },
    /// An `@file` could not be read.
    #[error("cannot read `{path}` for input `{name}`")]
    Read {
        /// The input.
        name: String,
        /// The rendered path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The values do not fit the declared inputs.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<InputError>),
}

/// What `schedule.inputs` templates see for `slot`: `{"slot": {"date", "time", "iso"}}`.
pub fn slot_context(slot: DateTime<Utc>, tz: Tz) -> Value {
    let local = slot.with_timezone(&tz);
    json!({
        "slot": {
            "date": local.format("%Y-%m-%d").to_string(),
            "time": local.format("%H:%M:%S").to_string(),
            "iso": local.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    })
}

/// Renders every `schedule.inputs` value for `slot` and reads the `@file`s.
///
/// # Errors
/// The first value that does not render or whose file cannot be read.
pub fn render(
    inputs: &BTreeMap<String, String>,
    slot: DateTime<Utc>,
    tz: Tz,
    templates: &Templates,
) -> Result<BTreeMap<String, Given>, SlotInputError> {
    let context = slot_context(slot, tz);
    let mut given = BTreeMap::new();
    for (name, template) in inputs {
        let text =
            templates
                .render(template, &context)
                .map_err(|source| SlotInputError::Template {
                    name: name.clone(),
                    source,
                })?;
        let value = match text.strip_prefix('@') {
            Some(path) => Given::File {
                text: std::fs::read_to_string(path).map_err(|source| SlotInputError::Read {
                    name: name.clone(),
                    path: path.to_string(),
                    source,
                })?,
                path: path.to_string(),
            },
            None => Given::Literal(text),
        };
        given.insert(name.clone(), value);
    }
    Ok(given)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn templates_see_the_slot_in_the_schedules_time_zone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("2026-11-21.csv");
        std::fs::write(&file, "id,amount\nE1,10.00\n").unwrap();
        let inputs = BTreeMap::from([
            (
                "payees".to_string(),
                format!("@{}/{{{{slot.date}}}}.csv", dir.path().display()),
            ),
            (
                "note".to_string(),
                "run of {{slot.iso}} at {{slot.time}}".to_string(),
            ),
        ]);
        // 23:30 UTC on the 20th is already the 21st in Berlin.
        let slot = at("2026-11-20T23:30:00Z");
        let given = render(&inputs, slot, chrono_tz::Europe::Berlin, &Templates::new()).unwrap();
        assert_eq!(
            given["note"],
            Given::Literal("run of 2026-11-21T00:30:00+01:00 at 00:30:00".into())
        );
        assert_eq!(
            given["payees"],
            Given::File {
                path: file.display().to_string(),
                text: "id,amount\nE1,10.00\n".into()
            }
        );

        let next_day = at("2026-11-21T23:30:00Z");
        let error = render(
            &inputs,
            next_day,
            chrono_tz::Europe::Berlin,
            &Templates::new(),
        )
        .unwrap_err();
        assert!(
            matches!(&error, SlotInputError::Read { name, path, .. }
                if name == "payees" && path.ends_with("2026-11-22.csv")),
            "{error:?}"
        );
    }
}
