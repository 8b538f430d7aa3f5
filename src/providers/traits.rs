//! The seam between the engine and the adapters: [`Provider`] and the types it speaks.
//!
//! The engine owns durability (ARCHITECTURE.md, *Never twice*): it commits `dispatching` with the
//! [`IdempotencyKey`] before calling [`Provider::execute`], persists the checkpoint of an
//! [`Outcome::Continue`] before calling `execute` again, and calls [`Provider::lookup`] for
//! a step it finds in `dispatching`. Adapters own the wire: formats, signing, failure
//! classification, and how to find out what happened to a request whose answer was lost.

use std::fmt;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use super::error::ProviderError;
use super::output::Output;
use super::preview::WireRequest;
use super::webhook::{Event, ParseError, VerifyError};
use crate::catalog::ProviderKind;

/// The key that makes a write safe to repeat: derived by the engine from run id, step id
/// and item key, identical on every attempt and after a resume.
///
/// Adapters send it where the provider honours one (WHITESTONES `Idempotency-Key`) and
/// embed it where it can be searched later: `metadata.idempotency_key` (WHITESTONES,
/// Whalestack checkouts) or the marker `[sluice:KEY]` appended to a note or description
/// (Whalestack transfers, White charges and customers). It is therefore limited to visible
/// ASCII without spaces or brackets, at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Why a string is not a usable idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` is not an idempotency key: {reason}")]
pub struct InvalidKey {
    /// The string as given.
    pub key: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl IdempotencyKey {
    /// The longest key accepted.
    pub const MAX_LEN: usize = 200;

    /// Wraps a key.
    ///
    /// # Errors
    /// [`InvalidKey`] for an empty or over-long key, or one with characters other than
    /// visible ASCII (no spaces, no `[` or `]`).
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidKey> {
        let key = key.into();
        let reason = if key.is_empty() {
            Some("it is empty")
        } else if key.len() > Self::MAX_LEN {
            Some("it is longer than 200 characters")
        } else if !key
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'[' && b != b']')
        {
            Some("only visible ASCII without `[` and `]` is allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(InvalidKey { key, reason }),
            None => Ok(IdempotencyKey(key)),
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The marker embedded in free-text fields so a listing can find the object again.
    pub fn marker(&self) -> String {
        format!("[sluice:{}]", self.0)
    }

    /// The key of the first marker `[sluice:KEY]` in `text`, if it carries one: how
    /// reconciliation tells a provider object sluice created (or meant to) from any other.
    pub fn find_marker(text: &str) -> Option<IdempotencyKey> {
        let start = text.find("[sluice:")? + "[sluice:".len();
        let len = text[start..].find(']')?;
        IdempotencyKey::new(&text[start..start + len]).ok()
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One provider call: an action with its rendered `with` map.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The action (`transfer`, `swap`, …), as in the catalog.
    pub action: &'a str,
    /// The step's rendered `with` map, in the neutral field names of the catalog;
    /// `extra` is an object deep-merged into the wire body (or query, for reads).
    pub with: &'a Map<String, Value>,
    /// The step's idempotency key.
    pub key: &'a IdempotencyKey,
    /// The checkpoint of an earlier [`Outcome::Continue`] or [`Lookup::Continue`].
    pub checkpoint: Option<&'a Value>,
}

/// What a successful [`Provider::execute`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The call is complete. A [`NormalizedState::Failed`](super::NormalizedState::Failed)
    /// state is a final answer from the provider, not a transport failure.
    Done(Output),
    /// The first phase of a two-phase write is done (Whalestack swap and transfer: the quote
    /// exists, nothing is committed). The engine persists `checkpoint` durably, then calls
    /// `execute` again with it; that call checks the object's state before committing.
    Continue {
        /// What the next call needs (object, id, quote expiry).
        checkpoint: Value,
        /// The object as created.
        output: Output,
    },
}

/// What [`Provider::lookup`] found out about a request whose answer was lost.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The request was applied; record this output as the step's.
    Found(Output),
    /// The first phase of a two-phase write was applied: persist `checkpoint` and call
    /// `execute` with it, exactly as after [`Outcome::Continue`].
    Continue {
        /// As in [`Outcome::Continue`].
        checkpoint: Value,
        /// The object as it is now.
        output: Output,
    },
    /// Nothing was applied, or applying it again is harmless (an upsert, a read): send
    /// again with the same key.
    Absent,
    /// It cannot be told; the engine marks the step `needs_attention` with this reason,
    /// which says what the operator should check.
    Unknown {
        /// What to check, in words.
        reason: String,
    },
}

/// A provider object that carries a sluice marker, as the provider's listing shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Marked {
    /// The idempotency key its marker names.
    pub key: IdempotencyKey,
    /// When the provider says it was created, if the listing says.
    pub created_at: Option<DateTime<Utc>>,
    /// The object as it is now.
    pub output: Output,
}

/// A payment-provider adapter. Dyn-compatible: the registry hands out `Arc<dyn Provider>`,
/// one per provider block, shared by every step and item that uses the block (so its rate
/// limit and in-flight limit hold across all of them).
#[async_trait::async_trait]
pub trait Provider: Send + Sync + fmt::Debug {
    /// The provider block's name in the workflow.
    fn name(&self) -> &str;

