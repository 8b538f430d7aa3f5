//! The storage traits: narrow, async, object-safe, composed into [`Store`].
//!
//! Code that needs only runs takes `&dyn RunStore`; the engine holds an `Arc<dyn Store>`. Each
//! method is one transaction: when it returns `Ok`, its writes are durable (at the configured
//! durability); when it returns `Err`, none of them happened. Batches are all or nothing.
//!
//! # The write protocol (ARCHITECTURE.md, *Never twice*)
//!
//! For every step that moves money or creates an object, in this order, each write through
//! [`StepStore::commit_batch`] (group commit: the writes of many items share a transaction):
//!
//! 1. [`RunStore::acquire_lease`] once for the run (and [`RunStore::renew_lease`] well within
//!    the TTL while working).
//! 2. A [`Dispatch`](super::Dispatch) (idempotency key from
//!    [`idempotency_key`](super::idempotency_key), rendered request). Only after its batch
//!    commits may the request leave the process. The batch is refused if the lease was lost.
//! 3. Send.
//! 4. Two-phase operations: a [`Checkpoint`](super::Checkpoint) with the provider's id as soon
//!    as the create returns, committed before the commit call.
//! 5. A [`StepResult`](super::StepResult) (succeeded or failed for good) or a
//!    [`RetryLater`](super::RetryLater) (retryable: back to pending with `next_attempt_at`),
//!    each with the provider call's [`NewAttempt`] so the audit trail lands in the same
//!    transaction.
//!
//! On resume: `succeeded`/`skipped` steps are never run again; `pending` ones run; a step found
//! in `dispatching` is in doubt: `Provider::lookup` first, then a result (found), a dispatch
//! again with the same key and request (provably absent; a changed request is refused with
//! [`StoreError::RequestChanged`]), or an [`Attention`](super::Attention) (cannot tell). An
//! `in_flight` step continues its second phase from its checkpoint.
//!
//! # Awaits
//!
//! The step commits a [`Waiting`](super::Waiting) with its rendered `event` and `match`, then
//! looks for an event that came first ([`EventStore::list_events`] with `unmatched_only`, and
//! [`EventStore::mark_event_matched`] on the one it takes): the receiver only wakes steps that
//! were already waiting. The webhook receiver reads [`StepStore::waiting_steps`], matches, and
//! calls [`EventStore::insert_event`] with the keys to wake before answering 200. A woken step
//! is `pending` with `event_id` set: the engine confirms the object's state with the provider,
//! then records the result or waits again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::attempt::{AttemptRecord, NewAttempt};
use super::batch::WriteBatch;
use super::claim::{ClaimSummary, ItemClaim, SharedStep};
use super::discrepancy::{DiscrepancyRecord, Dismissal, NewDiscrepancy};
use super::error::StoreError;
use super::event::{EventFilter, EventInsert, EventRecord, NewEvent};
use super::notice::StoreNotice;
use super::notification::{Delivery, NotificationRecord, NotifyRoute};
use super::operator::{OperatorAction, OperatorRecord};
use super::retention::{Prune, Pruned};
use super::run::{Claim, Lease, NewRun, RunFilter, RunRecord, RunStatus};
use super::schedule::{MissedSlots, SlotRecord};
use super::settlement::{NewSettlement, SettlementRecord};
use super::step::{AssetTotal, NewStep, StepCount, StepKey, StepPage, StepRecord, StepState};
use super::worker::{WorkerInfo, WorkerRecord};
use crate::ids::{RunId, StepId};

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
    async fn load_run(&self, run_id: &RunId) -> Result<RunRecord, StoreError>;

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
        run_id: &RunId,
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
        run_id: &RunId,
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
        run_id: &RunId,
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

    /// Deletes the runs that finished before `prune.finished_before` and are not leased,
    /// with their steps, attempts, inputs, operator actions and matched events, in one
    /// transaction; with `keep_audit`, first writes one `payment_audit` row per step run
    /// that went to a provider. Never touches a run that is not finished.
    async fn prune_runs(&self, prune: &Prune) -> Result<Pruned, StoreError>;
}

/// Step runs: the checkpoints of the write protocol, and the attempts audit trail.
#[async_trait::async_trait]
pub trait StepStore: Send + Sync {
    /// Every step run of a run, in plan order.
    async fn load_steps(&self, run_id: &RunId) -> Result<Vec<StepRecord>, StoreError>;

