//! [`Notifier`]: one delivery pass over the due notifications, or passes until stopped.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use super::target::Target;
use crate::ids::RunId;
use crate::store::{Delivery, Store, StoreError};

/// How long a claimed notification is this process's to deliver.
const CLAIM_TTL: Duration = Duration::from_secs(60);

/// The most notifications one pass claims.
const BATCH: u32 = 50;

/// How often `serve` looks for due notifications.
const EVERY: Duration = Duration::from_secs(1);

/// Delivers notifications from the outbox of `store`.
pub struct Notifier {
    store: Arc<dyn Store>,
    owner: String,
    client: reqwest::Client,
    console: Option<String>,
}

/// One attempt, as a pass reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The notification's id.
    pub id: i64,
    /// The run; `None` for an event of a workflow's schedule.
    pub run_id: Option<RunId>,
    /// The workflow.
    pub workflow: String,
    /// The event.
    pub event: String,
    /// `None` when delivered, else why not.
    pub error: Option<String>,
}

impl Notifier {
    /// A notifier claiming as `owner` (unique per process). Links point at the console
    /// whose base URL is `SLUICE_CONSOLE_URL`, when set.
    pub fn new(store: Arc<dyn Store>, owner: impl Into<String>) -> Self {
        Notifier {
            store,
            owner: owner.into(),
            client: reqwest::Client::new(),
            console: std::env::var("SLUICE_CONSOLE_URL").ok(),
        }
    }

    /// Tries each due notification (of `run_id`, or of every run) once and records how it
    /// went; a failed one is due again after a backoff.
    ///
    /// # Errors
    /// A store failure; a target's failure is recorded, not returned.
    pub async fn deliver_due(&self, run_id: Option<&RunId>) -> Result<Vec<Sent>, StoreError> {
        let due = self
            .store
            .claim_notifications(&self.owner, CLAIM_TTL, run_id, BATCH)
            .await?;
        let mut sent = Vec::with_capacity(due.len());
        for n in due {
            let result = match Target::resolve(&n.target) {
                Ok(target) => {
                    let console = self.console.as_deref();
                    target.send(&self.client, &n, Utc::now(), console).await
                }
                Err(e) => Err(e),
            };
            let error = result.err().map(|e| e.to_string());
            let delivery = match &error {
                None => Delivery::Delivered,
                Some(e) => Delivery::Failed(e.clone()),
            };
            if self
                .store
                .record_delivery(n.id, &self.owner, &delivery)
                .await?
            {
                sent.push(Sent {
                    id: n.id,
                    run_id: n.run_id,
                    workflow: n.workflow_name,
                    event: n.event,
                    error,
                });
            }
        }
        Ok(sent)
    }

    /// Delivers every run's due notifications until `stopped` turns true (`serve`).
    pub async fn run(self, mut stopped: watch::Receiver<bool>) {
        loop {
            match self.deliver_due(None).await {
                Ok(sent) => {
                    for s in sent.iter().filter(|s| s.error.is_some()) {
                        tracing::warn!(run_id = s.run_id.as_ref().map(RunId::as_str), workflow = %s.workflow, event = %s.event, error = s.error.as_deref().unwrap_or_default(), "Notification not delivered; it is tried again later.");
                    }
                }
                Err(error) => tracing::warn!(%error, "Cannot read the notifications outbox."),
            }
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                () = tokio::time::sleep(EVERY) => {}
            }
        }
    }
}
