//! Settlement tracking: each committed payment is read back from its provider, and the ones
//! the provider now reports final are recorded settled or failed after commit, once. A
//! failure after commit is an operator case: `status` shows it and the store owes its
//! `item_failed_after_commit` notification. Reads only, at the provider.
//!
//! Two things start a read: a pass over a run's committed payments ([`track`], polling) and
//! a provider's webhook about one object ([`confirm`]). A webhook is only a hint (none of
//! the providers signs a timestamp or an event id), so both read the object and record what
//! the provider says now, through the same [`record`].

use std::collections::HashMap;
use std::sync::Arc;

use super::payment::{Payment, PaymentState};
use super::read::{Read, read_back};
use crate::providers::{NormalizedState, Output, Provider, ProviderError};
use crate::store::{NewSettlement, Settlement, SettlementStore, StepKey, StoreError};

/// What made sluice read a payment back, as recorded with its settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A pass over the committed payments (`settle`, `serve --settle-every`, `settle: wait`).
    Poll,
    /// A provider's webhook about the payment's object, confirmed by reading it.
    Webhook,
}

impl Source {
    /// The name stored with the settlement.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Poll => "poll",
            Self::Webhook => "webhook",
        }
    }
}

/// Reads back every committed payment of `payments` and records those whose object is now
/// final. Returns the settlements this pass recorded; a payment that could not be read is
/// left committed for the next pass (its error is logged).
///
/// # Errors
/// A store failure recording a settlement.
pub async fn track(
    store: &dyn SettlementStore,
    payments: &[Payment],
    providers: &HashMap<String, Arc<dyn Provider>>,
) -> Result<Vec<NewSettlement>, StoreError> {
    let reads = read_back(payments, providers, |p| p.state == PaymentState::Committed).await;
    let mut recorded = Vec::new();
    for (p, read) in payments.iter().zip(reads) {
        let output = match read {
            Some(Read::Answer(answer)) => match *answer {
                Ok(output) => output,
                Err(error) => {
                    tracing::warn!(run_id = %p.run_id, step = %p.step_id, item = %p.item_key,
                        %error, "Cannot read a committed payment back; tried again later.");
                    continue;
                }
            },
            Some(Read::NoObject | Read::Unsupported) | None => continue,
        };
        let key = StepKey::item(p.run_id.clone(), p.step_id.clone(), p.item_key.clone());
        recorded.extend(record(store, key, &output, Source::Poll).await?);
    }
    Ok(recorded)
}

/// What a provider's webhook about object `id` (of type `object`) means for the committed
/// payment `key` made through `provider`: the object is read, and recorded if final.
///
/// # Errors
/// The provider's error reading the object (the next poll tries again), or a store failure.
pub async fn confirm(
    store: &dyn SettlementStore,
    provider: &dyn Provider,
    key: StepKey,
    (object, id): (&str, &str),
) -> Result<Option<NewSettlement>, ConfirmError> {
    let output = provider.poll(object, id).await?;
    Ok(record(store, key, &output, Source::Webhook).await?)
}

/// Why a webhook did not settle a payment.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// The object could not be read.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The settlement could not be recorded.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records `key` settled or failed after commit when `output` is final; `None` when it is
/// not, or when its settlement was recorded before (by anyone, from either source).
async fn record(
    store: &dyn SettlementStore,
    key: StepKey,
    output: &Output,
    source: Source,
) -> Result<Option<NewSettlement>, StoreError> {
    let settlement = match output.state.normalized {
        NormalizedState::Succeeded => Settlement::Settled,
        NormalizedState::Failed => Settlement::FailedAfterCommit,
        _ => return Ok(None),
    };
    let new = NewSettlement {
        key,
        settlement,
        provider_state: output.state.raw.clone(),
        source: source.as_str().into(),
    };
    if !store.record_settlement(&new).await? {
        return Ok(None);
    }
    if settlement == Settlement::FailedAfterCommit {
        tracing::warn!(run_id = %new.key.run_id, step = %new.key.step_id, item = %new.key.item_key,
            source = source.as_str(), "A payment failed after commit: the payee was not paid.");
    }
    Ok(Some(new))
}
