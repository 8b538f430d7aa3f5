//! Whole-file checks: version, name, step ids, and cycles.

use std::collections::BTreeMap;

use super::Checker;
use crate::spec::{Code, Diagnostic, Seg};

/// Checks `version`, `name`, and that step ids are well formed and unique.
pub fn check(c: &mut Checker<'_>) {
    if c.cfg.version != 1 {
        let d = Diagnostic::new(
            Code::E004,
            format!("unsupported version `{}`", c.cfg.version),
        )
        .at(c.src.span(&[Seg::Key("version")]))
        .hint("this sluice reads `version: 1`");
        c.report(d);
    }
    let name = &c.cfg.name;
    let name_ok = name
        .chars()
        .next()
        .is_some_and(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
        && name
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '_');
    if !name_ok {
        let d = Diagnostic::new(Code::E005, format!("invalid workflow name `{name}`"))
            .at(c.src.span(&[Seg::Key("name")]))
            .hint("use lower case letters, digits, `-` and `_`, e.g. `weekly-payroll`");
        c.report(d);
    }
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, step) in c.cfg.steps.iter().enumerate() {
        let id_span = c
            .src
            .span(&[Seg::Key("steps"), Seg::Index(i), Seg::Key("id")]);
        if !is_step_id(&step.id) {
            let d = Diagnostic::new(Code::E011, format!("invalid step id `{}`", step.id))
                .at(id_span)
                .hint("step ids are `[a-z][a-z0-9_]*`, e.g. `pay_contractors`");
            c.report(d);
        }
        if let Some(prev) = first.get(step.id.as_str()) {
            let prev_line = c
                .src
                .span(&[Seg::Key("steps"), Seg::Index(*prev), Seg::Key("id")])
                .map(|s| c.src.text[..s.start].lines().count().max(1));
            let d = Diagnostic::new(Code::E010, format!("duplicate step id `{}`", step.id))
                .at(id_span)
                .label("defined again here")
                .maybe_hint(prev_line.map(|l| format!("first defined on line {l}")));
            c.report(d);
        } else {
            first.insert(&step.id, i);
        }
    }
}

/// Whether `id` is `[a-z][a-z0-9_]*`.
pub fn is_step_id(id: &str) -> bool {
    id.chars().next().is_some_and(|ch| ch.is_ascii_lowercase())
        && id
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
}

/// Reports a dependency cycle, naming its path (`a` → `b` → `a`).
pub fn report_cycle(c: &mut Checker<'_>, cycle: &[usize]) {
    let names: Vec<String> = cycle
        .iter()
        .chain(cycle.first())
        .map(|i| format!("`{}`", c.cfg.steps[*i].id))
        .collect();
    let d = Diagnostic::new(Code::E015, format!("cycle: {}", names.join(" → ")))
        .at(c
            .src
            .span(&[Seg::Key("steps"), Seg::Index(cycle[0]), Seg::Key("id")]))
        .label("this step depends on itself through the cycle")
        .hint("remove one of the `needs` or template references that close the cycle");
    c.report(d);
}