    /// The adapter kind.
    fn kind(&self) -> ProviderKind;

    /// The actions this adapter supports and the fields each accepts: its kind's table in
    /// the catalog, which validation reads too, so the two cannot disagree.
    fn capabilities(&self) -> &'static crate::catalog::Table {
        crate::catalog::table(self.kind())
    }

    /// Sends the call: its first phase, or, with a checkpoint, the next phase. The engine
    /// sends a next phase only when the object is known to wait for it (right after its
    /// checkpoint, or after a [`lookup`](Self::lookup) answered [`Lookup::Continue`]), so an
    /// adapter sends it without reading the object again.
    ///
    /// # Errors
    /// A classified [`ProviderError`]; see [`ProviderError::class`].
    async fn execute(&self, call: &Call<'_>) -> Result<Outcome, ProviderError>;

    /// Finds out whether an earlier `execute` of `call` was applied. `provider_ref` is the
    /// object id when the create's answer was recorded (the checkpoint's id is used when
    /// `call` has one).
    ///
    /// # Errors
    /// A classified [`ProviderError`] when the lookup itself failed (the engine retries it).
    async fn lookup(
        &self,
        call: &Call<'_>,
        provider_ref: Option<&str>,
    ) -> Result<Lookup, ProviderError>;

    /// The cheapest authenticated call the provider offers, made before a run's first write
    /// (and before each batch step) so that refused credentials or a provider that does not
    /// answer stop the batch once instead of failing each item. Any answer but a 401/403 or an
    /// outage (no answer, a 5xx) shows the credentials were accepted: a 404 for a made-up id is
    /// a pass. Adapters without such a call keep this default, which checks nothing.
    ///
    /// # Errors
    /// The call's classified [`ProviderError`].
    async fn preflight(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Reads an object's current state: `webhook.await` confirms events with it and falls
    /// back to it with `poll_every`. `object` is an [`Event::object_type`] of this provider.
    ///
    /// # Errors
    /// A classified [`ProviderError`]; an unknown `object` is
    /// [`Invalid`](ProviderError::Invalid).
    async fn poll(&self, object: &str, id: &str) -> Result<Output, ProviderError>;

    /// The object type [`poll`](Self::poll) reads for what `action` creates, so that
    /// reconciliation can read a payment back by its recorded id; `None` when this adapter
    /// cannot read that action's object back.
    fn payment_object(&self, action: &str) -> Option<&'static str> {
        let _ = action;
        None
    }

    /// Every object of type `object` whose listing shows a sluice marker, newest first, for
    /// reconciliation to find payments sluice has no record of. `None` when the provider
    /// offers no listing of `object` that carries the marker. Read-only.
    ///
    /// # Errors
    /// A classified [`ProviderError`] from any page.
    async fn list_marked(&self, object: &str) -> Result<Option<Vec<Marked>>, ProviderError> {
        let _ = object;
        Ok(None)
    }

    /// The exact requests `execute` would send for `call`, credentials masked. Pure: no I/O,
    /// so a plan cannot send anything by construction. Values only known at run time (ids
    /// of earlier phases, ids looked up by code) appear as `{…}` placeholders with a note.
    ///
    /// # Errors
    /// [`ProviderError::Invalid`] for input `execute` would refuse too.
    fn preview(&self, call: &Call<'_>) -> Result<Vec<WireRequest>, ProviderError>;

    /// Checks an incoming webhook's signature over the raw body, in constant time.
    ///
    /// # Errors
    /// [`VerifyError`] when the signature is missing, malformed or wrong.
    fn verify_webhook(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError>;

    /// Parses a verified webhook body into an [`Event`].
    ///
    /// # Errors
    /// [`ParseError`] when the body is not an event of this provider.
    fn parse_event(&self, body: &[u8]) -> Result<Event, ParseError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_and_bounded() {
        let k = IdempotencyKey::new("idk_run1.pay.emp-42").unwrap();
        assert_eq!(k.as_str(), "idk_run1.pay.emp-42");
        assert_eq!(k.marker(), "[sluice:idk_run1.pay.emp-42]");
        for bad in ["", "has space", "a]b", "ümlaut", &"x".repeat(201)] {
            assert!(IdempotencyKey::new(bad).is_err(), "{bad:?} was accepted");
        }
        let found = IdempotencyKey::find_marker("Payroll Ada [sluice:sl_1f] tail").unwrap();
        assert_eq!(found.as_str(), "sl_1f");
        for none in ["no marker", "[sluice:", "[sluice:]", "[sluice:a b]"] {
            assert_eq!(IdempotencyKey::find_marker(none), None, "{none:?}");
        }
        let err = IdempotencyKey::new("").unwrap_err();
        assert_eq!(err.to_string(), "`` is not an idempotency key: it is empty");
    }
}
