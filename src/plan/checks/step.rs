//! Per-step checks: the action, its provider, `with`, `needs`, `for_each`, and templates.

use std::collections::BTreeSet;

use super::templates::{self, Site};
use super::{Checker, approval, http, money, providers, settle, with_fields, with_shapes};
use crate::catalog::{self, ACTIONS, ActionSpec};
use crate::spec::diagnostic::did_you_mean;
use crate::spec::{Code, Diagnostic, Seg};

/// What the checks learnt about one step.
#[derive(Debug, Clone)]
pub struct StepFacts {
    /// The step's id.
    pub id: String,
    /// Its action, when `uses` names one.
    pub action: Option<&'static ActionSpec>,
    /// The provider block it runs against.
    pub provider: Option<String>,
    /// The steps it depends on.
    pub deps: BTreeSet<usize>,
}

/// Checks step `index`.
pub fn check(c: &mut Checker<'_>, index: usize) -> StepFacts {
    let cfg = c.cfg;
    let step = &cfg.steps[index];
    let at = |field: &'static str| [Seg::Key("steps"), Seg::Index(index), Seg::Key(field)];
    let method = step.with.get("method").and_then(serde_json::Value::as_str);
    let action = catalog::action_for(&step.uses, method);
    if action.is_none() {
        let d = Diagnostic::new(Code::E017, format!("unknown action `{}`", step.uses))
            .at(c.src.span(&at("uses")))
            .maybe_hint(did_you_mean(&step.uses, ACTIONS.iter().map(|a| a.name)));
        c.report(d);
    }
    let mut provider = None;
    let mut kind = None;
    if let Some(action) = action.filter(|a| a.needs_provider()) {
        provider = providers::resolve(c, index);
        kind = provider.as_ref().map(|p| cfg.providers[p].kind);
        if let (Some(name), Some(k)) = (&provider, kind)
            && catalog::offer(k, action.name).is_none()
        {
            let offered = catalog::table(k)
                .action_names()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let d = Diagnostic::new(
                Code::E018,
                format!("provider `{name}` ({k}) has no action `{}`", action.name),
            )
            .at(c.src.span(&at("uses")))
            .hint(format!("`{k}` offers {offered}"));
            c.report(d);
        }
    }
    if let Some(action) = action {
        with_fields::check(c, index, action, kind);
        if let Some(offer) = kind.and_then(|k| catalog::offer(k, action.name)) {
            with_shapes::check(c, index, offer);
        }
        money::check(c, index, action, kind);
        if action.name == catalog::HTTP_REQUEST.name {
            http::check(c, index, provider.as_deref());
        }
        if action.name == "approval" {
            approval::check(c, index);
        }
    }
    settle::check(c, index, action);
    let mut deps = check_needs(c, index);
    deps.extend(check_for_each(c, index));
    deps.extend(check_templates(c, index));
    StepFacts {
        id: step.id.clone(),
        action,
        provider,
        deps,
    }
}

fn check_needs(c: &mut Checker<'_>, index: usize) -> BTreeSet<usize> {
    let cfg = c.cfg;
    let step = &cfg.steps[index];
    let mut deps = BTreeSet::new();
    for (j, need) in step.needs.iter().enumerate() {
        let span = c.src.span(&[
            Seg::Key("steps"),
            Seg::Index(index),
            Seg::Key("needs"),
            Seg::Index(j),
        ]);
        match cfg.steps.iter().position(|s| &s.id == need) {
            Some(target) if target == index => {
                let d = Diagnostic::new(Code::E012, format!("step `{need}` needs itself")).at(span);
                c.report(d);
            }
            Some(target) => {
                deps.insert(target);
            }
            None => {
                let d = Diagnostic::new(
                    Code::E012,
                    format!("step `{}` needs unknown step `{need}`", step.id),
                )
                .at(span)
                .label("not defined in this workflow")
                .maybe_hint(did_you_mean(need, cfg.steps.iter().map(|s| s.id.as_str())));
                c.report(d);
            }
        }
    }
    deps
}

