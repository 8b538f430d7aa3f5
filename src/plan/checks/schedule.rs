//! `schedule:` checks: the cron expression and the time zone.

use std::str::FromStr;

use super::Checker;
use crate::spec::{Code, Diagnostic, Seg};

/// Parses a 5-field crontab (`0 9 * * FRI`) or a 6-field one with seconds first.
///
/// # Errors
/// The cron crate's message, or a count of fields that is neither 5 nor 6.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    let full = match fields {
        5 => format!("0 {expr}"),
        6 => expr.to_string(),
        n => return Err(format!("expected 5 fields (or 6 with seconds), found {n}")),
    };
    cron::Schedule::from_str(&full).map_err(|e| {
        // The cron crate repeats the expression with a caret line; its last line says why.
        let text = e.to_string();
        let reason = text.lines().map(str::trim).rfind(|l| !l.is_empty());
        reason.unwrap_or("unparseable").to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_five_and_six_fields() {
        assert!(parse_cron("0 9 * * FRI").is_ok());
        assert!(parse_cron("*/5 * * * * *").is_ok());
        assert!(parse_cron("0 9 * *").is_err());
        assert!(parse_cron("0 25 * * *").is_err());
    }
}
