//! Outbound webhooks: signing, delivery with retries, and the webhook faults.
//!
//! Provider modules queue an [`Outbound`] event while they hold the state lock; a single
//! dispatcher task sends first attempts in the order the events happened, so reordering only
//! happens when a fault asks for it. An attempt succeeds on HTTP 200 exactly (as Whalestack
//! documents); anything else is retried with doubling delays up to the configured number of
//! attempts. Every delivery is recorded for `GET /__sandbox/webhooks`.
//!
//! Signatures, over the raw body:
//! - Whalestack `X-Webhook-Auth` = hex SHA-256(api secret + body);
//! - WHITESTONES `X-WS-Signature` = hex HMAC-SHA256(api secret, body);
//! - Whitepay `Signature` = hex HMAC-SHA256(token, body), the token being the API key.
//!
//! White Payments has no webhooks (clients poll `GET /charges/{id}`).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::faults::WebhookFaultKind;
use super::state::Shared;
use crate::catalog::ProviderKind;
use crate::signing::{hmac_sha256_hex, whalestack_webhook};

/// An event to deliver.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The provider sending it.
    pub provider: ProviderKind,
    /// The provider's event type (`SWAP_COMPLETED`, `payout.completed`, …).
    pub event: String,
    /// The object the event is about.
    pub object_id: String,
    /// The object's own webhook URL (Whalestack requests may carry one); it overrides the
    /// configured URL.
    pub url: Option<String>,
    /// The JSON body, exactly as sent and signed.
    pub body: Vec<u8>,
}

/// How a delivery ended (so far).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// Still trying.
    Pending,
    /// A 200 came back.
    Delivered,
    /// Every attempt failed.
    Failed,
    /// A `drop` fault swallowed it.
    Dropped,
    /// No URL is configured for the provider and the object had none.
    NoUrl,
}

/// One delivery of one event (a `duplicate` fault makes two).
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Position in the delivery log, from 1.
    pub seq: u64,
    /// The provider.
    pub provider: ProviderKind,
    /// The event type.
    pub event: String,
    /// The object the event is about.
    pub object_id: String,
    /// Where it went.
    pub url: Option<String>,
    /// The webhook fault applied, if any.
    pub fault: Option<WebhookFaultKind>,
    /// Attempts made.
    pub attempts: u32,
    /// HTTP status of the last attempt, if one came back.
    pub last_status: Option<u16>,
    /// Transport error of the last attempt, if any.
    pub last_error: Option<String>,
    /// Where it stands.
    pub outcome: DeliveryOutcome,
}

/// The body plus the signature headers of `provider`.
pub fn signed_headers(
    provider: ProviderKind,
    api_key: &str,
    api_secret: &str,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let mut headers = vec![("content-type", "application/json".to_string())];
    match provider {
        ProviderKind::Whalestack => {
            headers.push(("user-agent", "Whalestack Webhook Engine 1.0.1".into()));
            headers.push(("x-webhook-auth", whalestack_webhook(api_secret, body)));
        }
        ProviderKind::Whitestones => {
            headers.push((
                "x-ws-signature",
                hmac_sha256_hex(api_secret.as_bytes(), body),
            ));
        }
        ProviderKind::Whitepay => {
            headers.push(("signature", hmac_sha256_hex(api_key.as_bytes(), body)));
        }
        ProviderKind::White | ProviderKind::Http => {}
    }
    headers
}

