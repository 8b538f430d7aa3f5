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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::spec::ReconcileConfig;

    #[test]
    fn every_is_a_duration_of_at_least_a_second() {
        let every = |text: &str| ReconcileConfig { every: text.into() }.interval();
        assert_eq!(every("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(every("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(every("1s"), Some(Duration::from_secs(1)));
        for bad in ["hourly", "60", "500ms", "0s", ""] {
            assert_eq!(every(bad), None, "{bad:?}");
        }
    }
}
