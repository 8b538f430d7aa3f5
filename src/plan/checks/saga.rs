//! Compensation (README, *Compensation*): `compensate:`, `saga:` and `on_failure:`.
//!
//! Errors (E036) are what cannot work: a second pivot, an undo of the pivot, of a retriable
//! step or of a step after the pivot, an undo that is not a write its provider offers, and
//! an undo template reading anything but the inputs, the run, the step's own output and its
//! element. Warnings are the holes in the undo path under `on_failure: compensate`: a step
//! that moves money and may be followed by a failure, with no `compensate:` (W006) or with no
//! undo at its provider at all (W007).

use std::collections::BTreeSet;

use serde_json::Value;

use super::Checker;
use super::step::StepFacts;
use crate::catalog::{self, ACTIONS, ActionKind, ActionSpec};
use crate::plan::for_each::DEFAULT_ALIAS;
use crate::spec::diagnostic::did_you_mean;
use crate::spec::{Code, Diagnostic, OnFailure, SagaRole, Seg};
use crate::template::references;

/// Checks every step's saga settings against the facts the step checks learnt.
pub fn check(c: &mut Checker<'_>, steps: &[StepFacts]) {
    let pivot = check_pivots(c);
    for index in 0..steps.len() {
        if c.cfg.steps[index].compensate.is_some() {
            check_compensate(c, steps, index, pivot);
        }
    }
    if c.cfg.on_failure == OnFailure::Compensate {
        check_holes(c, steps, pivot);
    }
}

/// The indices of every step `index` waits for, directly or not.
pub fn ancestors(steps: &[StepFacts], index: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<usize> = steps[index].deps.iter().copied().collect();
    while let Some(d) = todo.pop() {
        if d < steps.len() && seen.insert(d) {
            todo.extend(steps[d].deps.iter().copied());
        }
    }
    seen
}

/// Reports every pivot after the first; returns the first.
fn check_pivots(c: &mut Checker<'_>) -> Option<usize> {
    let pivots: Vec<usize> = (0..c.cfg.steps.len())
        .filter(|&i| c.cfg.steps[i].saga == Some(SagaRole::Pivot))
        .collect();
    let first = *pivots.first()?;
    for &i in &pivots[1..] {
        let at = [Seg::Key("steps"), Seg::Index(i), Seg::Key("saga")];
        let d = Diagnostic::new(
            Code::E036,
            format!(
                "step `{}` is a second pivot: `{}` is the workflow's point of no return",
                c.cfg.steps[i].id, c.cfg.steps[first].id
            ),
        )
        .at(c.src.span(&at))
        .hint("a workflow has at most one `saga: pivot`");
        c.report(d);
    }
    Some(first)
}

fn check_compensate(c: &mut Checker<'_>, steps: &[StepFacts], index: usize, pivot: Option<usize>) {
    let cfg = c.cfg;
    let step = &cfg.steps[index];
    let at = |field: &'static str| {
        vec![
            Seg::Key("steps"),
            Seg::Index(index),
            Seg::Key("compensate"),
            Seg::Key(field),
        ]
    };
    let key = [Seg::Key("steps"), Seg::Index(index), Seg::Key("compensate")];
    let refused = match (step.saga, pivot) {
        (Some(SagaRole::Retriable), _) => Some(format!(
            "step `{}` is `saga: retriable`: it must complete and is never compensated",
            step.id
        )),
        (_, Some(p)) if ancestors(steps, index).contains(&p) => Some(format!(
            "step `{}` runs after the pivot `{}`: what follows the point of no return is never compensated",
            step.id, cfg.steps[p].id
        )),
        (Some(SagaRole::Pivot), _) => Some(format!(
            "step `{}` is the pivot, the point of no return: it is never compensated",
            step.id
        )),
        _ => None,
    };
    if let Some(message) = refused {
        let d = Diagnostic::new(Code::E036, message).at(c.src.key_span(&key));
        c.report(d);
    }
    if let Some(action) = check_undo_action(c, index, &at("uses")) {
        check_undo_provider(c, steps, index, action);
    }
    check_undo_templates(c, index);
}

