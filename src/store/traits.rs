//! The storage traits: narrow, async, object-safe, composed into [`Store`].
//!
//! Code that needs only runs takes `&dyn RunStore`; the engine holds an `Arc<dyn Store>`. Each
//! method is one transaction: when it returns `Ok`, its writes are durable (at the configured
//! durability); when it returns `Err`, none of them happened. Batches are all or nothing.
//!
//! # The write protocol (DESIGN.md §4)
//!
//! For every step that moves money or creates an object, in this order:
//!
//! 1. [`RunStore::acquire_lease`] once for the run (and [`RunStore::renew_lease`] well within
//!    the TTL while working).
//! 2. [`StepStore::mark_dispatching`] with the batch about to be sent (idempotency key from
//!    [`idempotency_key`](super::idempotency_key), rendered request). Only after it returns
//!    `Ok` may any of those requests leave the process. It refuses if the lease was lost.
//! 3. Send.
//! 4. Two-phase operations: [`StepStore::record_checkpoints`] with the provider's id as soon as
//!    the create returns, before the commit call.
//! 5. [`StepStore::record_results`] (succeeded or failed for good) or
//!    [`StepStore::record_retries`] (retryable: back to pending with `next_attempt_at`), each
//!    with the provider call's [`NewAttempt`] so the audit trail lands in the same transaction.
//!
//! On resume: `succeeded`/`skipped` steps are never run again; `pending` ones run; a step found
//! in `dispatching` is in doubt: `Provider::lookup` first, then `record_results` (found),
//! `mark_dispatching` again with the same key and request (provably absent; a changed request
//! is refused with [`StoreError::RequestChanged`]), or [`StepStore::mark_needs_attention`]
//! (cannot tell). An `in_flight` step continues its second phase from its checkpoint.
//!
//! # Awaits
//!
//! The step calls [`StepStore::mark_waiting`] with its rendered `event` and `match`, then looks
//! for an event that came first ([`EventStore::list_events`] with `unmatched_only`, and
//! [`EventStore::mark_event_matched`] on the one it takes). The webhook receiver reads
//! [`StepStore::waiting_steps`], matches, and calls [`EventStore::insert_event`] with the keys
//! to wake before answering 200. A woken step is `pending` with `event_id` set: the engine
//! confirms the object's state with the provider, then records the result or waits again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::attempt::{AttemptRecord, NewAttempt};
use super::error::StoreError;
use super::event::{EventFilter, EventInsert, EventRecord, NewEvent};
use super::notice::StoreNotice;
use super::operator::{OperatorAction, OperatorRecord};
use super::run::{Claim, Lease, NewRun, RunFilter, RunRecord, RunStatus};
use super::schedule::SlotRecord;
use super::step::{
    Attention, Checkpoint, Dispatch, NewStep, RetryLater, Skip, StepCount, StepKey, StepRecord,
    StepResult, StepState, Waiting,
};
use super::worker::{WorkerInfo, WorkerRecord};

/// Runs and their leases.
#[async_trait::async_trait]
pub trait RunStore: Send + Sync {
    /// Creates a run in status `pending` with all its step runs (every `for_each` item
    /// included), in one transaction. `steps` is in plan order, which
    /// [`StepStore::load_steps`] preserves.
    ///
    /// # Errors
    /// [`StoreError::RunExists`] if the id is taken (a scheduled slot's deterministic id that
    /// already fired), [`StoreError::DuplicateStep`] if two steps share a key.
    async fn create_run(&self, run: &NewRun, steps: &[NewStep]) -> Result<(), StoreError>;

    /// Loads one run.
    ///
    /// # Errors
    /// [`StoreError::RunNotFound`].
    async fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError>;

    /// Lists runs, newest first, without their inputs ([`RunRecord::inputs`] is `null`; a
    /// run's inputs can be megabytes, and [`load_run`](Self::load_run) reads them).
    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError>;

