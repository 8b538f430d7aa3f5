//! `settle: wait`: a batch payment step whose items all succeeded (the provider accepted each
//! payment) reads them back until the provider reports every one final, and only then
//! succeeds. A payment failed after commit fails the step, so nothing after it runs as if the
//! payee were paid; payments still not final at `settle_timeout` leave the step needing
//! attention (`sluice resume` waits again). Reads only, at the provider.

use std::time::{Duration, Instant};

use super::call::Halt;
use super::step::{Shared, StepEnd};
use super::writer::WriteError;
use crate::settlement::{PaymentState, PaymentSteps, load, track};
use crate::spec::SettleMode;
use crate::store::{ErrorClass, Outcome, StepError, StepKey, StoreError};

/// How long a step waits for settlement unless `settle_timeout` says.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// The first wait between reads of the payments; it doubles up to [`POLL`].
const FIRST_POLL: Duration = Duration::from_secs(1);

/// The longest wait between reads of the payments.
const POLL: Duration = Duration::from_secs(10);

/// Waits for the settlement of step `index`'s payments when it says `settle: wait`: `None`
/// when the step may succeed, else how it ends instead.
///
/// # Errors
/// [`Halt`] when the store fails.
pub(super) async fn wait(
    shared: &Shared,
    index: usize,
    parent: &StepKey,
) -> Result<Option<StepEnd>, Halt> {
    let step = &shared.compiled.config.steps[index];
    if step.settle != Some(SettleMode::Wait) {
        return Ok(None);
    }
    let timeout = step.settle_timeout.map_or(DEFAULT_TIMEOUT, |t| t.get());
    let most = shared.max_poll.map_or(POLL, |m| m.min(POLL));
    let mut every = FIRST_POLL.min(most);
    let steps = PaymentSteps::step(&shared.compiled, &step.id);
    let store = &*shared.store;
    let deadline = Instant::now() + timeout;
    loop {
        let payments = load(store, &shared.run_id, &steps).await.map_err(halt)?;
        track(store, &payments, &shared.providers)
            .await
            .map_err(halt)?;
        let payments = load(store, &shared.run_id, &steps).await.map_err(halt)?;
        let open = payments
            .iter()
            .filter(|p| p.state == PaymentState::Committed)
            .count();
        if open == 0 {
            let failed: Vec<String> = payments
                .iter()
                .filter(|p| p.state == PaymentState::FailedAfterCommit)
                .map(|p| format!("`{}`", p.item_key))
                .collect();
            if failed.is_empty() {
                return Ok(None);
            }
            let message = format!(
                "{} payment(s) failed after commit: {}",
                failed.len(),
                failed.join(", ")
            );
            let error = StepError::new(ErrorClass::Items, message.clone());
            shared
                .writer
                .result(parent.clone(), Outcome::Failed(error))
                .await?;
            return Ok(Some(StepEnd::Failed(message)));
        }
        if Instant::now() >= deadline {
            return Ok(Some(StepEnd::NeedsAttention(format!(
                "{open} payment(s) not settled within {}; `sluice resume` waits again",
                humantime::format_duration(timeout)
            ))));
        }
        tokio::time::sleep(every).await;
        every = (every * 2).min(most);
    }
}

fn halt(e: StoreError) -> Halt {
    Halt::Store(WriteError::Store(std::sync::Arc::new(e)))
}