/// The undo's action, when it is a write.
fn check_undo_action(
    c: &mut Checker<'_>,
    index: usize,
    at: &[Seg<'_>],
) -> Option<&'static ActionSpec> {
    let cfg = c.cfg;
    let undo = cfg.steps[index].compensate.as_ref()?;
    let method = undo.with.get("method").and_then(Value::as_str);
    let Some(action) = catalog::action_for(&undo.uses, method) else {
        let d = Diagnostic::new(Code::E036, format!("unknown undo action `{}`", undo.uses))
            .at(c.src.span(at))
            .maybe_hint(did_you_mean(&undo.uses, ACTIONS.iter().map(|a| a.name)));
        c.report(d);
        return None;
    };
    if action.kind != ActionKind::Write {
        let d = Diagnostic::new(
            Code::E036,
            format!(
                "`compensate: {}` does not write: an undo is a write",
                undo.uses
            ),
        )
        .at(c.src.span(at))
        .hint("a refund (`refund.create`), a conversion back (`swap`) or an `http.request`");
        c.report(d);
        return None;
    }
    Some(action)
}

/// The undo's provider offers its action, with the fields given and those it needs.
fn check_undo_provider(
    c: &mut Checker<'_>,
    steps: &[StepFacts],
    index: usize,
    action: &'static ActionSpec,
) {
    let cfg = c.cfg;
    let undo = cfg.steps[index]
        .compensate
        .as_ref()
        .expect("checked by the caller");
    let at = [Seg::Key("steps"), Seg::Index(index), Seg::Key("compensate")];
    let name = undo
        .provider
        .clone()
        .or_else(|| steps[index].provider.clone());
    let Some(block) = name.as_ref().and_then(|n| cfg.providers.get(n)) else {
        let d = Diagnostic::new(
            Code::E036,
            format!(
                "the undo of step `{}` names no declared provider",
                cfg.steps[index].id
            ),
        )
        .at(c.src.key_span(&at))
        .hint("set `compensate.provider` to a block under `providers:`");
        c.report(d);
        return;
    };
    let kind = block.kind;
    let name = name.unwrap_or_default();
    let Some(offer) = catalog::offer(kind, action.name) else {
        let d = Diagnostic::new(
            Code::E036,
            format!(
                "provider `{name}` ({kind}) has no action `{}` to undo with",
                action.name
            ),
        )
        .at(c.src.key_span(&at))
        .maybe_hint(
            steps[index]
                .action
                .and_then(|a| catalog::undo(kind, a.name))
                .map(|u| format!("`{kind}` undoes it with `{u}`")),
        );
        c.report(d);
        return;
    };
    let unknown: Vec<String> = undo
        .with
        .keys()
        .filter(|f| !offer.accepts(f))
        .map(|f| format!("`{f}`"))
        .collect();
    let missing: Vec<String> = offer
        .required()
        .filter(|f| !undo.with.contains_key(*f))
        .map(|f| format!("`{f}`"))
        .collect();
    for (what, fields) in [("does not take", unknown), ("needs", missing)] {
        if fields.is_empty() {
            continue;
        }
        let d = Diagnostic::new(
            Code::E036,
            format!("the undo `{}` {what} {}", action.name, fields.join(", ")),
        )
        .at(c.src.key_span(&at));
        c.report(d);
    }
}

/// The undo's templates compile and read only what a compensation sees.
fn check_undo_templates(c: &mut Checker<'_>, index: usize) {
    let cfg = c.cfg;
    let step = &cfg.steps[index];
    let Some(undo) = &step.compensate else {
        return;
    };
    let alias = step
        .for_each
        .as_ref()
        .map(|_| step.alias.as_deref().unwrap_or(DEFAULT_ALIAS));
    let mut texts = Vec::new();
    for (key, value) in &undo.with {
        collect_strings(value, vec![Step::Key(key.clone())], &mut texts);
    }
    for (at, text) in texts.iter().filter(|(_, t)| t.contains("{{")) {
        let mut path = vec![
            Seg::Key("steps"),
            Seg::Index(index),
            Seg::Key("compensate"),
            Seg::Key("with"),
        ];
        path.extend(at.iter().map(|step| match step {
            Step::Key(k) => Seg::Key(k),
            Step::Index(i) => Seg::Index(*i),
        }));
        let span = c.src.span(&path);
        if let Err(e) = c.templates.check(text) {
            c.report(Diagnostic::new(Code::E021, e.to_string()).at(span));
            continue;
        }
        let Ok(refs) = references(text) else {
            continue;
        };
        for r in refs {
            let path: Vec<&str> = r.path.iter().map(String::as_str).collect();
            if let Some(message) = refused_ref(c, &step.id, alias, &path) {
                let d = Diagnostic::new(Code::E036, message).at(span).hint(format!(
                    "an undo sees `inputs`, `run`, `steps.{}.output`{}",
                    step.id,
                    alias.map(|a| format!(" and `{a}`")).unwrap_or_default()
                ));
                c.report(d);
            }
        }
    }
}