    /// The step runs of one step of a run, in plan order: its own row, then its items. The
    /// executor reads a run a step at a time, as it reaches each step, so that the rows of a
    /// batch of 100,000 items are in memory only while that batch runs. Empty for a step the
    /// run does not have.
    async fn load_step_rows(
        &self,
        run_id: &RunId,
        step_id: &StepId,
    ) -> Result<Vec<StepRecord>, StoreError>;

    /// One page of a step's rows in plan order, as [`StepPage`] filters them: what an
    /// operator's screen reads of a batch too large to load at once.
    async fn page_steps(&self, page: &StepPage) -> Result<Vec<StepRecord>, StoreError>;

    /// The amounts the step runs of `runs` (of one step, if given) ask for, by state and
    /// asset, in state order then by asset. Rows whose request has no decimal `amount` or no
    /// `asset` or `currency` are not counted.
    async fn asset_totals(
        &self,
        runs: &[RunId],
        step_id: Option<&StepId>,
    ) -> Result<Vec<AssetTotal>, StoreError>;

    /// One step run.
    ///
    /// # Errors
    /// [`StoreError::StepNotFound`].
    async fn load_step(&self, key: &StepKey) -> Result<StepRecord, StoreError>;

    /// The step runs of a run in any of `states`, in plan order (e.g. `dispatching` and
    /// `in_flight` on resume).
    async fn steps_in_state(
        &self,
        run_id: &RunId,
        states: &[StepState],
    ) -> Result<Vec<StepRecord>, StoreError>;

    /// Every waiting step run of every run, for the webhook receiver to match events against
    /// their stored request (the await's `event` and `match`).
    async fn waiting_steps(&self) -> Result<Vec<StepRecord>, StoreError>;

    /// How many step runs of each step are in each state: steps in plan order, states in
    /// [`StepState`] order.
    async fn count_steps(&self, run_id: &RunId) -> Result<Vec<StepCount>, StoreError>;

    /// Commits a group of step writes in one transaction: every write in `batch` is applied
    /// (in [`WriteBatch`]'s order) or, on error, none is. One fsync for the whole group, so
    /// the engine commits whatever queued up while the last commit was in progress.
    ///
    /// The lease fences every batch, whatever it holds: it commits only while `lease` is
    /// still held and unexpired. Dispatches must be fenced (nothing may be sent once another
    /// process may own the run), and so must checkpoints (the second phase is sent after
    /// them) and retries (a re-dispatch follows); results and waits are fenced too, so that a
    /// process that lost its run changes nothing more in it: the new holder finds what it left
    /// `dispatching` or `in_flight` and reconciles it by lookup, which is what lookups are for.
    /// An empty batch commits nothing and succeeds.
    ///
    /// # Errors
    /// Nothing in the batch is written on any error.
    /// [`StoreError::LeaseLost`] unless `lease` is still held and unexpired;
    /// [`StoreError::OutsideLease`] for a write naming a step of another run;
    /// [`StoreError::RequestChanged`] when a `dispatching` item comes back with another
    /// request or key; [`StoreError::InvalidTransition`] for a step in a state its write may
    /// not come from; [`StoreError::StepNotFound`] for a step (or an attempt's step) that does
    /// not exist.
    async fn commit_batch(&self, lease: &Lease, batch: &WriteBatch) -> Result<(), StoreError>;

    /// Redrive: every `failed` step run of the run (or of one step) goes back to `pending`,
    /// keeping its idempotency key, request and attempt count. Returns how many.
    async fn reset_failed_items(
        &self,
        run_id: &RunId,
        step_id: Option<&StepId>,
    ) -> Result<u64, StoreError>;

    /// Records provider calls that are not part of a result (lookups, a commit that failed
    /// before a retry was decided, …).
    async fn record_attempts(&self, batch: &[NewAttempt]) -> Result<(), StoreError>;

    /// The recorded provider calls of one step run, in recording order.
    async fn load_step_attempts(&self, key: &StepKey) -> Result<Vec<AttemptRecord>, StoreError>;

    /// The last `limit` recorded provider calls of a run, in recording order: a run's
    /// timeline, however many items it has.
    async fn recent_attempts(
        &self,
        run_id: &RunId,
        limit: u32,
    ) -> Result<Vec<AttemptRecord>, StoreError>;

