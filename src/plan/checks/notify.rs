//! `notify:` rules: each names its events and exactly one target, a `webhook` or an `email`
//! with at least one recipient.

use super::Checker;
use crate::spec::{Code, Diagnostic, Seg};

/// Checks every rule of `notify:`.
pub fn check(c: &mut Checker<'_>) {
    for (i, rule) in c.cfg.notify.iter().enumerate() {
        let problem = match (&rule.webhook, &rule.email) {
            _ if rule.on.is_empty() => Some("a `notify` rule needs at least one event in `on`"),
            (Some(_), Some(_)) | (None, None) => {
                Some("a `notify` rule needs exactly one of `webhook` and `email`")
            }
            (None, Some(email)) if email.to.is_empty() => {
                Some("an `email` notification needs at least one recipient in `to`")
            }
            _ => None,
        };
        if let Some(problem) = problem {
            let at = c.src.span(&[Seg::Key("notify"), Seg::Index(i)]);
            c.report(Diagnostic::new(Code::E002, problem).at(at));
        }
    }
}