/// Why an undo template may not read `path`, if it may not.
fn refused_ref(
    c: &mut Checker<'_>,
    own: &str,
    alias: Option<&str>,
    path: &[&str],
) -> Option<String> {
    match path {
        ["inputs", name, ..] if !c.cfg.inputs.contains_key(*name) => {
            Some(format!("unknown input `{name}`"))
        }
        ["inputs", name, ..] => {
            c.used_inputs.insert((*name).to_string());
            None
        }
        ["run", ..] | ["inputs"] => None,
        ["steps", id, "output", ..] if *id == own => None,
        ["steps", id, ..] if *id == own => Some(format!(
            "an undo reads its step's result as `steps.{own}.output`"
        )),
        ["steps", id, ..] => Some(format!(
            "the undo of step `{own}` reads step `{id}`: it sees only its own step's output"
        )),
        [root, ..] if Some(*root) == alias => None,
        [root, ..] => Some(format!("unknown variable `{root}` in the undo of `{own}`")),
        [] => None,
    }
}

/// One step down a `with` value: a key, or a position in a list.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// Every string under `v`, with the keys and list positions leading to it.
fn collect_strings(v: &Value, at: Vec<Step>, out: &mut Vec<(Vec<Step>, String)>) {
    let child = |k: Step| {
        let mut path = at.clone();
        path.push(k);
        path
    };
    match v {
        Value::String(s) => out.push((at, s.clone())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect_strings(x, child(Step::Index(i)), out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                collect_strings(x, child(Step::Key(k.clone())), out);
            }
        }
        _ => {}
    }
}

/// Whether a step only authorises a charge (`capture: false`): nothing moves until the
/// capture, and an authorisation that is never captured is released by the provider (White:
/// after 7 days), so it needs no undo of its own; the capture does.
fn authorises_only(action: &ActionSpec, with: &serde_json::Map<String, Value>) -> bool {
    let uncaptured = match with.get("capture") {
        Some(Value::Bool(b)) => !b,
        Some(Value::String(s)) => s.trim() == "false",
        _ => false,
    };
    action.name == "charge.create" && uncaptured
}

