//! One webhook delivery, from raw bytes to a durable event: verify, parse, match, store and
//! wake in one transaction, then tell the awaits of this process.
//!
//! The order is the guarantee (README, *Webhooks*): nothing is stored unless the signature checks
//! out; a body with a valid signature that is not an event is kept (as [`UNPARSEABLE`], for
//! the operator) and refused with 400; a redelivery of a stored event changes nothing and
//! is answered 200 so the provider stops retrying; a new event is answered 200 only after
//! the transaction that stores it and wakes its waiters has committed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

use super::matcher::wake_keys;
use super::metrics::{Counted, Metrics};
use super::registry::{Providers, Registered};
use crate::engine::await_step::Wakeups;
use crate::providers::{Event, VerifyError};
use crate::sensitive::{FieldPaths, mask_text};
use crate::signing;
use crate::store::{EventInsert, NewEvent, StepKey, Store, StoreError};

/// The largest body accepted (1 MiB); larger ones are refused with 413 before any check.
pub const MAX_BODY: usize = 1024 * 1024;

/// The `event_type` of a stored body whose signature was valid but that is not an event of
/// its provider.
pub const UNPARSEABLE: &str = "(unparseable)";

/// The receiver's state: where events go and who is told.
pub struct Receiver {
    store: Arc<dyn Store>,
    providers: Providers,
    wakeups: Wakeups,
    metrics: Metrics,
    notices: Option<mpsc::UnboundedSender<Notice>>,
    objects: Option<mpsc::Sender<ObjectEvent>>,
}

/// A newly stored event that names a provider object: `serve` reads the object back and
/// records the settlement of a committed payment it is (README, *Settlement, reports and
/// reconciliation*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEvent {
    /// The provider block it came for.
    pub provider: String,
    /// The object's type, in the adapter's `poll` vocabulary.
    pub object_type: String,
    /// The object's id.
    pub object_id: String,
}

/// What the receiver tells its owner (`serve`) so it can act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A step was woken that no await of this process waits for: its run may need resuming.
    Woken(StepKey),
    /// A delivery named a provider block nobody registered yet (a run started after the
    /// last scan): look for it, the provider's retry will then be accepted.
    UnknownProvider(String),
}

/// A delivery that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A new event, stored with the steps it woke.
    Stored {
        /// The event's id in the store.
        id: i64,
        /// The waiting steps woken in the same transaction.
        woken: Vec<StepKey>,
    },
    /// The event was stored before; nothing changed.
    Duplicate {
        /// The id it was stored under.
        id: i64,
    },
}

/// A delivery that was refused.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// No provider block has this name.
    #[error("no provider block is named `{0}`")]
    UnknownProvider(String),
    /// The provider sends no webhooks (White Payments).
    #[error("provider `{0}` sends no webhooks")]
    NoWebhooks(String),
    /// The body is over [`MAX_BODY`].
    #[error("the body is larger than {MAX_BODY} bytes")]
    TooLarge,
    /// The body could not be read.
    #[error("the body could not be read")]
    Body(#[source] BytesRejection),
    /// The signature is missing or wrong; nothing was stored.
    #[error(transparent)]
    Signature(VerifyError),
    /// The signature is valid but the body is not an event; it was stored for the operator.
    #[error("the body is not a `{provider}` event (kept as event {id})")]
    Unparseable {
        /// The provider block.
        provider: String,
        /// The stored body's event id.
        id: i64,
    },
    /// The store failed; the provider should retry.
    #[error("the event could not be stored")]
    Store(#[from] StoreError),
}

impl Rejection {
    /// The HTTP status answered.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::UnknownProvider(_) | Rejection::NoWebhooks(_) => StatusCode::NOT_FOUND,
            Rejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Body(r) => r.status(),
            Rejection::Signature(_) => StatusCode::UNAUTHORIZED,
            Rejection::Unparseable { .. } => StatusCode::BAD_REQUEST,
            Rejection::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code in the error body (and the metrics' `reason`).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::UnknownProvider(_) => "unknown_provider",
            Rejection::NoWebhooks(_) => "no_webhooks",
            Rejection::TooLarge => "too_large",
            Rejection::Body(_) => "bad_body",
            Rejection::Signature(_) => "bad_signature",
            Rejection::Unparseable { .. } => "unparseable",
            Rejection::Store(_) => "internal",
        }
    }
}

impl Receiver {
    /// A receiver storing into `store`, verifying with `providers`, and waking the awaits
    /// registered in `wakeups`.
    pub fn new(store: Arc<dyn Store>, providers: Providers, wakeups: Wakeups) -> Self {
        Receiver {
            store,
            providers,
            wakeups,
            metrics: Metrics::default(),
            notices: None,
            objects: None,
        }
    }

    /// Sends [`Notice`]s to `tx`: steps woken that no await of this process waits for (so
    /// `serve` can resume their runs) and unknown provider names.
    pub fn with_notices(mut self, tx: mpsc::UnboundedSender<Notice>) -> Self {
        self.notices = Some(tx);
        self
    }

    /// Sends every newly stored event that names an object to `tx`. When `tx` is full the
    /// event is not sent (it is stored all the same): webhooks only hasten what polling
    /// learns anyway.
    pub fn with_objects(mut self, tx: mpsc::Sender<ObjectEvent>) -> Self {
        self.objects = Some(tx);
        self
    }