fn check_for_each(c: &mut Checker<'_>, index: usize) -> BTreeSet<usize> {
    let step = &c.cfg.steps[index];
    let at = |field: &'static str| [Seg::Key("steps"), Seg::Index(index), Seg::Key(field)];
    let Some(expr) = &step.for_each else {
        for (field, present) in [
            ("key", step.key.is_some()),
            ("as", step.alias.is_some()),
            ("tolerate_failures", step.tolerate_failures.is_some()),
        ] {
            if present {
                let d = Diagnostic::new(
                    Code::E016,
                    format!("`{field}` only applies to steps with `for_each`"),
                )
                .at(c.src.key_span(&at(field)));
                c.report(d);
            }
        }
        return BTreeSet::new();
    };
    if step.key.is_none() {
        let alias = step.alias.as_deref().unwrap_or("item");
        let d = Diagnostic::new(
            Code::E016,
            format!("step `{}` has `for_each` but no `key`", step.id),
        )
        .at(c.src.key_span(&at("for_each")))
        .hint(format!(
            "add a stable per-item key, e.g. `key: \"{{{{{alias}.id}}}}\"`: the idempotency key is derived from it"
        ));
        c.report(d);
    }
    if let Some(t) = &step.tolerate_failures
        && parse_tolerance(t).is_none()
    {
        let d = Diagnostic::new(Code::E030, format!("invalid `tolerate_failures: {t}`"))
            .at(c.src.span(&at("tolerate_failures")))
            .hint("write a count (`3`) or a percentage (`\"5%\"`)");
        c.report(d);
    }
    templates::check_for_each(c, index, expr)
}

/// A `tolerate_failures` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    /// At most this many items may fail.
    Count(u64),
    /// At most this share of items may fail, in percent.
    Percent(rust_decimal::Decimal),
}

/// Parses `3` or `5%` (a percentage from 0 to 100, decimals allowed).
pub fn parse_tolerance(text: &str) -> Option<Tolerance> {
    let text = text.trim();
    if let Some(p) = text.strip_suffix('%') {
        let p = crate::money::parse_amount(p.trim()).ok()?;
        return (p >= rust_decimal::Decimal::ZERO && p <= rust_decimal::Decimal::ONE_HUNDRED)
            .then_some(Tolerance::Percent(p));
    }
    text.parse().ok().map(Tolerance::Count)
}

fn check_templates(c: &mut Checker<'_>, index: usize) -> BTreeSet<usize> {
    let cfg = c.cfg;
    let step = &cfg.steps[index];
    let mut deps = BTreeSet::new();
    for (field, text) in [("if", &step.condition), ("key", &step.key)] {
        if let Some(text) = text {
            let path = [Seg::Key("steps"), Seg::Index(index), Seg::Key(field)];
            deps.extend(templates::check(c, index, &Site { text, path: &path }));
        }
    }
    let mut path = vec![Seg::Key("steps"), Seg::Index(index), Seg::Key("with")];
    for (key, value) in &step.with {
        path.push(Seg::Key(key));
        walk(c, index, value, &mut path, &mut deps);
        path.pop();
    }
    deps
}

fn walk<'v>(
    c: &mut Checker<'_>,
    index: usize,
    value: &'v serde_json::Value,
    path: &mut Vec<Seg<'v>>,
    deps: &mut BTreeSet<usize>,
) {
    match value {
        serde_json::Value::String(text) => {
            deps.extend(templates::check(c, index, &Site { text, path }));
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk(c, index, item, path, deps);
                path.pop();
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                path.push(Seg::Key(k));
                walk(c, index, v, path, deps);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_parses_counts_and_percentages() {
        assert_eq!(parse_tolerance("3"), Some(Tolerance::Count(3)));
        assert_eq!(
            parse_tolerance("2.5%"),
            Some(Tolerance::Percent(rust_decimal_macros::dec!(2.5)))
        );
        assert_eq!(parse_tolerance("101%"), None);
        assert_eq!(parse_tolerance("-1"), None);
        assert_eq!(parse_tolerance("some"), None);
    }
}
