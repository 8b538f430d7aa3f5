//! Durable checkpoints of runs, steps, attempts, events, operator actions and schedule slots
//! (ARCHITECTURE.md, *Never twice*; README, *Webhooks* and *Scheduling*).
//!
//! The engine talks to the [`Store`] traits (see [`traits`] for the write protocol it must
//! follow). Two backends implement them with the same behaviour: [`sqlite`] on one SQLite
//! file (the embedded default), and [`postgres`] on a database many processes share.
//! [`open_store`] picks one from a `--db` value. The pure helpers in [`keys`] derive the
//! idempotency keys and run ids the protocol depends on ([`crate::digest`] the request
//! digests). This module owns
//! persistence only: when to dispatch, retry or reconcile is the engine's business.
//!
//! Every store operation is written once, in `core/` (runs, steps and their guarded
//! transitions, claims, events, operator actions, schedules, workers, row decoding), and
//! compiled twice: `sqlite` and `postgres` each include it as their own module `ops`
//! (`#[path = "../core/mod.rs"]`) over a small `dialect` module that supplies the connection
//! and row types, time encoding, row locks, notices, bulk step inserts and the few SQL fragments that
//! differ. We chose this over generics on `sqlx::Database` because the statements then stay
//! plain monomorphic code with no trait bounds on every bind and decode, and each backend
//! still reads as one concrete store. The state changes a step may make, from which every SQL
//! guard is made, are one table in [`transition`].
//!
//! The behaviour both backends share is tested once, in `conformance`, and run against each.

pub mod amount;
pub mod attempt;
pub mod batch;
pub mod claim;
pub mod class;
pub mod clock;
pub mod discrepancy;
pub mod error;
pub mod event;
pub mod keys;
pub mod notice;
pub mod notification;
mod open;
pub mod operator;
// The backends compile the same shared modules (`core/`), each over its own dialect.
#[allow(clippy::duplicate_mod)]
pub mod postgres;
pub mod retention;
pub mod run;
pub mod schedule;
pub mod settlement;
#[allow(clippy::duplicate_mod)]
pub mod sqlite;
pub mod step;
pub mod traits;
pub mod transition;
pub mod worker;

#[cfg(test)]
mod conformance;

pub use amount::RequestAmount;
pub use attempt::{AttemptOperation, AttemptOutcome, AttemptRecord, NewAttempt};
pub use batch::WriteBatch;
pub use claim::{ClaimRole, ClaimSummary, ItemClaim, SharedStep};
pub use class::ErrorClass;
pub use clock::{Clock, ManualClock, SystemClock};
pub use discrepancy::{
    DiscrepancyKind, DiscrepancyRecord, Dismissal, NewDiscrepancy, RECONCILE_MISMATCH_EVENT,
};
pub use error::StoreError;
pub use event::{EventFilter, EventInsert, EventRecord, NewEvent};
pub use keys::{idempotency_key, new_run_id};
pub use notice::StoreNotice;
pub use notification::{Delivery, DeliveryState, NotificationRecord, NotifyRoute};
pub use open::{SchemaVersions, display_location, is_postgres_url, migrate_store, open_store};
pub use operator::{ActionKind, OperatorAction, OperatorRecord};
pub use postgres::{PostgresConfig, PostgresStore};
pub use retention::{Prune, Pruned};
pub use run::{Claim, Lease, LeaseScope, NewLease, NewRun, RunFilter, RunRecord, RunStatus};
pub use schedule::{MissedSlots, SCHEDULE_MISSED_EVENT, SlotRecord, SlotState};
pub use settlement::{FAILED_AFTER_COMMIT_EVENT, NewSettlement, Settlement, SettlementRecord};
pub use sqlite::{Access, DEFAULT_DB_PATH, Durability, SqliteConfig, SqliteStore};
pub use step::{
    AssetTotal, Attention, Checkpoint, Dispatch, NewStep, Outcome, RetryLater, Skip, StepCount,
    StepError, StepKey, StepPage, StepRecord, StepResult, StepState, Waiting,
};
pub use traits::{
    ClaimStore, DiscrepancyStore, EventStore, NotificationStore, OperatorStore, RunStore,
    ScheduleStore, SettlementStore, StepStore, Store, WorkerStore,
};
pub use worker::{WorkerInfo, WorkerRecord};
