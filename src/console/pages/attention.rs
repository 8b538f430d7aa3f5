//! What of one run waits for a person, read in bounded queries however large the run: per
//! step, the first step runs in doubt with their provider calls (and how many more there
//! are), and the approval steps waiting.

use crate::ids::{RunId, StepId};
use crate::store::{AttemptRecord, StepPage, StepRecord, StepState, Store, StoreError};

/// The most waiting rows of one step read to find its approvals (an approval is one row).
const WAITING_READ: u32 = 5;

/// One run's share of the inbox.
#[derive(Default)]
pub struct Attention {
    /// Step runs in doubt, each with its provider calls.
    pub doubts: Vec<(StepRecord, Vec<AttemptRecord>)>,
    /// Steps with more step runs in doubt than shown, and how many more.
    pub more: Vec<(StepId, u64)>,
    /// Approval steps waiting.
    pub approvals: Vec<StepRecord>,
}

/// What of `run_id` waits for a person, showing up to `limit` step runs in doubt per step.
pub async fn of_run(
    store: &dyn Store,
    run_id: &RunId,
    limit: u32,
) -> Result<Attention, StoreError> {
    let mut attention = Attention::default();
    for count in store.count_steps(run_id).await? {
        let page = |state, limit| StepPage {
            run_id: run_id.clone(),
            step_id: count.step_id.clone(),
            state: Some(state),
            key_prefix: None,
            after_seq: None,
            limit,
        };
        match count.state {
            StepState::NeedsAttention => {
                for step in store
                    .page_steps(&page(StepState::NeedsAttention, limit))
                    .await?
                {
                    let attempts = store.load_step_attempts(&step.key).await?;
                    attention.doubts.push((step, attempts));
                }
                if count.count > u64::from(limit) {
                    attention
                        .more
                        .push((count.step_id.clone(), count.count - u64::from(limit)));
                }
            }
            StepState::Waiting => {
                let waiting = store
                    .page_steps(&page(StepState::Waiting, WAITING_READ))
                    .await?;
                attention.approvals.extend(waiting.into_iter().filter(|s| {
                    s.request
                        .as_ref()
                        .and_then(crate::approval::Waiting::from_request)
                        .is_some()
                }));
            }
            _ => {}
        }
    }
    Ok(attention)
}