/// W006 and W007: the money-moving steps a failure after them would leave done.
fn check_holes(c: &mut Checker<'_>, steps: &[StepFacts], pivot: Option<usize>) {
    let cfg = c.cfg;
    let after_pivot = |i: usize| pivot.is_some_and(|p| p == i || ancestors(steps, i).contains(&p));
    for (i, facts) in steps.iter().enumerate() {
        let step = &cfg.steps[i];
        let Some(action) = facts.action else {
            continue;
        };
        let moves_money = action.kind == ActionKind::Write
            && !action.money.is_empty()
            && !authorises_only(action, &step.with);
        if !moves_money || step.compensate.is_some() || step.saga.is_some() || after_pivot(i) {
            continue;
        }
        let before = ancestors(steps, i);
        let may_fail_after = (0..steps.len()).any(|j| {
            j != i
                && !before.contains(&j)
                && steps[j].action.is_some_and(|a| a.name != "log")
                && !cfg.steps[j].continue_on_error
        });
        if !may_fail_after {
            continue;
        }
        let kind = facts
            .provider
            .as_ref()
            .and_then(|p| cfg.providers.get(p))
            .map(|b| b.kind);
        let at = [Seg::Key("steps"), Seg::Index(i), Seg::Key("id")];
        let d = match kind.and_then(|k| catalog::undo(k, action.name).map(|u| (k, u))) {
            Some((_, undo)) => Diagnostic::new(
                Code::W006,
                format!(
                    "step `{}` moves money and is left done when a later step fails: it has no `compensate:`",
                    step.id
                ),
            )
            .hint(format!("add `compensate: {{ uses: {undo}, with: … }}`")),
            None => Diagnostic::new(
                Code::W007,
                format!(
                    "step `{}` moves money and cannot be undone at its provider when a later step fails",
                    step.id
                ),
            )
            .hint("make it the last step, or mark it `saga: pivot` (no undo after it)"),
        };
        let span = c.src.key_span(&at);
        c.report(d.at(span));
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::{Code, parse};

    /// The saga codes and messages `compile` reports for a workflow of these steps (the
    /// credentials written in the file are warned about too, and left out).
    fn problems(on_failure: &str, steps: &str) -> Vec<(Code, String)> {
        let text = format!(
            "version: 1\nname: t\non_failure: {on_failure}\ninputs:\n  amount: {{ type: decimal, default: \"1.00\" }}\nproviders:\n  white: {{ kind: white, secret_key: k }}\n  wp: {{ kind: whitepay, token: t }}\n  wst: {{ kind: whitestones, api_key: k, api_secret: s }}\nsteps:\n{steps}"
        );
        let loaded = parse("t.yaml", &text).expect("parses");
        let diagnostics = match crate::plan::compile(&loaded) {
            Ok(c) => c.warnings,
            Err(d) => d,
        };
        diagnostics
            .0
            .iter()
            .filter(|d| matches!(d.code, Code::E036 | Code::W006 | Code::W007))
            .map(|d| (d.code, d.message.clone()))
            .collect()
    }

    const CHARGE: &str = "  - { id: charge, uses: charge.create, provider: white, with: { amount: \"{{inputs.amount}}\", currency: USD, customer_id: c } }\n";
    const PAYOUT: &str = "  - { id: payout, uses: transfer, provider: wst, needs: [charge], with: { amount: \"1.00\", currency: USD, recipient: { name: n } } }\n";

    #[test]
    fn holes_in_the_undo_path_are_warned_by_name() {
        let found = problems("compensate", &format!("{CHARGE}{PAYOUT}"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Code::W006);
        assert!(found[0].1.contains("`charge`"), "{found:?}");
        // The payout is last: nothing can fail after it, so it needs no undo.
        let payout_first = PAYOUT.replace("needs: [charge]", "needs: []");
        let charge_after = CHARGE.replace("customer_id: c }", "customer_id: c }, needs: [payout]");
        let found = problems("compensate", &format!("{payout_first}{charge_after}"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Code::W007);
        assert!(found[0].1.contains("`payout`"), "{found:?}");
        // An authorisation moves nothing until it is captured.
        let authorise = CHARGE.replace("customer_id: c }", "customer_id: c, capture: \"false\" }");
        assert!(problems("compensate", &format!("{authorise}{PAYOUT}")).is_empty());
        // Under `stop`, nothing is undone and nothing is asked.
        assert!(problems("stop", &format!("{CHARGE}{PAYOUT}")).is_empty());
    }

    #[test]
    fn an_undo_is_a_write_its_provider_offers_reading_only_its_own_step() {
        let undo = |uses: &str, with: &str| {
            CHARGE.replace(
                " } }\n",
                &format!(" }}, compensate: {{ uses: {uses}, with: {with} }} }}\n"),
            )
        };
        let good = undo(
            "refund.create",
            "{ charge_id: \"{{steps.charge.output.id}}\", amount: \"{{steps.charge.output.amount}}\", currency: USD }",
        );
        assert!(problems("compensate", &good).is_empty());
        for (uses, with, says) in [
            ("balance.get", "{}", "does not write"),
            ("swap", "{}", "has no action `swap`"),
            ("refund.create", "{ charge: x }", "does not take `charge`"),
            ("refund.create", "{ amount: \"1\" }", "needs `charge_id`"),
            (
                "refund.create",
                "{ charge_id: \"{{steps.other.output.id}}\" }",
                "reads step `other`",
            ),
            (
                "refund.create",
                "{ charge_id: \"{{item.id}}\" }",
                "unknown variable `item`",
            ),
        ] {
            let found = problems("compensate", &undo(uses, with));
            assert!(
                found
                    .iter()
                    .any(|(c, m)| *c == Code::E036 && m.contains(says)),
                "{uses} {with}: {found:?}"
            );
        }
    }

    #[test]
    fn one_pivot_and_no_undo_at_or_after_it_or_of_a_retriable_step() {
        let refund = "compensate: { uses: refund.create, with: { charge_id: x } }";
        let pivot = CHARGE.replace(" } }\n", " }, saga: pivot }\n");
        let after = PAYOUT.replace("} } }\n", "} }, saga: pivot }\n");
        let found = problems("compensate", &format!("{pivot}{after}"));
        assert!(
            found
                .iter()
                .any(|(c, m)| *c == Code::E036 && m.contains("second pivot")),
            "{found:?}"
        );
        let undo_after = format!(
            "{pivot}  - {{ id: capture, uses: charge.capture, provider: white, needs: [charge], with: {{ charge_id: x }}, {refund} }}\n"
        );
        let found = problems("compensate", &undo_after);
        assert!(
            found
                .iter()
                .any(|(c, m)| *c == Code::E036 && m.contains("after the pivot `charge`")),
            "{found:?}"
        );
        let retriable = CHARGE.replace(" } }\n", &format!(" }}, saga: retriable, {refund} }}\n"));
        let found = problems("compensate", &retriable);
        assert!(
            found
                .iter()
                .any(|(c, m)| *c == Code::E036 && m.contains("retriable")),
            "{found:?}"
        );
    }
}
