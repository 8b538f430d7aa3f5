//! An `approval` step waiting for its approvers.
//!
//! The first time the step runs it records its policy in its row and waits, with a deadline
//! when it has a `timeout`. The approvals themselves arrive through the store
//! (`sluice approve`, judged against the recorded policy), so a run resumed while the step
//! still waits must not write the row again: that would forget the approvals given so far
//! and restart the clock. It only checks the deadline, and on a timeout fails the step or
//! lets the run continue unapproved, as the policy says.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use super::Write;
use super::call::{Halt, ItemEnd};
use super::writer::Writer;
use crate::approval::{OnTimeout, Waiting};
use crate::store::{ErrorClass, Outcome, StepError, StepRecord, StepState};

/// Waits for the approvals `asked` describes, or ends the step if its deadline has passed;
/// `tell` is what to tell the operator.
///
/// # Errors
/// [`Halt`] when the row cannot be written.
pub(super) async fn wait(
    writer: &Writer,
    record: &StepRecord,
    asked: Waiting,
    tell: String,
) -> Result<ItemEnd, Halt> {
    let now = Utc::now();
    let recorded = match record.state {
        StepState::Waiting => record.request.as_ref().and_then(Waiting::from_request),
        _ => None,
    };
    let Some(waiting) = recorded else {
        let deadline_at = asked
            .policy
            .timeout()
            .map(|t| now + TimeDelta::from_std(t).unwrap_or(TimeDelta::MAX));
        writer
            .write(Write::Wait(crate::store::Waiting {
                key: record.key.clone(),
                request: Some(json!(asked)),
                next_check_at: None,
                deadline_at,
            }))
            .await?;
        return Ok(ItemEnd::Waiting(tell));
    };
    if !passed(record.deadline_at, now) {
        return Ok(ItemEnd::Waiting(format!(
            "{tell} ({})",
            waiting.progress(None)
        )));
    }
    let timeout = waiting.policy.timeout.as_deref().unwrap_or_default();
    let (outcome, end) = match waiting.policy.on_timeout {
        OnTimeout::Fail => {
            let message = format!("no approval within {timeout}: {}", waiting.progress(None));
            let error = StepError::new(ErrorClass::Other("approval".into()), message.clone());
            (Outcome::Failed(error), ItemEnd::Failed(message))
        }
        OnTimeout::Continue => {
            let output = json!({
                "approved": false,
                "timed_out": true,
                "approvals": waiting.approvals,
            });
            let outcome = Outcome::Succeeded {
                output: output.clone(),
                provider_ref: None,
            };
            (outcome, ItemEnd::Succeeded(output))
        }
    };
    writer.result(record.key.clone(), outcome).await?;
    Ok(end)
}

fn passed(deadline: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    deadline.is_some_and(|d| d <= now)
}
