//! `inputs:` checks: defaults that fit their type, and inputs nothing uses.

use super::Checker;
use crate::money::parse_amount;
use crate::spec::{Code, Diagnostic, InputType, Seg};

/// Checks that every default fits its input's type.
pub fn check(c: &mut Checker<'_>) {
    for (name, input) in &c.cfg.inputs {
        let Some(default) = &input.default else {
            continue;
        };
        let text = default.as_str().map(str::to_string);
        let problem = match (input.kind, text.as_deref()) {
            (InputType::Decimal, Some(t)) => parse_amount(t).err().map(|e| e.to_string()),
            (InputType::Integer, Some(t)) => t
                .parse::<i64>()
                .err()
                .map(|_| format!("`{t}` is not a whole number")),
            (InputType::Boolean, Some(t)) => {
                (t != "true" && t != "false").then(|| format!("`{t}` is not `true` or `false`"))
            }
            (InputType::Decimal | InputType::Integer | InputType::Boolean, None) => {
                Some("expected a single value".to_string())
            }
            _ => None,
        };
        if let Some(problem) = problem {
            let d = Diagnostic::new(
                Code::E029,
                format!("default of input `{name}` does not fit its type: {problem}"),
            )
            .at(c
                .src
                .span(&[Seg::Key("inputs"), Seg::Key(name), Seg::Key("default")]));
            c.report(d);
        }
    }
}

/// Warns about declared inputs no template, `if`, `key` or `for_each` uses.
pub fn check_unused(c: &mut Checker<'_>) {
    let unused: Vec<String> = c
        .cfg
        .inputs
        .keys()
        .filter(|name| !c.used_inputs.contains(*name))
        .cloned()
        .collect();
    for name in unused {
        let d = Diagnostic::new(Code::W002, format!("input `{name}` is never used"))
            .at(c.src.key_span(&[Seg::Key("inputs"), Seg::Key(&name)]));
        c.report(d);
    }
}