    fn announce(&self, provider: &str, event: &Event) {
        let (Some(tx), Some(id)) = (&self.objects, &event.object_id) else {
            return;
        };
        let sent = tx.try_send(ObjectEvent {
            provider: provider.to_string(),
            object_type: event.object_type.clone(),
            object_id: id.clone(),
        });
        if let Err(mpsc::error::TrySendError::Full(_)) = sent {
            tracing::debug!(provider, object = %id, "Settlement queue full; polling will learn it.");
        }
    }

    fn notify(&self, notice: Notice) {
        if let Some(tx) = &self.notices {
            let _ = tx.send(notice);
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The intake counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Takes one delivery for provider block `name`.
    ///
    /// # Errors
    /// A [`Rejection`]; only [`Rejection::Unparseable`] has stored anything.
    pub async fn receive(
        &self,
        name: &str,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Received, Rejection> {
        let result = self.receive_inner(name, headers, body).await;
        // Only registered names become metric labels.
        let label = match &result {
            Err(Rejection::UnknownProvider(_)) => "",
            _ => name,
        };
        match &result {
            Ok(Received::Stored { woken, .. }) => {
                self.metrics.add(label, Counted::Received, 1);
                self.metrics.add(label, Counted::Woken, woken.len() as u64);
            }
            Ok(Received::Duplicate { .. }) => self.metrics.add(label, Counted::Duplicate, 1),
            Err(e) => self.metrics.add(label, Counted::Rejected(e.code()), 1),
        }
        result
    }

    async fn receive_inner(
        &self,
        name: &str,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Received, Rejection> {
        let candidates = self.providers.get(name);
        if candidates.is_empty() {
            self.notify(Notice::UnknownProvider(name.to_string()));
            return Err(Rejection::UnknownProvider(name.to_string()));
        }
        let body = body.map_err(|r| match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Rejection::TooLarge,
            _ => Rejection::Body(r),
        })?;
        let registered = verify(&candidates, name, headers, &body)?;
        let (json, payload) = kept(&registered.redact, &body);
        let event = match registered.provider.parse_event(&body) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(provider = name, %error, "A signed webhook is not an event; kept for the operator.");
                let stored = NewEvent {
                    provider: name.to_string(),
                    dedupe_key: signing::sha256_hex(&[&body]),
                    event_type: UNPARSEABLE.to_string(),
                    object_id: None,
                    payload,
                    signature_ok: true,
                };
                let id = match self.store.insert_event(&stored, &[]).await? {
                    EventInsert::Inserted { id, .. } | EventInsert::Duplicate { id } => id,
                };
                return Err(Rejection::Unparseable {
                    provider: name.to_string(),
                    id,
                });
            }
        };
        // Matched as stored, so an await that finds the event in the store later agrees.
        let wake = wake_keys(&*self.store, name, &event, &json).await?;
        let stored = new_event(name, &event, payload);
        match self.store.insert_event(&stored, &wake).await? {
            EventInsert::Duplicate { id } => {
                tracing::info!(provider = name, event_id = id, event = %event.kind, "Duplicate webhook; nothing changed.");
                Ok(Received::Duplicate { id })
            }
            EventInsert::Inserted { id, woken } => {
                tracing::info!(provider = name, event_id = id, event = %event.kind, woken = woken.len(), "Webhook stored.");
                self.tell(&woken);
                self.announce(name, &event);
                Ok(Received::Stored { id, woken })
            }
        }
    }

    /// Tells the awaits of this process (or `serve`, for steps nobody here waits for); when
    /// the event woke nobody, every await here looks again, in case one started waiting
    /// between the match and the insert.
    pub fn tell(&self, woken: &[StepKey]) {
        if woken.is_empty() {
            self.wakeups.wake_all();
        }
        for key in woken {
            if !self.wakeups.wake(key) {
                self.notify(Notice::Woken(key.clone()));
            }
        }
    }
}

/// The event as stored.
pub fn new_event(provider: &str, event: &Event, payload: String) -> NewEvent {
    NewEvent {
        provider: provider.to_string(),
        // An event id or body hash identifies a delivery; the type keeps two events of one
        // object that share an id apart.
        dedupe_key: format!("{}:{}", event.kind, event.dedupe_key),
        event_type: event.kind.clone(),
        object_id: event.object_id.clone(),
        payload,
        signature_ok: true,
    }
}

/// The body as it is matched and stored: its personal fields redacted and its card
/// numbers, verification codes and IBANs masked (as JSON when it is JSON, else as text).
fn kept(redact: &FieldPaths, body: &[u8]) -> (Value, String) {
    match serde_json::from_slice::<Value>(body) {
        Ok(json) => {
            let json = redact.redact(json);
            let text = json.to_string();
            (json, text)
        }
        Err(_) => (Value::Null, mask_text(&String::from_utf8_lossy(body))),
    }
}

/// The first adapter registered under `name` whose signature check passes.
fn verify(
    candidates: &[Registered],
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Registered, Rejection> {
    let mut refusal = None;
    for registered in candidates {
        match registered.provider.verify_webhook(headers, body) {
            Ok(()) => return Ok(registered.clone()),
            Err(VerifyError::Unsupported { .. }) => {}
            Err(e) => refusal = Some(e),
        }
    }
    Err(match refusal {
        Some(e) => Rejection::Signature(e),
        None => Rejection::NoWebhooks(name.to_string()),
    })
}
