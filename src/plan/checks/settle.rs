//! `settle:` and `settle_timeout:` (E035): only on a batch (`for_each`) of an action that moves
//! money, and a timeout only with `settle: wait`.

use super::Checker;
use crate::catalog::{ActionKind, ActionSpec};
use crate::spec::{Code, Diagnostic, Seg, SettleMode};

/// Checks step `index`'s settlement fields; `action` is its action when known.
pub fn check(c: &mut Checker<'_>, index: usize, action: Option<&'static ActionSpec>) {
    let step = &c.cfg.steps[index];
    let at = |field: &'static str| [Seg::Key("steps"), Seg::Index(index), Seg::Key(field)];
    let field = match (step.settle, step.settle_timeout) {
        (None, None) => return,
        (Some(_), _) => "settle",
        (None, Some(_)) => "settle_timeout",
    };
    let pays = action.is_some_and(|a| a.kind == ActionKind::Write && !a.money.is_empty());
    let (field, message, hint) = if !pays {
        (
            field,
            format!(
                "`{field}` applies to payment steps, and `{}` moves no money",
                step.uses
            ),
            "remove it, or put it on the step that pays (`transfer`, `swap`, `charge.create`, …)",
        )
    } else if step.for_each.is_none() {
        (
            field,
            format!("`{field}` applies to batch steps (with `for_each`)"),
            "a single payment is tracked after commit by `sluice serve` or `sluice settle`",
        )
    } else if step.settle_timeout.is_some() && step.settle != Some(SettleMode::Wait) {
        (
            "settle_timeout",
            "`settle_timeout` only applies with `settle: wait`".to_string(),
            "add `settle: wait`, or remove `settle_timeout`",
        )
    } else {
        return;
    };
    let d = Diagnostic::new(Code::E035, message)
        .at(c.src.key_span(&at(field)))
        .hint(hint);
    c.report(d);
}
