//! Reconciliation findings kept as operator cases, what `serve`'s scheduled reconciliation
//! does with each pass: every disagreement recorded as a discrepancy (once while it is open,
//! however many passes and processes see it; the store owes its `reconcile_mismatch`
//! notification), and a payment's discrepancies cleared when a later pass finds it matched.
//! A provider that could not be asked changes nothing: the next pass asks again.

use std::collections::{HashMap, HashSet};

use super::reconcile::{Finding, Verdict};
use crate::ids::RunId;
use crate::store::{DiscrepancyStore, NewDiscrepancy, StepKey, StoreError};

/// What one pass changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Discrepancies newly recorded.
    pub raised: usize,
    /// Open discrepancies cleared because their payment matched.
    pub cleared: u64,
}

/// Records the disagreements among `findings` and clears the discrepancies of the payments
/// found matched. Findings about no payment of a run (an unknown object outside any run's
/// keys) are left to `sluice reconcile --since`.
///
/// # Errors
/// The first store failure; what was recorded before it stays, and the next pass records
/// the rest.
pub async fn record_findings(
    store: &dyn DiscrepancyStore,
    findings: &[Finding],
) -> Result<Recorded, StoreError> {
    let mut recorded = Recorded::default();
    let mut open = OpenCases::default();
    for f in findings {
        let (Some(run_id), Some(step_id), Some(item_key)) = (&f.run_id, &f.step_id, &f.item_key)
        else {
            continue;
        };
        let key = StepKey::item(run_id.clone(), step_id.clone(), item_key.clone());
        if f.verdict == Verdict::Matched {
            if open.of(store, run_id).await?.contains(&key) {
                recorded.cleared += store.clear_discrepancies(&key).await?;
            }
        } else if let (Some(kind), Some(provider_ref)) = (f.verdict.case(), &f.provider_ref) {
            let new = NewDiscrepancy {
                key,
                kind,
                provider_ref: provider_ref.clone(),
                detail: f.verdict.to_string(),
            };
            recorded.raised += usize::from(store.record_discrepancy(&new).await?);
        }
    }
    Ok(recorded)
}

/// The payments with an open discrepancy, read once per run a pass looks at: a matched
/// payment is written to only when it has a case to clear, so a clean pass over a large
/// payroll writes nothing.
#[derive(Default)]
struct OpenCases(HashMap<RunId, HashSet<StepKey>>);

impl OpenCases {
    async fn of(
        &mut self,
        store: &dyn DiscrepancyStore,
        run_id: &RunId,
    ) -> Result<&HashSet<StepKey>, StoreError> {
        if !self.0.contains_key(run_id) {
            let keys = store
                .load_discrepancies(run_id)
                .await?
                .into_iter()
                .filter(|d| d.cleared_at.is_none())
                .map(|d| d.discrepancy.key)
                .collect();
            self.0.insert(run_id.clone(), keys);
        }
        Ok(&self.0[run_id])
    }
}