/// Runs until shutdown: takes queued events, applies webhook faults and delivers.
pub async fn dispatch(
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .timeout(shared.config.webhooks.timeout)
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "Cannot build the webhook client; webhooks are disabled.");
            return;
        }
    };
    // An event held back by an `out_of_order` fault; it goes out after the next event, or
    // after a second if none comes.
    let mut held: Option<Outbound> = None;
    loop {
        let hold_timeout = tokio::time::sleep(Duration::from_secs(1));
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = hold_timeout, if held.is_some() => {
                if let Some(event) = held.take() {
                    deliver(&shared, &client, event, Some(WebhookFaultKind::OutOfOrder), &shutdown).await;
                }
            }
            next = rx.recv() => {
                let Some(event) = next else { return };
                let fault = shared.lock_faults().on_webhook(event.provider, &event.event);
                // An event held back earlier goes out right after this one.
                let late = held.take();
                match fault {
                    Some(WebhookFaultKind::Drop) => record_dropped(&shared, &event),
                    Some(WebhookFaultKind::OutOfOrder) if late.is_none() => held = Some(event),
                    Some(WebhookFaultKind::Duplicate) => {
                        deliver(&shared, &client, event.clone(), fault, &shutdown).await;
                        deliver(&shared, &client, event, fault, &shutdown).await;
                    }
                    _ => deliver(&shared, &client, event, fault, &shutdown).await,
                }
                if let Some(late) = late {
                    deliver(&shared, &client, late, Some(WebhookFaultKind::OutOfOrder), &shutdown).await;
                }
            }
        }
    }
}

fn record_dropped(shared: &Shared, event: &Outbound) {
    let mut log = shared.lock_deliveries();
    let seq = log.len() as u64 + 1;
    log.push(Delivery {
        seq,
        provider: event.provider,
        event: event.event.clone(),
        object_id: event.object_id.clone(),
        url: None,
        fault: Some(WebhookFaultKind::Drop),
        attempts: 0,
        last_status: None,
        last_error: None,
        outcome: DeliveryOutcome::Dropped,
    });
}

/// Records the delivery, makes the first attempt now and leaves retries to a task.
async fn deliver(
    shared: &Arc<Shared>,
    client: &reqwest::Client,
    event: Outbound,
    fault: Option<WebhookFaultKind>,
    shutdown: &watch::Receiver<bool>,
) {
    let url = event.url.clone().or_else(|| {
        shared
            .config
            .webhooks
            .url_for(event.provider)
            .map(str::to_string)
    });
    let index = {
        let mut log = shared.lock_deliveries();
        let seq = log.len() as u64 + 1;
        log.push(Delivery {
            seq,
            provider: event.provider,
            event: event.event.clone(),
            object_id: event.object_id.clone(),
            url: url.clone(),
            fault,
            attempts: 0,
            last_status: None,
            last_error: None,
            outcome: if url.is_some() {
                DeliveryOutcome::Pending
            } else {
                DeliveryOutcome::NoUrl
            },
        });
        log.len() - 1
    };
    let Some(url) = url else { return };
    if attempt(shared, client, &event, &url, index).await {
        return;
    }
    let (shared, client, mut shutdown) = (shared.clone(), client.clone(), shutdown.clone());
    tokio::spawn(async move {
        let hooks = &shared.config.webhooks;
        let mut delay = hooks.retry_initial;
        for _ in 1..hooks.max_attempts {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            if attempt(&shared, &client, &event, &url, index).await {
                return;
            }
            delay = (delay * 2).min(hooks.retry_max);
        }
        shared.lock_deliveries()[index].outcome = DeliveryOutcome::Failed;
    });
}

/// One POST; true on HTTP 200.
async fn attempt(
    shared: &Shared,
    client: &reqwest::Client,
    event: &Outbound,
    url: &str,
    index: usize,
) -> bool {
    let mut request = client.post(url).body(event.body.clone());
    for (name, value) in signed_headers(
        event.provider,
        &shared.config.api_key,
        shared.config.api_secret.expose(),
        &event.body,
    ) {
        request = request.header(name, value);
    }
    let result = request.send().await;
    let mut log = shared.lock_deliveries();
    let delivery = &mut log[index];
    delivery.attempts += 1;
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            delivery.last_status = Some(status);
            delivery.last_error = None;
            if status == 200 {
                delivery.outcome = DeliveryOutcome::Delivered;
                return true;
            }
        }
        Err(error) => {
            delivery.last_status = None;
            delivery.last_error = Some(error.to_string());
        }
    }
    if delivery.attempts >= shared.config.webhooks.max_attempts {
        delivery.outcome = DeliveryOutcome::Failed;
    }
    false
}