    /// Sets a run's status and error (`None` clears it). Finished statuses stamp
    /// `finished_at`; the others clear it.
    ///
    /// # Errors
    /// [`StoreError::RunNotFound`].
    async fn set_run_status(
        &self,
        run_id: &str,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Takes the run for `owner` until now + `ttl`. Succeeds if nobody holds it, the lease
    /// expired, or `owner` already holds it (which extends it).
    ///
    /// # Errors
    /// [`StoreError::Leased`] naming the holder and expiry, [`StoreError::RunNotFound`].
    async fn acquire_lease(
        &self,
        run_id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError>;

    /// Takes the run from `from`, which must still be the holder (compare and swap), even
    /// before its lease expires: for a holder known to be dead (a process on this host that
    /// no longer exists).
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when `from` no longer holds it.
    async fn take_over_lease(
        &self,
        run_id: &str,
        from: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError>;

    /// Leases the oldest run that `claim` admits and nobody holds (or whose lease expired), if
    /// there is one. This is how `serve` workers pick up work: a run another worker is
    /// claiming at the same moment is skipped, not waited for (`FOR UPDATE SKIP LOCKED` on
    /// Postgres).
    async fn claim_next_run(
        &self,
        owner: &str,
        ttl: Duration,
        claim: &Claim,
    ) -> Result<Option<Lease>, StoreError>;

    /// Extends a lease the caller still holds to now + `ttl`. A lease that expired but that
    /// nobody took over is still renewed.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] if another owner took the run or the lease was released.
    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<Lease, StoreError>;

    /// Gives the run up. Releasing a lease no longer held changes nothing.
    async fn release_lease(&self, lease: &Lease) -> Result<(), StoreError>;
}

/// Step runs: the checkpoints of the write protocol, and the attempts audit trail.
#[async_trait::async_trait]
pub trait StepStore: Send + Sync {
    /// Every step run of a run, in plan order.
    async fn load_steps(&self, run_id: &str) -> Result<Vec<StepRecord>, StoreError>;

    /// One step run.
    ///
    /// # Errors
    /// [`StoreError::StepNotFound`].
    async fn load_step(&self, key: &StepKey) -> Result<StepRecord, StoreError>;

    /// The step runs of a run in any of `states`, in plan order (e.g. `dispatching` and
    /// `in_flight` on resume).
    async fn steps_in_state(
        &self,
        run_id: &str,
        states: &[StepState],
    ) -> Result<Vec<StepRecord>, StoreError>;

    /// Every waiting step run of every run, for the webhook receiver to match events against
    /// their stored request (the await's `event` and `match`).
    async fn waiting_steps(&self) -> Result<Vec<StepRecord>, StoreError>;

    /// How many step runs of each step are in each state: steps in plan order, states in
    /// [`StepState`] order.
    async fn count_steps(&self, run_id: &str) -> Result<Vec<StepCount>, StoreError>;

    /// Commits "about to send" for a batch, in one transaction that must return before any of
    /// the requests is sent (group commit: one fsync for the whole batch). Each item moves
    /// `pending → dispatching` (or stays `dispatching` when re-sent after a lookup proved the
    /// first send absent), counts one more attempt, and records its idempotency key, request
    /// and [`request_digest`](super::request_digest).
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] unless `lease` is still held and unexpired (then nothing may be
    /// sent); [`StoreError::RequestChanged`] when a `dispatching` item comes back with another
    /// request or key; [`StoreError::InvalidTransition`] from any other state. Nothing in the
    /// batch is written on error.
    async fn mark_dispatching(&self, lease: &Lease, batch: &[Dispatch]) -> Result<(), StoreError>;

    /// Two-phase checkpoints: `dispatching | in_flight → in_flight`, with the provider's id and
    /// what the second phase needs. One transaction for the batch.
    async fn record_checkpoints(&self, batch: &[Checkpoint]) -> Result<(), StoreError>;

    /// Final results: `pending | dispatching | in_flight | waiting → succeeded | failed`, with
    /// the output or the classified error, and each result's attempt, in one transaction.
    async fn record_results(&self, batch: &[StepResult]) -> Result<(), StoreError>;

    /// Retryable failures: `dispatching → pending` (in flight and pending stay), with the error
    /// and `next_attempt_at`, and each attempt, in one transaction.
    async fn record_retries(&self, batch: &[RetryLater]) -> Result<(), StoreError>;

    /// `pending | waiting → waiting`, with the request to match, the next check and the
    /// deadline. Only steps that have sent nothing wait; an operation in flight stays
    /// `in_flight` and polls. After this, look for events that arrived before the waiter
    /// ([`EventStore::list_events`] with `unmatched_only`): the receiver only wakes steps that
    /// were already waiting.
    async fn mark_waiting(&self, batch: &[Waiting]) -> Result<(), StoreError>;

    /// `pending | waiting → skipped`, with the reason.
    async fn mark_skipped(&self, batch: &[Skip]) -> Result<(), StoreError>;

    /// `pending | dispatching | in_flight | waiting → needs_attention`, with the message for the
    /// operator.
    async fn mark_needs_attention(&self, batch: &[Attention]) -> Result<(), StoreError>;

    /// Redrive: every `failed` step run of the run (or of one step) goes back to `pending`,
    /// keeping its idempotency key, request and attempt count. Returns how many.
    async fn reset_failed_items(
        &self,
        run_id: &str,
        step_id: Option<&str>,
    ) -> Result<u64, StoreError>;

    /// Records provider calls that are not part of a result (lookups, a commit that failed
    /// before a retry was decided, …).
    async fn record_attempts(&self, batch: &[NewAttempt]) -> Result<(), StoreError>;

    /// Every recorded provider call of a run, in recording order.
    async fn load_attempts(&self, run_id: &str) -> Result<Vec<AttemptRecord>, StoreError>;
}

/// Webhook events.
#[async_trait::async_trait]
pub trait EventStore: Send + Sync {
    /// Stores a verified event unless the provider already delivered it, and in the same
    /// transaction wakes the listed steps that are still `waiting` (they become `pending`
    /// with the event's id, so the engine confirms with the provider and finishes them).
    /// The receiver answers 200 only after this returns. A duplicate changes nothing.
    async fn insert_event(
        &self,
        event: &NewEvent,
        wake: &[StepKey],
    ) -> Result<EventInsert, StoreError>;

    /// Links an event that arrived before its waiter to the step that consumed it, so it is
    /// not matched twice.
    ///
    /// # Errors
    /// [`StoreError::EventNotFound`].
    async fn mark_event_matched(&self, event_id: i64, key: &StepKey) -> Result<(), StoreError>;

    /// One event.
    ///
    /// # Errors
    /// [`StoreError::EventNotFound`].
    async fn load_event(&self, event_id: i64) -> Result<EventRecord, StoreError>;

    /// Events by provider, type, object and whether they were matched, oldest first.
    async fn list_events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>, StoreError>;
}

/// Approvals and the other operator decisions.
#[async_trait::async_trait]
pub trait OperatorStore: Send + Sync {
    /// Records the decision (who, when, why) and applies it to the steps in one transaction;
    /// see [`OperatorAction`] for which steps each kind touches. A decision that unblocks a
    /// run in `failed`, `needs_attention` or `waiting` makes it `pending` again so a worker
    /// or `sluice resume` picks it up.
    ///
    /// # Errors
    /// [`StoreError::InvalidTransition`] when the step is not in a state the decision applies
    /// to (approving a step that is not waiting, resolving one that is not in doubt),
    /// [`StoreError::InvalidAction`] for a decision missing its step,
    /// [`StoreError::RunNotFound`], [`StoreError::StepNotFound`].
    async fn apply_operator_action(
        &self,
        action: &OperatorAction,
    ) -> Result<OperatorRecord, StoreError>;

    /// Every decision taken on a run, oldest first.
    async fn list_operator_actions(&self, run_id: &str) -> Result<Vec<OperatorRecord>, StoreError>;
}

/// Fired schedule slots.
#[async_trait::async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Claims a slot for `run_id`: `true` for the first claimer only, `false` for everyone
    /// after, across processes.
    async fn claim_slot(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run_id: &str,
    ) -> Result<bool, StoreError>;

    /// Claims a slot and creates its run in one transaction: `true` if this call fired the
    /// slot, `false` (and nothing written) if it had fired already. Prefer this to
    /// [`claim_slot`](Self::claim_slot) followed by [`RunStore::create_run`], which leaves a
    /// claimed slot without a run if the process dies in between.
    async fn start_slot_run(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run: &NewRun,
        steps: &[NewStep],
    ) -> Result<bool, StoreError>;

    /// Claims a slot whose run could not be prepared (its inputs did not resolve, a
    /// `for_each` list had duplicate keys) and records that run, with no steps, as `failed`
    /// with `error`, in one transaction, so the failure shows where operators look for runs.
    /// `true` if this call fired the slot, `false` (and nothing written) if it had fired
    /// already.
    ///
    /// # Errors
    /// [`StoreError::RunExists`] if the slot is free but a run already has `run.id`.
    async fn fail_slot_run(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run: &NewRun,
        error: &str,
    ) -> Result<bool, StoreError>;

    /// The latest slot fired for a workflow, for `catch_up`.
    async fn last_slot(&self, workflow: &str) -> Result<Option<SlotRecord>, StoreError>;
}

/// The `serve` workers sharing the database.
#[async_trait::async_trait]
pub trait WorkerStore: Send + Sync {
    /// Records a heartbeat: the worker's row is created or updated with `info`, and it counts
    /// as live until now + `ttl`. Rows of workers gone for more than a day are dropped.
    async fn report_worker(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), StoreError>;

    /// Removes a worker that stopped cleanly (after handing its leases back). Removing one
    /// that is not there changes nothing.
    async fn remove_worker(&self, id: &str) -> Result<(), StoreError>;

    /// Every worker row, live or not, by name then id.
    async fn list_workers(&self) -> Result<Vec<WorkerRecord>, StoreError>;

    /// Notices of changes other processes make (runs to claim, steps woken), for a worker to
    /// act on at once; `None` when this backend has none (SQLite: workers scan). Hints only:
    /// every change is also found by scanning.
    async fn notices(&self) -> Result<Option<mpsc::UnboundedReceiver<StoreNotice>>, StoreError> {
        Ok(None)
    }
}

/// The whole store, as the engine holds it (`Arc<dyn Store>`). Implemented by every type that
/// implements the narrow traits.
pub trait Store:
    RunStore + StepStore + EventStore + OperatorStore + ScheduleStore + WorkerStore
{
}

impl<T> Store for T where
    T: RunStore + StepStore + EventStore + OperatorStore + ScheduleStore + WorkerStore
{
}
