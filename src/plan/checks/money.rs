//! Literal amounts: plain decimals, within their currency's or asset's precision.
//! Amounts produced by templates are checked when they are rendered, by the adapters.

use super::Checker;
use crate::catalog::{self, ActionSpec, Precision, ProviderKind};
use crate::money::{self, parse_amount};
use crate::spec::{Code, Diagnostic, Seg};

/// Checks the literal money fields of step `index`.
pub fn check(c: &mut Checker<'_>, index: usize, action: &ActionSpec, kind: Option<ProviderKind>) {
    let with = &c.cfg.steps[index].with;
    for field in action.money {
        let Some(text) = with.get(field.amount).and_then(|v| v.as_str()) else {
            continue;
        };
        if text.contains("{{") {
            continue;
        }
        let span = c.src.span(&[
            Seg::Key("steps"),
            Seg::Index(index),
            Seg::Key("with"),
            Seg::Key(field.amount),
        ]);
        let amount = match parse_amount(text) {
            Ok(a) => a,
            Err(e) => {
                c.report(Diagnostic::new(Code::E022, e.to_string()).at(span));
                continue;
            }
        };
        let unit = field
            .units
            .iter()
            .find_map(|u| with.get(*u).and_then(|v| v.as_str()))
            .filter(|u| !u.contains("{{"));
        let Some(unit) = unit else {
            continue;
        };
        // A provider that reports its own precision at run time checks it there; the
        // static table would be the wrong reference for it.
        if kind.is_some_and(|k| catalog::table(k).precision == Precision::Reported) {
            continue;
        }
        match money::precision(unit) {
            Some(allowed) => {
                if let Err(e) = money::check_scale(amount, unit, allowed) {
                    let d = Diagnostic::new(Code::E022, e.to_string())
                        .at(span)
                        .hint("amounts are never rounded: write at most that many decimals");
                    c.report(d);
                }
            }
            None => {
                let d = Diagnostic::new(
                    Code::W001,
                    format!("unknown currency or asset `{unit}`: its precision is not checked"),
                )
                .at(span);
                c.report(d);
            }
        }
    }
}
