//! Card data written in the file: a card number or verification code in a step's `with`,
//! an input's default or a schedule's inputs. Workflow files are committed and reviewed, so
//! card data in one is card data leaked; it is a warning (W004), or an error (E034) under
//! `sensitive: { raw_cards: refuse }`. The diagnostic points at the step, input or schedule,
//! never at the line holding the value, so it does not print the card.

use serde_json::Value;

use super::Checker;
use crate::sensitive::card_paths;
use crate::spec::{Code, Diagnostic, RawCards, Seg};

/// What a diagnostic says to do instead.
const HINT: &str = "pass a token instead: a White card token (`source: tok_…`, from its tokens \
                    API) or a saved customer (`customer_id`)";

/// Checks every place a file can hold a literal value.
pub fn check(c: &mut Checker<'_>) {
    let code = match c.cfg.sensitive.raw_cards {
        RawCards::Warn => Code::W004,
        RawCards::Refuse => Code::E034,
    };
    let mut found = Vec::new();
    for (index, step) in c.cfg.steps.iter().enumerate() {
        let paths = card_paths(&Value::Object(step.with.clone()));
        let at = vec![Seg::Key("steps"), Seg::Index(index), Seg::Key("id")];
        found.push((format!("step `{}`", step.id), "with.", paths, at));
    }
    for (name, input) in &c.cfg.inputs {
        let paths = input.default.as_ref().map(card_paths).unwrap_or_default();
        let at = vec![Seg::Key("inputs"), Seg::Key(name)];
        found.push((format!("input `{name}`"), "default.", paths, at));
    }
    if let Some(schedule) = &c.cfg.schedule {
        let inputs = serde_json::to_value(&schedule.inputs).unwrap_or_default();
        let at = vec![Seg::Key("schedule"), Seg::Key("cron")];
        found.push(("the schedule".into(), "inputs.", card_paths(&inputs), at));
    }
    for (what, prefix, paths, at) in found {
        if paths.is_empty() {
            continue;
        }
        let fields = paths
            .iter()
            .map(|p| format!("`{prefix}{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let d = Diagnostic::new(code, format!("{what} holds card data in {fields}"))
            .at(c.src.key_span(&at))
            .hint(HINT);
        c.report(d);
    }
}
