//! The group commit of step writes: a [`WriteBatch`] holds every kind of change the engine
//! queues while a transaction is in progress, and [`StepStore::commit_batch`] applies it in
//! one transaction, all of it or none.
//!
//! What each kind does to a step run is in `step.rs`; this module owns how they travel
//! together: the order they are applied in, and the lease that fences them.
//!
//! [`StepStore::commit_batch`]: super::StepStore::commit_batch

use super::attempt::NewAttempt;
use super::error::StoreError;
use super::run::Lease;
use super::step::{
    Attention, Checkpoint, Dispatch, RetryLater, Skip, StepKey, StepResult, Waiting,
};

/// Step writes of one run committed together. Applied in the order of the fields (the order
/// of the write protocol), each kind in its list's order; a step named twice sees its writes
/// in that order.
///
/// Every write names a step run of the run the lease is on (a [`Dispatch`] takes its run from
/// the lease).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    /// `pending → dispatching` (or `dispatching` again with the same key and request, after a
    /// lookup proved the first send absent): one more attempt, with the idempotency key, the
    /// request and its [`request_digest`](crate::digest::request_digest). None of these requests may
    /// leave the process before the batch commits.
    pub dispatches: Vec<Dispatch>,
    /// Two-phase checkpoints: `dispatching | in_flight → in_flight`, with the provider's id and
    /// what the second phase needs.
    pub checkpoints: Vec<Checkpoint>,
    /// Final results: `pending | dispatching | in_flight | waiting → succeeded | failed`, with
    /// the output or the classified error, and each result's attempt.
    pub results: Vec<StepResult>,
    /// Retryable failures: `dispatching → pending` (in flight and pending stay), with the
    /// error, `next_attempt_at` and each attempt.
    pub retries: Vec<RetryLater>,
    /// `pending | waiting → skipped`, with the reason.
    pub skips: Vec<Skip>,
    /// `pending | waiting → waiting`, with the request to match, the next check and the
    /// deadline. Only steps that have sent nothing wait; an operation in flight stays
    /// `in_flight` and polls.
    pub waiting: Vec<Waiting>,
    /// `pending | dispatching | in_flight | waiting → needs_attention`, with the message for
    /// the operator.
    pub attention: Vec<Attention>,
}

impl WriteBatch {
    /// How many writes the batch holds.
    pub fn len(&self) -> usize {
        self.dispatches.len()
            + self.checkpoints.len()
            + self.results.len()
            + self.retries.len()
            + self.skips.len()
            + self.waiting.len()
            + self.attention.len()
    }

    /// Whether the batch holds no write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Refuses a batch that writes a step (or an attempt) of a run other than the lease's:
    /// the lease fences its own run only.
    ///
    /// # Errors
    /// [`StoreError::OutsideLease`] naming the first such step.
    pub(crate) fn check_run(&self, lease: &Lease) -> Result<(), StoreError> {
        let keys = (self.checkpoints.iter().map(|c| &c.key))
            .chain(self.results.iter().map(|r| &r.key))
            .chain(self.results.iter().filter_map(|r| attempt_key(&r.attempt)))
            .chain(self.retries.iter().map(|r| &r.key))
            .chain(self.retries.iter().filter_map(|r| attempt_key(&r.attempt)))
            .chain(self.skips.iter().map(|s| &s.key))
            .chain(self.waiting.iter().map(|w| &w.key))
            .chain(self.attention.iter().map(|a| &a.key));
        let mut outside = keys.filter(|k: &&StepKey| k.run_id != lease.run_id);
        match outside.next() {
            None => Ok(()),
            Some(key) => Err(StoreError::OutsideLease {
                key: key.clone(),
                run_id: lease.run_id.clone(),
            }),
        }
    }
}

fn attempt_key(attempt: &Option<NewAttempt>) -> Option<&StepKey> {
    attempt.as_ref().map(|a| &a.key)
}

macro_rules! from_writes {
    ($($kind:ty => $field:ident),* $(,)?) => {$(
        impl From<Vec<$kind>> for WriteBatch {
            /// A batch of this one kind of write.
            fn from(writes: Vec<$kind>) -> Self {
                WriteBatch {
                    $field: writes,
                    ..WriteBatch::default()
                }
            }
        }
    )*};
}

from_writes! {
    Dispatch => dispatches,
    Checkpoint => checkpoints,
    StepResult => results,
    RetryLater => retries,
    Skip => skips,
    Waiting => waiting,
    Attention => attention,
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::store::run::LeaseScope;

    #[test]
    fn counts_its_writes_and_refuses_steps_of_another_run() {
        let lease = Lease {
            run_id: "run_a".into(),
            owner: "engine".into(),
            expires_at: Utc::now(),
            scope: LeaseScope::Run,
        };
        let skip = |run: &str| Skip {
            key: StepKey::item(run, "pay", "e1"),
            reason: "`if` is false".into(),
        };
        let mut batch = WriteBatch::from(vec![skip("run_a"), skip("run_a")]);
        batch.dispatches.push(Dispatch {
            step_id: "pay".into(),
            item_key: "e2".into(),
            idempotency_key: "sl_1".into(),
            request: json!({}),
        });
        assert_eq!((batch.len(), batch.is_empty()), (3, false));
        assert!(WriteBatch::default().is_empty());
        batch.check_run(&lease).unwrap();

        batch.skips.push(skip("run_b"));
        let error = batch.check_run(&lease).unwrap_err();
        assert!(
            matches!(&error, StoreError::OutsideLease { key, run_id } if key.run_id == "run_b" && run_id == "run_a"),
            "{error:?}"
        );
    }
}
