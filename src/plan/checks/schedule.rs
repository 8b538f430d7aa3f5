//! `schedule:` checks: the cron expression and the time zone.

use std::str::FromStr;

use super::Checker;
use crate::spec::diagnostic::did_you_mean;
use crate::spec::{Code, Diagnostic, Diagnostics, Loaded, Seg};
use crate::template::{Templates, references};

/// Why a cron expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// Neither 5 fields nor 6.
    #[error("expected 5 fields (or 6 with seconds), found {0}")]
    FieldCount(usize),
    /// The cron crate refused it. Its error is only text that repeats the expression with a
    /// caret line; the last line, which says why, is all that is kept.
    #[error("{reason}")]
    Invalid {
        /// The cron crate's reason.
        reason: String,
    },
}

/// Parses a 5-field crontab (`0 9 * * FRI`) or a 6-field one with seconds first.
///
/// # Errors
/// [`CronError`]: the cron crate's reason, or a count of fields that is neither 5 nor 6.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, CronError> {
    let fields = expr.split_whitespace().count();
    let full = match fields {
        5 => format!("0 {expr}"),
        6 => expr.to_string(),
        n => return Err(CronError::FieldCount(n)),
    };
    cron::Schedule::from_str(&full).map_err(|e| {
        let text = e.to_string();
        let reason = text.lines().map(str::trim).rfind(|l| !l.is_empty());
        CronError::Invalid {
            reason: reason.unwrap_or("unparseable").to_string(),
        }
    })
}

/// Checks the schedule, if there is one.
pub fn check(c: &mut Checker<'_>) {
    let Some(schedule) = &c.cfg.schedule else {
        return;
    };
    if let Err(e) = parse_cron(&schedule.cron) {
        let d = Diagnostic::new(
            Code::E023,
            format!("invalid cron expression `{}`: {e}", schedule.cron),
        )
        .at(c.src.span(&[Seg::Key("schedule"), Seg::Key("cron")]))
        .hint("write 5 fields: minute hour day-of-month month day-of-week, e.g. `0 9 * * FRI`");
        c.report(d);
    }
    if let Some(tz) = &schedule.timezone
        && chrono_tz::Tz::from_str(tz).is_err()
    {
        let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
        let d = Diagnostic::new(Code::E024, format!("unknown time zone `{tz}`"))
            .at(c.src.span(&[Seg::Key("schedule"), Seg::Key("timezone")]))
            .maybe_hint(
                crate::spec::diagnostic::did_you_mean(tz, names)
                    .or_else(|| Some("use an IANA name such as `Europe/Berlin`".into())),
            );
        c.report(d);
    }
}

/// The fields of `slot` that `schedule.inputs` templates may use.
pub const SLOT_FIELDS: &[&str] = &["date", "time", "iso"];

/// Checks `schedule.inputs` against the workflow before anything fires: every name is a
/// declared input (E014), every template compiles (E021) and reads only `slot.*` (E014), and
/// every required input without a default gets a value (E002). Empty without a schedule.
pub fn check_inputs(loaded: &Loaded, templates: &Templates) -> Diagnostics {
    let mut found = Diagnostics::default();
    let Some(schedule) = &loaded.config.schedule else {
        return found;
    };
    let src = &loaded.source;
    let declared = &loaded.config.inputs;
    for (name, template) in &schedule.inputs {
        let path = [Seg::Key("schedule"), Seg::Key("inputs"), Seg::Key(name)];
        if !declared.contains_key(name) {
            found.push(
                Diagnostic::new(
                    Code::E014,
                    format!("`schedule.inputs` sets `{name}`, which is not a declared input"),
                )
                .at(src.key_span(&path))
                .maybe_hint(did_you_mean(name, declared.keys().map(String::as_str))),
            );
        }
        let scalar = src.span(&path);
        if let Err(e) = templates.check(template) {
            found.push(Diagnostic::new(Code::E021, e.to_string()).at(scalar));
            continue;
        }
        for r in references(template).unwrap_or_default() {
            let known = r.path.len() == 2
                && r.path[0] == "slot"
                && SLOT_FIELDS.contains(&r.path[1].as_str());
            if !known {
                let text = r.path.join(".");
                let at = scalar.map(|s| src.sub_span(s, template, r.offset..r.offset + text.len()));
                found.push(
                    Diagnostic::new(
                        Code::E014,
                        format!(
                            "`schedule.inputs.{name}` uses `{text}`, which does not exist here"
                        ),
                    )
                    .at(at)
                    .label("not a slot field")
                    .hint("scheduled inputs can use `slot.date`, `slot.time` and `slot.iso`"),
                );
            }
        }
    }
    for (name, input) in declared {
        if input.required && input.default.is_none() && !schedule.inputs.contains_key(name) {
            found.push(
                Diagnostic::new(
                    Code::E002,
                    format!("scheduled runs get no value for the required input `{name}`"),
                )
                .at(src.key_span(&[Seg::Key("schedule")]))
                .hint(format!(
                    "set it in `schedule.inputs`, e.g. `{name}: \"@data/{name}-{{{{slot.date}}}}.csv\"`"
                )),
            );
        }
    }
    found.sorted()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse;

    #[test]
    fn check_names_undeclared_inputs_bad_templates_and_missing_required_ones() {
        let text = "version: 1
name: payroll
schedule:
  cron: \"0 9 * * FRI\"
  inputs:
    payess: \"@data/{{slot.date}}.csv\"
    budget: \"{{slot.dat}}\"
    note: \"{{#if}}\"
inputs:
  payees: { type: csv, required: true }
  budget: { type: decimal, default: \"10.00\" }
  note: { type: string }
steps:
  - id: a
    uses: log
    with: { message: hi }
";
        let loaded = parse("payroll.yaml", text).unwrap();
        let found = check_inputs(&loaded, &Templates::new());
        let summary: Vec<(Code, &str)> = found
            .0
            .iter()
            .map(|d| {
                let span = d.span.unwrap();
                (d.code, &text[span.start..span.end])
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Code::E002, "schedule"),
                (Code::E014, "payess"),
                (Code::E014, "slot.dat"),
                (Code::E021, "\"{{#if}}\""),
            ]
        );
        assert_eq!(found.0[1].hint.as_deref(), Some("did you mean `payees`?"));

        let fine = text
            .replace("payess", "payees")
            .replace("{{slot.dat}}", "{{slot.date}}")
            .replace("{{#if}}", "x");
        let loaded = parse("payroll.yaml", &fine).unwrap();
        assert_eq!(
            check_inputs(&loaded, &Templates::new()),
            Diagnostics::default()
        );
    }

    #[test]
    fn accepts_five_and_six_fields() {
        assert!(parse_cron("0 9 * * FRI").is_ok());
        assert!(parse_cron("*/5 * * * * *").is_ok());
        assert!(parse_cron("0 9 * *").is_err());
        assert!(parse_cron("0 25 * * *").is_err());
    }
}
