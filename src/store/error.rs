//! [`StoreError`]: everything the checkpoint store can refuse or fail with.
//!
//! Opening problems (not a database, someone else's database, a newer schema, a read-only file)
//! and protocol refusals (a lease held by another process, a transition the step's state does
//! not allow, a re-dispatch with a different request) are typed variants, so the engine and the
//! CLI can react to them without parsing messages.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::step::{StepKey, StepState};
use crate::ids::{RunId, StepId};

/// An error from the checkpoint store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but is not a SQLite database. It was not modified.
    #[error("`{}` is not a sluice database (not a SQLite file); it was left untouched", path.display())]
    NotADatabase {
        /// The file that was opened.
        path: PathBuf,
    },

    /// The file is a SQLite database that belongs to something else. It was not modified.
    #[error(
        "`{}` is a SQLite database of another application (tables: {}); it was left untouched",
        path.display(),
        list_text(tables)
    )]
    ForeignDatabase {
        /// The file that was opened.
        path: PathBuf,
        /// A few of the tables found in it, to help recognise the file.
        tables: Vec<String>,
    },

    /// The database was written by a newer sluice, whose schema this build does not know.
    #[error(
        "`{}` has schema version {found}, newer than the {supported} this sluice supports; upgrade sluice",
        path.display()
    )]
    NewerSchema {
        /// The file that was opened.
        path: PathBuf,
        /// The newest schema version recorded in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },

    /// The database was opened read-only but its schema is older than this build's, and
    /// bringing it up to date would mean writing to it.
    #[error(
        "`{}` has schema version {found} but this sluice needs {expected}; open it writable once to migrate",
        path.display()
    )]
    OutdatedSchema {
        /// The file that was opened.
        path: PathBuf,
        /// The newest schema version recorded in the file.
        found: i64,
        /// The schema version this build needs.
        expected: i64,
    },

    /// The database (or its directory) cannot be written.
    #[error("`{}` is read-only; sluice needs to write its checkpoints there", path.display())]
    ReadOnly {
        /// The file that was opened.
        path: PathBuf,
    },

    /// The disk holding the database is full: nothing of the refused transaction was kept.
    #[error(
        "the disk holding `{}` is full; nothing of the refused write was kept. Free some space, then `sluice resume` continues the run",
        path.display()
    )]
    Full {
        /// The database.
        path: PathBuf,
    },

    /// A read-only open of a database file that does not exist.
    #[error("no sluice database at `{}`", path.display())]
    Missing {
        /// The file that was looked for.
        path: PathBuf,
    },

    /// The database file or its directory could not be created or inspected.
    #[error("cannot use `{}`", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// SQLite refused to open the file.
    #[error("cannot open the database `{}`", path.display())]
    Open {
        /// The file that was opened.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },

    /// Bringing the schema up to date failed.
    #[error("cannot migrate the database `{}`", path.display())]
    Migrate {
        /// The file that was opened.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// The run is leased by another process.
    #[error("run `{run_id}` is held by `{owner}` until {expires_at}")]
    Leased {
        /// The run asked for.
        run_id: RunId,
        /// Who holds it.
        owner: String,
        /// When that lease runs out unless renewed.
        expires_at: DateTime<Utc>,
    },

    /// The caller's lease on a run has expired or was taken over; it must stop working on the run.
    #[error("lease on run `{run_id}` by `{owner}` is no longer held{}", holder_text(.holder))]
    LeaseLost {
        /// The run concerned.
        run_id: RunId,
        /// The owner named in the caller's lease.
        owner: String,
        /// Who holds the run now, if anyone.
        holder: Option<String>,
    },

    /// A batch written under a run's lease names a step of another run.
    #[error(
        "step `{}`{} of run `{}` is not part of run `{run_id}`, whose lease the batch is written under",
        key.step_id, item_text(&key.item_key), key.run_id
    )]
    OutsideLease {
        /// The step of the other run.
        key: StepKey,
        /// The lease's run.
        run_id: RunId,
    },

    /// The writer's claim on a shared step's item is gone (expired, or another worker took
    /// the item), or it never claimed it: it must stop working on the item.
    #[error(
        "step `{}`{} of run `{}` is not claimed by `{owner}`{}",
        key.step_id, item_text(&key.item_key), key.run_id, claimer_text(.holder)
    )]
    ClaimLost {
        /// The item.
        key: StepKey,
        /// The writer.
        owner: String,
        /// Who claims it now, if anyone.
        holder: Option<String>,
    },

    /// No run has this id.
    #[error("no run `{run_id}`")]
    RunNotFound {
        /// The run asked for.
        run_id: RunId,
    },

    /// A run with this id already exists.
    #[error("run `{run_id}` already exists")]
    RunExists {
        /// The id asked for.
        run_id: RunId,
    },

    /// Two steps of a new run have the same step id and item key.
    #[error("run `{}` lists step `{}`{} twice", key.run_id, key.step_id, item_text(&key.item_key))]
    DuplicateStep {
        /// The repeated key.
        key: StepKey,
    },

    /// No event has this id.
    #[error("no event `{id}`")]
    EventNotFound {
        /// The id asked for.
        id: i64,
    },

    /// The run has no such step or item.
    #[error("run `{}` has no step `{}`{}", key.run_id, key.step_id, item_text(&key.item_key))]
    StepNotFound {
        /// The step asked for.
        key: StepKey,
    },

    /// The step is not in a state that allows this change; nothing in the batch was written.
    #[error(
        "step `{}`{} of run `{}` is `{from}`, which cannot become `{to}`",
        key.step_id, item_text(&key.item_key), key.run_id
    )]
    InvalidTransition {
        /// The step concerned.
        key: StepKey,
        /// Its current state.
        from: StepState,
        /// The state that was asked for.
        to: StepState,
    },

    /// A step that may already have reached the provider was dispatched again with a different
    /// request or idempotency key; nothing in the batch was written.
    #[error(
        "step `{}`{} of run `{}` was already sent with a different request (changed: {}); refusing to send it again",
        key.step_id, item_text(&key.item_key), key.run_id, differences.join(", ")
    )]
    RequestChanged {
        /// The step concerned.
        key: StepKey,
        /// The fields that differ (see [`request_diff`](crate::digest::request_diff)).
        differences: Vec<String>,
    },

    /// An operator action that is missing something it needs (e.g. `approve` without a step).
    #[error("operator action `{action}` on run `{run_id}` is incomplete: {problem}")]
    InvalidAction {
        /// The run concerned.
        run_id: RunId,
        /// The action's name.
        action: &'static str,
        /// What is missing.
        problem: &'static str,
    },

    /// A dismissal of a discrepancy the run has not open: unknown, or already cleared by a
    /// match or dismissed; nothing was written.
    #[error(
        "run `{run_id}` has no open discrepancy {id} (unknown, or already cleared or dismissed)"
    )]
    DiscrepancyNotOpen {
        /// The run named.
        run_id: RunId,
        /// The discrepancy named.
        id: i64,
    },

    /// An approval its step's policy does not count (self-approval, not an approver, twice);
    /// nothing was recorded.
    #[error("approval of step `{step_id}` of run `{run_id}` refused: {refusal}")]
    ApprovalRefused {
        /// The run concerned.
        run_id: RunId,
        /// The approval step.
        step_id: StepId,
        /// Why.
        #[source]
        refusal: crate::approval::Refusal,
    },

    /// A value read from the database does not parse; the file was edited by hand or damaged.
    #[error("unexpected value `{value}` in column `{column}`")]
    Corrupt {
        /// The column read.
        column: &'static str,
        /// The value found.
        value: String,
    },

    /// JSON stored or about to be stored could not be converted.
    #[error("invalid JSON in column `{column}`")]
    Json {
        /// The column concerned.
        column: &'static str,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },

    /// Any other database error.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(source: sqlx::Error) -> Self {
        StoreError::Database(source)
    }
}

fn holder_text(holder: &Option<String>) -> String {
    match holder {
        Some(holder) => format!(" (now held by `{holder}`)"),
        None => String::new(),
    }
}

fn claimer_text(holder: &Option<String>) -> String {
    match holder {
        Some(holder) => format!(" (claimed by `{holder}`)"),
        None => String::new(),
    }
}

fn list_text(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn item_text(item_key: &str) -> String {
    if item_key.is_empty() {
        String::new()
    } else {
        format!(" item `{item_key}`")
    }
}
