//! A notification as a webhook: a JSON body (with a Slack-compatible `text`), signed with
//! `X-Sluice-Signature: sha256=<hex HMAC-SHA256(secret, body)>` over the exact bytes sent,
//! and stamped with `X-Sluice-Timestamp` (also inside the signed body, so a replay of an old
//! delivery is recognisable) and `X-Sluice-Event-Id` (the same on every retry, for receivers
//! to deduplicate by).
//!
//! Nothing secret goes in: the body holds the run, the workflow, the event, the step and the
//! run's error message (errors are redacted before they are stored); the secret only keys
//! the HMAC, and a URL (which may carry a token) is left out of every error.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::signing::hmac_sha256_hex;
use crate::spec::Secret;
use crate::spec::env::{EnvError, interpolate, process_env};
use crate::store::NotificationRecord;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Sluice-Signature";
/// The header carrying the Unix time of sending.
pub const TIMESTAMP_HEADER: &str = "X-Sluice-Timestamp";
/// The header carrying the notification's id.
pub const EVENT_ID_HEADER: &str = "X-Sluice-Event-Id";

/// How long one delivery attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A webhook target, resolved from the environment.
#[derive(Debug)]
pub struct Webhook {
    url: Secret,
    secret: Option<Secret>,
}

/// A target as stored: `{"webhook": {"url": …, "secret": …}}`, unresolved.
#[derive(Deserialize)]
struct Stored {
    webhook: StoredWebhook,
}

#[derive(Deserialize)]
struct StoredWebhook {
    url: String,
    #[serde(default)]
    secret: Option<String>,
}

/// Why a notification could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The stored target is not one this build sends to.
    #[error("the target is not a webhook this version of sluice can send")]
    UnknownTarget,
    /// A `${VAR}` is not set in this process's environment.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// No answer (the URL is left out: it may carry a token).
    #[error("webhook not delivered: {}", transport(.0))]
    Transport(#[source] reqwest::Error),
    /// An answer other than 2xx.
    #[error("webhook answered HTTP {0}")]
    Status(u16),
}

impl Webhook {
    /// Resolves a stored target's `${VAR}`s with this process's environment.
    ///
    /// # Errors
    /// [`SendError::UnknownTarget`], or an unset variable.
    pub fn resolve(target: &Value) -> Result<Webhook, SendError> {
        let stored: Stored =
            serde_json::from_value(target.clone()).map_err(|_| SendError::UnknownTarget)?;
        let url = interpolate(&stored.webhook.url, "notify.webhook.url", &process_env)?;
        let secret = stored
            .webhook
            .secret
            .map(|s| interpolate(&s, "notify.webhook.secret", &process_env))
            .transpose()?;
        Ok(Webhook {
            url: Secret::new(url),
            secret: secret.map(Secret::new),
        })
    }

    /// Sends `body`, signed, at `now`.
    ///
    /// # Errors
    /// A transport failure or an answer other than 2xx.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        id: i64,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), SendError> {
        let mut request = client
            .post(self.url.expose())
            .timeout(TIMEOUT)
            .header("Content-Type", "application/json")
            .header(TIMESTAMP_HEADER, now.timestamp().to_string())
            .header(EVENT_ID_HEADER, id.to_string())
            .body(body.to_vec());
        if let Some(secret) = &self.secret {
            let signature = hmac_sha256_hex(secret.expose().as_bytes(), body);
            request = request.header(SIGNATURE_HEADER, format!("sha256={signature}"));
        }
        let answer = request
            .send()
            .await
            .map_err(|e| SendError::Transport(e.without_url()))?;
        match answer.status() {
            s if s.is_success() => Ok(()),
            s => Err(SendError::Status(s.as_u16())),
        }
    }
}

/// What went wrong on the way, in words that cannot carry the URL.
fn transport(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    }
}

/// The JSON body of `n`, sent at `now`; `console` is the console's base URL, if known.
pub fn body(n: &NotificationRecord, now: DateTime<Utc>, console: Option<&str>) -> Value {
    let at = n
        .step_id
        .as_ref()
        .map(|s| format!(" at `{s}`"))
        .unwrap_or_default();
    let why = n
        .message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let link = console.map(|base| format!("{}/runs/{}", base.trim_end_matches('/'), n.run_id));
    let text = format!(
        "sluice: run `{}` ({}) {}{at}{why}",
        n.run_id,
        n.workflow_name,
        words(&n.event)
    );
    json!({
        "id": n.id,
        "run": n.run_id,
        "workflow": n.workflow_name,
        "event": n.event,
        "step": n.step_id,
        "message": n.message,
        "link": link,
        "timestamp": now.timestamp(),
        "text": text,
    })
}

/// The event in a sentence: `needs attention`, `is waiting`.
fn words(event: &str) -> String {
    match event {
        "waiting" => "is waiting".into(),
        "needs_attention" => "needs attention".into(),
        "cancelled" => "was cancelled".into(),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_target_resolves_from_the_environment_and_prints_no_secret() {
        let target = json!({"webhook": {"url": "http://127.0.0.1:1/${SLUICE_TEST_NOTIFY_UNSET:-x}",
            "secret": "sentinel-4e1f"}});
        let hook = Webhook::resolve(&target).unwrap();
        assert!(!format!("{hook:?}").contains("sentinel-4e1f"));
        assert!(matches!(
            Webhook::resolve(&json!({"webhook": {"url": "${SLUICE_TEST_NOTIFY_UNSET}"}})),
            Err(SendError::Env(_))
        ));
        assert!(matches!(
            Webhook::resolve(&json!({"pager": {}})),
            Err(SendError::UnknownTarget)
        ));
    }
}
