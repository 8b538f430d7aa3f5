//! Literal `with` values against the types in the provider's table: a `recipient` that is
//! not a mapping, a `capture` that is neither `true` nor `false`, an `extra` the provider
//! cannot pass on. A value a template produces is checked by the adapter once rendered.

use serde_json::Value;

use super::Checker;
use crate::catalog::{ActionKind, EXTRA, Offer};
use crate::spec::{Code, Diagnostic, Seg};

/// Checks the literal values of step `index` against `offer`, its provider's entry.
pub fn check(c: &mut Checker<'_>, index: usize, offer: &Offer) {
    // Only adapters read these values; `webhook.await` is the engine's, which parses its own.
    if !matches!(offer.action.kind, ActionKind::Read | ActionKind::Write) {
        return;
    }
    let mut wrong: Vec<(String, &'static str)> = Vec::new();
    for (name, value) in &c.cfg.steps[index].with {
        if is_template(value) {
            continue;
        }
        let expected = if name == EXTRA {
            (!offer.extra.admits(value)).then(|| offer.extra.expected())
        } else {
            offer
                .field(name)
                .filter(|f| !f.ty.admits(value))
                .map(|f| f.ty.expected())
        };
        if let Some(expected) = expected {
            wrong.push((name.clone(), expected));
        }
    }
    for (name, expected) in wrong {
        let at = c.src.span(&[
            Seg::Key("steps"),
            Seg::Index(index),
            Seg::Key("with"),
            Seg::Key(&name),
        ]);
        let d = Diagnostic::new(Code::E002, format!("`{name}` must be {expected}")).at(at);
        c.report(d);
    }
}

/// Whether a template may produce the value (a whole-value template keeps its type).
fn is_template(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.contains("{{"))
}
