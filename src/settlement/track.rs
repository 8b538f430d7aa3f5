//! Settlement tracking: each committed payment is read back from its provider, and the ones
//! the provider now reports final are recorded settled or failed after commit, once. A
//! failure after commit is an operator case: `status` shows it and the store owes its
//! `item_failed_after_commit` notification. Reads only, at the provider.

use std::collections::HashMap;
use std::sync::Arc;

use super::payment::{Payment, PaymentState};
use super::read::{Read, read_back};
use crate::providers::{NormalizedState, Provider};
use crate::store::{NewSettlement, Settlement, SettlementStore, StepKey, StoreError};

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
        let settlement = match output.state.normalized {
            NormalizedState::Succeeded => Settlement::Settled,
            NormalizedState::Failed => Settlement::FailedAfterCommit,
            _ => continue,
        };
        let new = NewSettlement {
            key: StepKey::item(p.run_id.clone(), p.step_id.clone(), p.item_key.clone()),
            settlement,
            provider_state: output.state.raw.clone(),
            source: "poll".into(),
        };
        if store.record_settlement(&new).await? {
            if settlement == Settlement::FailedAfterCommit {
                tracing::warn!(run_id = %p.run_id, step = %p.step_id, item = %p.item_key,
                    "A payment failed after commit: the payee was not paid.");
            }
            recorded.push(new);
        }
    }
    Ok(recorded)
}
