//! `notify:` rules: each names its events and exactly one target, a `webhook` or an `email`
//! with at least one recipient. In `serve`'s notify file, which no workflow review covers and
//! which applies to every run, a secret must also be read from the environment (E038).

use super::Checker;
use crate::spec::{Code, Diagnostic, Diagnostics, NotifyRule, Seg, ServeNotifyConfig, Source};

/// Checks every rule of `notify:`.
pub fn check(c: &mut Checker<'_>) {
    for d in rules(&c.cfg.notify, c.src) {
        c.report(d);
    }
}

/// Checks `serve`'s notify file: every rule as in a workflow, and no literal secret.
///
/// # Errors
/// Every problem, in source order.
pub fn check_serve_file(source: &Source, config: &ServeNotifyConfig) -> Result<(), Diagnostics> {
    let mut found = rules(&config.notify, source);
    for (i, rule) in config.notify.iter().enumerate() {
        let mut literal = |target: &str, field: &'static str, what: &str| {
            let at = source.span(&[
                Seg::Key("notify"),
                Seg::Index(i),
                Seg::Key(target),
                Seg::Key(field),
            ]);
            found.push(
                Diagnostic::new(
                    Code::E038,
                    format!("`{target}.{field}` holds {what} written in the file"),
                )
                .at(at)
                .label("not read from the environment")
                .hint(format!(
                    "write `{field}: \"${{VAR}}\"` and set `VAR` in serve's environment"
                )),
            );
        };
        if let Some(secret) = rule.webhook.as_ref().and_then(|w| w.secret.as_deref())
            && !reads_env(secret)
        {
            literal("webhook", "secret", "a signing secret");
        }
        if let Some(email) = &rule.email
            && !reads_env(&email.smtp)
            && has_password(&email.smtp)
        {
            literal("email", "smtp", "a password");
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics(found).sorted())
    }
}

/// Whether `text` is read from the environment (`${VAR}`) rather than written out.
fn reads_env(text: &str) -> bool {
    text.contains("${")
}

/// Whether a URL carries a password (`smtp://user:pass@host`).
fn has_password(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| u.password().is_some())
}

/// The problems of `rules`, read from `src` at `notify:`.
fn rules(rules: &[NotifyRule], src: &Source) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
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
            let at = src.span(&[Seg::Key("notify"), Seg::Index(i)]);
            found.push(Diagnostic::new(Code::E002, problem).at(at));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_as;

    fn check(text: &str) -> Result<(), Diagnostics> {
        let (source, config) = parse_as::<ServeNotifyConfig>("notify.yaml", text).unwrap();
        check_serve_file(&source, &config)
    }

    #[test]
    fn a_serve_file_reads_its_secrets_from_the_environment() {
        let good = "notify:\n  - on: [failed, schedule_missed]\n    webhook: { url: \"${OPS}\", secret: \"${OPS_SECRET}\" }\n  - on: [failed]\n    email: { to: [ops@example.com], smtp: \"smtp://127.0.0.1:25\" }\n";
        assert!(check(good).is_ok());

        let text = "notify:\n  - on: [failed]\n    webhook: { url: \"${OPS}\", secret: hunter2 }\n  - on: [failed]\n    email: { to: [ops@example.com], smtp: \"smtp://u:pw@mail:587\" }\n  - on: []\n    webhook: { url: \"${OPS}\" }\n";
        let found = check(text).unwrap_err().0;
        let codes: Vec<(Code, usize)> = found
            .iter()
            .map(|d| {
                let start = d.span.unwrap().start;
                (d.code, text[..start].lines().count())
            })
            .collect();
        assert_eq!(codes, [(Code::E038, 3), (Code::E038, 5), (Code::E002, 6)]);
        assert!(found[0].message.contains("`webhook.secret`"), "{found:?}");
    }

    #[test]
    fn a_serve_file_is_only_notify_rules() {
        let failure = parse_as::<ServeNotifyConfig>("notify.yaml", "notfy: []\n").unwrap_err();
        assert_eq!(failure.diagnostics.0[0].code, Code::E003);
    }
}
