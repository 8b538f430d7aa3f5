//! `reconcile:` (E037): its `every` must be a duration `serve` can keep, at least a second.

use super::Checker;
use crate::spec::{Code, Diagnostic, ReconcileConfig, Seg};

/// Checks the workflow's `reconcile.every`, if it has one.
pub fn check(c: &mut Checker<'_>) {
    let Some(reconcile) = &c.cfg.reconcile else {
        return;
    };
    if reconcile.interval().is_some() {
        return;
    }
    let d = Diagnostic::new(
        Code::E037,
        format!(
            "`reconcile.every` must be a duration of at least {}, not `{}`",
            humantime::format_duration(ReconcileConfig::MIN_EVERY),
            reconcile.every
        ),
    )
    .at(c.src.span(&[Seg::Key("reconcile"), Seg::Key("every")]))
    .hint("write e.g. `every: 1h` or `every: 30m`");
    c.report(d);
}
