//! A stored target (`{"webhook": …}` or `{"email": …}`, `${VAR}` unresolved) resolved from
//! this process's environment, and sent to.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::email::{Email, EmailError};
use super::webhook::{Webhook, WebhookError};
use crate::spec::env::{EnvError, interpolate, process_env};
use crate::spec::{EmailTarget, WebhookTarget};
use crate::store::NotificationRecord;

/// A target ready to send to.
#[derive(Debug)]
pub enum Target {
    /// A signed JSON POST.
    Webhook(Webhook),
    /// An email over SMTP.
    Email(Email),
}

/// Why a notification could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The stored target is not one this build sends to.
    #[error("the target is not one this version of sluice can send to")]
    UnknownTarget,
    /// A `${VAR}` is not set in this process's environment.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The webhook was not accepted.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// The email was not accepted.
    #[error(transparent)]
    Email(#[from] EmailError),
}

#[derive(Deserialize)]
struct Stored {
    #[serde(default)]
    webhook: Option<WebhookTarget>,
    #[serde(default)]
    email: Option<EmailTarget>,
}

/// `value` with its `${VAR}`s resolved; `field` names it in an error.
pub(super) fn resolved(value: &str, field: &str) -> Result<String, EnvError> {
    interpolate(value, field, &process_env)
}

impl Target {
    /// Resolves a stored target.
    ///
    /// # Errors
    /// [`SendError::UnknownTarget`], or an unset variable.
    pub fn resolve(stored: &Value) -> Result<Target, SendError> {
        let stored: Stored =
            serde_json::from_value(stored.clone()).map_err(|_| SendError::UnknownTarget)?;
        match (stored.webhook, stored.email) {
            (Some(w), None) => Ok(Target::Webhook(Webhook::resolve(&w)?)),
            (None, Some(e)) => Ok(Target::Email(Email::resolve(&e)?)),
            _ => Err(SendError::UnknownTarget),
        }
    }

    /// Sends `n` (its body built at `now`; links to `console`).
    ///
    /// # Errors
    /// The target did not accept it.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        n: &NotificationRecord,
        now: DateTime<Utc>,
        console: Option<&str>,
    ) -> Result<(), SendError> {
        let body = super::webhook::body(n, now, console);
        match self {
            Target::Webhook(hook) => Ok(hook.send(client, n.id, &body, now).await?),
            Target::Email(email) => Ok(email.send(&body).await?),
        }
    }
}

/// How a stored target is shown (by `sluice notifications` and the console): `webhook
/// ${OPS_HOOK}`, `webhook https://hooks.example/ops`, `email a@x, b@y`. Only what cannot be
/// a secret is shown: never a webhook's `secret` nor an email's `smtp` URL (it may hold a
/// password), and a webhook URL without its user info, query and fragment, where a token is
/// often passed.
pub fn describe(stored: &Value) -> String {
    match serde_json::from_value::<Stored>(stored.clone()) {
        Ok(Stored {
            webhook: Some(w), ..
        }) => format!("webhook {}", shown_url(&w.url)),
        Ok(Stored { email: Some(e), .. }) => format!("email {}", e.to.join(", ")),
        _ => "(unknown)".to_string(),
    }
}

/// `url` as written (`${VAR}`s unresolved, so it need not parse) down to its scheme, host
/// and path: `https://user:pass@host/p?token=x#f` is `https://host/p`.
fn shown_url(url: &str) -> String {
    let url = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    let Some(host_at) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let path_at = url[host_at..].find('/').map_or(url.len(), |i| host_at + i);
    match url[host_at..path_at].rfind('@') {
        Some(at) => format!("{}{}", &url[..host_at], &url[host_at + at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::describe;

    #[test]
    fn a_webhook_is_shown_without_its_secret_user_info_query_or_fragment() {
        let shown = describe(&json!({"webhook": {
            "url": "https://ops:pw-1@hooks.example/p/q?token=tk-1#frag",
            "secret": "sec-1",
        }}));
        assert_eq!(shown, "webhook https://hooks.example/p/q");
        let shown = describe(&json!({"webhook": {"url": "${OPS_HOOK}", "secret": "${S}"}}));
        assert_eq!(shown, "webhook ${OPS_HOOK}");
    }

    #[test]
    fn an_email_is_shown_by_its_recipients_never_its_smtp_url() {
        let shown = describe(&json!({"email": {
            "to": ["a@x.example", "b@y.example"],
            "smtp": "smtp://user:pw-2@mail.example:587",
        }}));
        assert_eq!(shown, "email a@x.example, b@y.example");
    }
}
