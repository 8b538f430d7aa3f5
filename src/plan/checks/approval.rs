//! An `approval` step's policy, as far as its literal `with` values tell: `min_approvals` of
//! at least one, `approvers` a list of names, a `timeout` that parses, `on_timeout` `fail` or
//! `continue`. Values from templates are checked when the step runs.

use super::Checker;
use crate::approval::Policy;
use crate::spec::{Code, Diagnostic, Seg};

/// Checks step `index`, an `approval`.
pub fn check(c: &mut Checker<'_>, index: usize) {
    let Err(e) = Policy::from_with(&c.cfg.steps[index].with) else {
        return;
    };
    let at = c.src.span(&[
        Seg::Key("steps"),
        Seg::Index(index),
        Seg::Key("with"),
        Seg::Key(e.field),
    ]);
    c.report(Diagnostic::new(Code::E002, e.to_string()).at(at));
}
