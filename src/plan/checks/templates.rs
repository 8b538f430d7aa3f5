//! Template checks: syntax, and references to steps and inputs that exist. The step
//! references found here are the DAG's implicit edges.

use std::collections::BTreeSet;

use super::Checker;
use crate::spec::diagnostic::did_you_mean;
use crate::spec::{Code, Diagnostic, Seg, Span};
use crate::template::{TemplateError, references};

/// The `run.*` fields templates may use.
pub const RUN_FIELDS: &[&str] = &["id", "started_at", "scheduled_for"];

/// Where a template sits: its text and the YAML path of the scalar holding it.
pub struct Site<'t, 'p> {
    /// The template text.
    pub text: &'t str,
    /// The YAML path of the scalar.
    pub path: &'p [Seg<'p>],
}

/// Checks one template of step `index`; returns the indices of the steps it refers to.
pub fn check(c: &mut Checker<'_>, index: usize, site: &Site<'_, '_>) -> BTreeSet<usize> {
    let mut deps = BTreeSet::new();
    if !site.text.contains("{{") {
        return deps;
    }
    let scalar = c.src.span(site.path);
    if let Err(e) = c.templates.check(site.text) {
        let at = match (&e, scalar) {
            (
                TemplateError::Syntax {
                    offset: Some(o), ..
                },
                Some(s),
            ) => Some(
                c.src
                    .sub_span(s, site.text, *o..(*o + 1).min(site.text.len())),
            ),
            _ => scalar,
        };
        let d = Diagnostic::new(Code::E021, e.to_string()).at(at);
        c.report(d);
        return deps;
    }
    let refs = match references(site.text) {
        Ok(refs) => refs,
        Err(e) => {
            c.report(Diagnostic::new(Code::E021, e.to_string()).at(scalar));
            return deps;
        }
    };
    for r in refs {
        let len = r.path.iter().map(String::len).sum::<usize>() + r.path.len().saturating_sub(1);
        let span = scalar.map(|s| c.src.sub_span(s, site.text, r.offset..r.offset + len));
        let path: Vec<&str> = r.path.iter().map(String::as_str).collect();
        if let Some(dep) = check_path(c, index, &path, span) {
            deps.insert(dep);
        }
    }
    deps
}

/// Checks a `for_each` expression: a path to a list, optionally written as `{{ path }}`.
pub fn check_for_each(c: &mut Checker<'_>, index: usize, expr: &str) -> BTreeSet<usize> {
    let path_segs = [Seg::Key("steps"), Seg::Index(index), Seg::Key("for_each")];
    let span = c.src.span(&path_segs);
    let inner = expr
        .trim()
        .strip_prefix("{{")
        .and_then(|e| e.strip_suffix("}}"))
        .unwrap_or(expr)
        .trim();
    let segs: Vec<&str> = inner.split('.').collect();
    let well_formed = segs.len() >= 2
        && matches!(segs[0], "inputs" | "steps")
        && segs
            .iter()
            .all(|s| !s.is_empty() && s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'));
    if !well_formed {
        let d = Diagnostic::new(
            Code::E028,
            format!("`for_each: {expr}` is not a path to a list"),
        )
        .at(span)
        .hint("write a path such as `inputs.payees` or `steps.fetch.output.items`");
        c.report(d);
        return BTreeSet::new();
    }
    check_path(c, index, &segs, span).into_iter().collect()
}

/// Checks one referenced path; returns the step it depends on, if any.
fn check_path(
    c: &mut Checker<'_>,
    index: usize,
    path: &[&str],
    span: Option<Span>,
) -> Option<usize> {
    match path {
        ["inputs", name, ..] => {
            if c.cfg.inputs.contains_key(*name) {
                c.used_inputs.insert((*name).to_string());
            } else {
                let d = Diagnostic::new(Code::E014, format!("unknown input `{name}`"))
                    .at(span)
                    .label("not declared under `inputs:`")
                    .maybe_hint(did_you_mean(name, c.cfg.inputs.keys().map(String::as_str)));
                c.report(d);
            }
            None
        }
        ["inputs"] => None,
        ["steps", id, rest @ ..] => check_step_ref(c, index, id, rest, span),
        ["run", field, ..] if !RUN_FIELDS.contains(field) => {
            let d =
                Diagnostic::new(Code::E014, format!("unknown variable `run.{field}`"))
                    .at(span)
                    .maybe_hint(did_you_mean(field, RUN_FIELDS.iter().copied()).or_else(|| {
                        Some("`run` has `id`, `started_at` and `scheduled_for`".into())
                    }));
            c.report(d);
            None
        }
        _ => None,
    }
}

fn check_step_ref(
    c: &mut Checker<'_>,
    index: usize,
    id: &str,
    rest: &[&str],
    span: Option<Span>,
) -> Option<usize> {
    let me = &c.cfg.steps[index];
    let Some(target) = c.cfg.steps.iter().position(|s| s.id == id) else {
        let d = Diagnostic::new(Code::E013, format!("unknown step `{id}`"))
            .at(span)
            .label("no step has this id")
            .maybe_hint(did_you_mean(id, c.cfg.steps.iter().map(|s| s.id.as_str())));
        c.report(d);
        return None;
    };
    if target == index {
        let d = Diagnostic::new(Code::E013, format!("step `{}` refers to itself", me.id))
            .at(span)
            .hint("a step's own output does not exist while it runs");
        c.report(d);
        return None;
    }
    let per_item = c.cfg.steps[target].for_each.is_some();
    let wrong = match rest.first() {
        Some(&"output") if per_item => Some(format!(
            "step `{id}` runs once per item: use `steps.{id}.items.<key>` or `steps.{id}.outputs`"
        )),
        Some(&("items" | "outputs")) if !per_item => {
            Some(format!("step `{id}` runs once: use `steps.{id}.output`"))
        }
        Some(&("output" | "items" | "outputs")) | None => None,
        Some(other) => Some(format!(
            "`steps.{id}.{other}` does not exist: a step has `output` (or `items` and `outputs` with `for_each`)"
        )),
    };
    if let Some(message) = wrong {
        c.report(Diagnostic::new(Code::E031, message).at(span));
    }
    Some(target)
}