    /// Every recorded provider call of a run, in recording order.
    async fn load_attempts(&self, run_id: &RunId) -> Result<Vec<AttemptRecord>, StoreError>;
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
    async fn list_operator_actions(
        &self,
        run_id: &RunId,
    ) -> Result<Vec<OperatorRecord>, StoreError>;
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
        run_id: &RunId,
    ) -> Result<bool, StoreError>;

    /// Claims a slot as skipped (`overlap: skip` passed over it while another run was live),
    /// recording `reason`: `true` for the first claimer only.
    async fn skip_slot(
        &self,
        workflow: &str,
        slot: DateTime<Utc>,
        run_id: &RunId,
        reason: &str,
    ) -> Result<bool, StoreError>;

    /// Claims slots that came due while no scheduler watched and that `catch_up` does not
    /// fire, as missed with their reason, and, in the same transaction, owes one
    /// `schedule_missed` notification per route of `missed` that wants it, naming the slots
    /// this call claimed (none when every slot had been claimed already: fired by another
    /// process, or recorded missed by one). Returns those slots, oldest first.
    async fn record_missed_slots(
        &self,
        missed: &MissedSlots,
    ) -> Result<Vec<DateTime<Utc>>, StoreError>;

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
    /// with `error`, with the notifications its routes want for `failed`, in one
    /// transaction, so the failure shows where operators look for runs.
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

    /// The latest slot claimed for a workflow (fired, skipped, missed or failed), for
    /// `catch_up`.
    async fn last_slot(&self, workflow: &str) -> Result<Option<SlotRecord>, StoreError>;

    /// The latest `limit` slots claimed (of `workflow`, or of every workflow), newest first,
    /// each with its run's status.
    async fn list_slots(
        &self,
        workflow: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SlotRecord>, StoreError>;
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

/// Sharing a `for_each` step's items between workers (see [`claim`](super::claim)).
#[async_trait::async_trait]
pub trait ClaimStore: Send + Sync {
    /// Publishes `step` for other workers to help with, replacing an earlier publication of
    /// the same step (a new holder publishes again).
    async fn share_step(&self, step: &SharedStep) -> Result<(), StoreError>;

    /// Withdraws a published step (its items are all settled, or it was never shared).
    async fn unshare_step(&self, run_id: &RunId, step_id: &StepId) -> Result<(), StoreError>;

    /// The published step, if any.
    async fn load_shared_step(
        &self,
        run_id: &RunId,
        step_id: &StepId,
    ) -> Result<Option<SharedStep>, StoreError>;

    /// The published steps with an item to claim now, as `(run_id, step_id)`, oldest first.
    async fn steps_to_help(&self) -> Result<Vec<(RunId, StepId)>, StoreError>;

    /// Claims items as [`ItemClaim`] says, returning their rows in `seq` order; none when
    /// there is nothing to claim. Rows other transactions hold locked are passed over.
    async fn claim_items(&self, claim: &ItemClaim) -> Result<Vec<StepRecord>, StoreError>;

    /// Extends every claim `owner` holds on an unsettled item, of any run, to now + `ttl`;
    /// returns how many.
    async fn renew_claims(&self, owner: &str, ttl: Duration) -> Result<u64, StoreError>;

    /// The live claims, one line per owner and step, by owner, run and step.
    async fn list_claims(&self) -> Result<Vec<ClaimSummary>, StoreError>;

    /// Gives back the claims `owner` holds on `run_id`'s unsettled items, for other workers to
    /// take at once; returns how many.
    async fn release_claims(&self, run_id: &RunId, owner: &str) -> Result<u64, StoreError>;
}

/// The notifications outbox. Rows are added by the store itself, in the transaction of the
/// run status change that causes them ([`RunStore::set_run_status`], a cancel, a denial).
#[async_trait::async_trait]
pub trait NotificationStore: Send + Sync {
    /// Claims up to `limit` due notifications (of `run_id`, or of every run) for `owner`
    /// until `ttl` from now, oldest first, passing over rows another process claimed.
    async fn claim_notifications(
        &self,
        owner: &str,
        ttl: Duration,
        run_id: Option<&RunId>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError>;

    /// Records an attempt on a notification `owner` claimed: delivered, or failed and due
    /// again after a backoff (given up after [`MAX_ATTEMPTS`](super::notification::MAX_ATTEMPTS)).
    /// Returns `false`, recording nothing, when the claim was lost.
    async fn record_delivery(
        &self,
        id: i64,
        owner: &str,
        delivery: &Delivery,
    ) -> Result<bool, StoreError>;

    /// Notifications, newest first (of `run_id`, or of every run and schedule).
    async fn list_notifications(
        &self,
        run_id: Option<&RunId>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError>;

    /// Adds `routes` to those of `run_id` (a route it has already is not added twice), so
    /// its later status changes owe them notifications too: `serve`'s own rules, for the
    /// runs it starts or holds.
    ///
    /// # Errors
    /// [`StoreError::RunNotFound`] when there is no such run.
    async fn add_notify_routes(
        &self,
        run_id: &RunId,
        routes: &[NotifyRoute],
    ) -> Result<(), StoreError>;
}

/// Settlements of committed payments (see [`settlement`](super::settlement)).
#[async_trait::async_trait]
pub trait SettlementStore: Send + Sync {
    /// Records a committed payment's final state, once: `true` if this call recorded it,
    /// `false` (nothing written) if one was recorded already, whatever it says. A payment
    /// failed after commit owes, in the same transaction, one `item_failed_after_commit`
    /// notification per route of its run that wants that event.
    ///
    /// # Errors
    /// [`StoreError::StepNotFound`] unless the item exists and succeeded.
    async fn record_settlement(&self, settlement: &NewSettlement) -> Result<bool, StoreError>;

    /// Every settlement of a run, in plan order.
    async fn load_settlements(&self, run_id: &RunId) -> Result<Vec<SettlementRecord>, StoreError>;

    /// The payments failed after commit, across runs, oldest first, at most `limit`: the
    /// operator cases the console lists, in one query.
    async fn failed_after_commit(&self, limit: u32) -> Result<Vec<SettlementRecord>, StoreError>;

    /// The succeeded rows whose recorded provider object id is `provider_ref` and whose
    /// final state is not recorded yet, in any run: the payments a provider's webhook about
    /// that object may settle. Ids are only unique per provider, so the caller checks each
    /// row's provider block.
    async fn unsettled_by_ref(&self, provider_ref: &str) -> Result<Vec<StepKey>, StoreError>;
}

/// What scheduled reconciliation found wrong, as operator cases (see
/// [`discrepancy`](super::discrepancy)).
#[async_trait::async_trait]
pub trait DiscrepancyStore: Send + Sync {
    /// Records a discrepancy unless the same one is open already: `true` if this call
    /// recorded it, `false` (nothing written) otherwise. A newly recorded one owes, in the
    /// same transaction, one `reconcile_mismatch` notification per route of its run that
    /// wants that event.
    ///
    /// # Errors
    /// A store failure, the run being gone (pruned) among them.
    async fn record_discrepancy(&self, discrepancy: &NewDiscrepancy) -> Result<bool, StoreError>;

    /// Clears the open discrepancies of payment `key` that a match clears (all but
    /// `unknown_to_sluice`): reconciliation found it matched. Returns how many it cleared.
    async fn clear_discrepancies(&self, key: &StepKey) -> Result<u64, StoreError>;

    /// Every discrepancy of a run, open and cleared, oldest first.
    async fn load_discrepancies(
        &self,
        run_id: &RunId,
    ) -> Result<Vec<DiscrepancyRecord>, StoreError>;

    /// The open discrepancies across runs, oldest first, at most `limit`: the operator cases
    /// the console lists, in one query.
    async fn open_discrepancies(&self, limit: u32) -> Result<Vec<DiscrepancyRecord>, StoreError>;

    /// Dismisses one open discrepancy of `dismissal.run_id`: it is cleared and the decision
    /// recorded as a `dismiss_discrepancy` operator action (who, why, the payment and the
    /// provider object) in the same transaction, returned. The same disagreement found again
    /// later is not recorded again.
    ///
    /// # Errors
    /// [`StoreError::InvalidAction`] without a reason; [`StoreError::DiscrepancyNotOpen`]
    /// when the run has no such discrepancy open (unknown, cleared or dismissed already:
    /// nothing is written).
    async fn dismiss_discrepancy(
        &self,
        dismissal: &Dismissal,
    ) -> Result<OperatorRecord, StoreError>;
}

/// The whole store, as the engine holds it (`Arc<dyn Store>`). Implemented by every type that
/// implements the narrow traits.
pub trait Store:
    RunStore
    + StepStore
    + EventStore
    + OperatorStore
    + ScheduleStore
    + WorkerStore
    + ClaimStore
    + NotificationStore
    + SettlementStore
    + DiscrepancyStore
{
}

impl<T> Store for T where
    T: RunStore
        + StepStore
        + EventStore
        + OperatorStore
        + ScheduleStore
        + WorkerStore
        + ClaimStore
        + NotificationStore
        + SettlementStore
        + DiscrepancyStore
{
}
