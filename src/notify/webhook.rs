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
use serde_json::{Value, json};

use super::target::resolved;
use crate::signing::hmac_sha256_hex;
use crate::spec::env::EnvError;
use crate::spec::{Secret, WebhookTarget};
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

/// Why a webhook was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No answer (the URL is left out: it may carry a token).
    #[error("webhook not delivered: {}", transport(.0))]
    Transport(#[source] reqwest::Error),
    /// An answer other than 2xx.
    #[error("webhook answered HTTP {0}")]
    Status(u16),
}

impl Webhook {
    /// Resolves `target`'s `${VAR}`s with this process's environment.
    ///
    /// # Errors
    /// An unset variable.
    pub fn resolve(target: &WebhookTarget) -> Result<Webhook, EnvError> {
        let url = resolved(&target.url, "notify.webhook.url")?;
        let secret = target
            .secret
            .as_deref()
            .map(|s| resolved(s, "notify.webhook.secret"))
            .transpose()?;
        Ok(Webhook {
            url: Secret::new(url),
            secret: secret.map(Secret::new),
        })
    }

    /// Sends `body`, signed, at `now`, as notification `id`.
    ///
    /// # Errors
    /// A transport failure or an answer other than 2xx.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        id: i64,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<(), WebhookError> {
        let body = body.to_string().into_bytes();
        let mut request = client
            .post(self.url.expose())
            .timeout(TIMEOUT)
            .header("Content-Type", "application/json")
            .header(TIMESTAMP_HEADER, now.timestamp().to_string())
            .header(EVENT_ID_HEADER, id.to_string());
        if let Some(secret) = &self.secret {
            let signature = hmac_sha256_hex(secret.expose().as_bytes(), &body);
            request = request.header(SIGNATURE_HEADER, format!("sha256={signature}"));
        }
        let answer = request
            .body(body)
            .send()
            .await
            .map_err(|e| WebhookError::Transport(e.without_url()))?;
        match answer.status() {
            s if s.is_success() => Ok(()),
            s => Err(WebhookError::Status(s.as_u16())),
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
    // An event of a schedule has no run: it links to the schedules page.
    let page = n
        .run_id
        .as_ref()
        .map_or_else(|| "schedules".to_string(), |run| format!("runs/{run}"));
    let link = console.map(|base| format!("{}/{page}", base.trim_end_matches('/')));
    let text = match &n.run_id {
        Some(run) => format!(
            "sluice: run `{run}` ({}) {}{at}{why}",
            n.workflow_name,
            words(&n.event)
        ),
        None => match n.message.as_deref() {
            Some(m) => format!("sluice: schedule of `{}`: {m}", n.workflow_name),
            None => format!(
                "sluice: schedule of `{}` {}",
                n.workflow_name,
                words(&n.event)
            ),
        },
    };
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
        "item_failed_after_commit" => "has a payment that failed after commit".into(),
        "reconcile_mismatch" => "has a payment its provider's records disagree with".into(),
        "schedule_missed" => "missed a slot".into(),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedules_notification_has_no_run_and_links_to_the_schedules() {
        use crate::store::DeliveryState;
        let now = DateTime::parse_from_rfc3339("2026-11-21T12:30:10Z")
            .unwrap()
            .to_utc();
        let n = NotificationRecord {
            id: 4,
            run_id: None,
            workflow_name: "payroll".into(),
            event: "schedule_missed".into(),
            step_id: None,
            message: Some("slot 2026-11-21T10:00:00Z missed: no scheduler was running".into()),
            target: Value::Null,
            created_at: now,
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            delivered_at: None,
        };
        let body = body(&n, now, Some("https://ops.example.com/"));
        assert!(body["run"].is_null());
        assert_eq!(body["link"], "https://ops.example.com/schedules");
        assert_eq!(
            body["text"],
            "sluice: schedule of `payroll`: slot 2026-11-21T10:00:00Z missed: no scheduler was running"
        );
    }

    #[test]
    fn a_target_resolves_from_the_environment_and_prints_no_secret() {
        let target = WebhookTarget {
            url: "http://127.0.0.1:1/${SLUICE_TEST_NOTIFY_UNSET:-x}".into(),
            secret: Some("sentinel-4e1f".into()),
        };
        let hook = Webhook::resolve(&target).unwrap();
        assert!(!format!("{hook:?}").contains("sentinel-4e1f"));
        let unset = WebhookTarget {
            url: "${SLUICE_TEST_NOTIFY_UNSET}".into(),
            secret: None,
        };
        assert!(Webhook::resolve(&unset).is_err());
    }
}
