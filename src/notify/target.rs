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

/// How a stored target is shown: `webhook ${OPS_HOOK}`, `email a@x, b@y`.
pub fn describe(stored: &Value) -> String {
    match serde_json::from_value::<Stored>(stored.clone()) {
        Ok(Stored {
            webhook: Some(w), ..
        }) => format!("webhook {}", w.url),
        Ok(Stored { email: Some(e), .. }) => format!("email {}", e.to.join(", ")),
        _ => "(unknown)".to_string(),
    }
}
