//! The `notify:` rules as a plan shows them: who is paged on which run events, reviewed with
//! the steps. A target is shown as written when it reads the environment (`${OPS_HOOK}`: the
//! value is resolved only when a notification is delivered); a literal URL is cut to its
//! scheme and host, since its path, query or user part may carry a token, and a signing
//! secret is only ever "signed".

use serde::{Deserialize, Serialize};

use crate::spec::notify::{NotifyRule, WebhookTarget};

/// One rule: its events and its target in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyPlan {
    /// The events, as written in `on` (`failed`, `needs_attention`).
    pub on: Vec<String>,
    /// `webhook ${OPS_HOOK}, signed`, `email to treasury@example.com via ${SMTP_URL}`.
    pub target: String,
}

/// The plan's view of every rule, in the file's order.
pub fn plans(rules: &[NotifyRule]) -> Vec<NotifyPlan> {
    rules
        .iter()
        .map(|rule| NotifyPlan {
            on: rule.on.iter().map(|e| e.as_str().to_string()).collect(),
            target: target(rule),
        })
        .collect()
}

fn target(rule: &NotifyRule) -> String {
    match (&rule.webhook, &rule.email) {
        (Some(hook), _) => webhook(hook),
        (None, Some(mail)) => format!(
            "email to {} via {}",
            mail.to.join(", "),
            shown_location(&mail.smtp)
        ),
        // `validate` refuses a rule with neither; a plan is never made of one.
        (None, None) => "nowhere".to_string(),
    }
}

fn webhook(hook: &WebhookTarget) -> String {
    let signed = if hook.secret.is_some() {
        "signed"
    } else {
        "unsigned"
    };
    format!("webhook {}, {signed}", shown_location(&hook.url))
}

/// `text` as written when it reads the environment, else its scheme and host only.
fn shown_location(text: &str) -> String {
    if text.contains("${") {
        return text.to_string();
    }
    match reqwest::Url::parse(text) {
        Ok(url) => match url.host_str() {
            Some(host) => {
                let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
                format!("{}://{host}{port}/…", url.scheme())
            }
            None => format!("{}:…", url.scheme()),
        },
        Err(_) => "(a literal address)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::notify::{EmailTarget, NotifyEvent};

    fn rule(webhook: Option<WebhookTarget>, email: Option<EmailTarget>) -> NotifyRule {
        NotifyRule {
            on: vec![NotifyEvent::Failed, NotifyEvent::NeedsAttention],
            webhook,
            email,
        }
    }

    #[test]
    fn a_target_read_from_the_environment_is_shown_as_written() {
        let hook = WebhookTarget {
            url: "${OPS_HOOK}".into(),
            secret: Some("${OPS_HOOK_SECRET}".into()),
        };
        let missed = NotifyRule {
            on: vec![NotifyEvent::ScheduleMissed],
            ..rule(Some(hook.clone()), None)
        };
        let plans = plans(&[rule(Some(hook), None), missed]);
        assert_eq!(plans[0].on, ["failed", "needs_attention"]);
        assert_eq!(plans[0].target, "webhook ${OPS_HOOK}, signed");
        assert_eq!(plans[1].on, ["schedule_missed"]);
    }

    #[test]
    fn a_literal_address_keeps_only_its_scheme_and_host() {
        let hook = WebhookTarget {
            url: "https://hooks.example.com/services/T0KEN-SENTINEL?x=1".into(),
            secret: None,
        };
        let mail = EmailTarget {
            to: vec!["a@example.com".into(), "b@example.com".into()],
            smtp: "smtp://user:PASS-SENTINEL@mail.example.com:587?tls=required".into(),
            from: None,
        };
        let shown = plans(&[rule(Some(hook), None), rule(None, Some(mail))]);
        assert_eq!(
            shown[0].target,
            "webhook https://hooks.example.com/…, unsigned"
        );
        assert_eq!(
            shown[1].target,
            "email to a@example.com, b@example.com via smtp://mail.example.com:587/…"
        );
        let text = format!("{shown:?}");
        assert!(!text.contains("SENTINEL"), "{text}");
    }
}
