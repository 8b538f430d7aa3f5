//! Group commit: one task owns checkpoint writes and commits whatever has queued up in one
//! transaction ([`StepStore::commit_batch`](crate::store::StepStore::commit_batch)), then
//! tells each waiter its write is durable.
//!
//! A batch of items in flight produces dispatches, checkpoints and results at the same moment;
//! committing them together costs one transaction and one fsync instead of one per item (or
//! per kind of write), and no write is acknowledged (so no request is sent) before it is
//! durable. The write protocol (ARCHITECTURE.md, *Never twice*) keeps its order per item: an item waits for its dispatch's
//! acknowledgement before it sends.
//!
//! An item that has its answer and gave its place to the next item records its result with
//! [`Writer::write_with_next`]: the writer holds such results for up to [`LINGER`] until
//! another write arrives, so with one item in flight the result of item N and the dispatch
//! of item N+1 share one commit and one fsync. Nothing else changes: the dispatch is still
//! durable before its request leaves, and a result that is not yet durable when the process
//! dies leaves its item `dispatching`, in doubt and looked up on resume, as it always did.
//!
//! One bad write (a step in a state it may not leave, a changed request) refuses the whole
//! transaction; the writer then halves the group and commits the halves on their own, down to
//! the single write, so only the bad write fails and every other one commits and is
//! acknowledged (O(log n) extra transactions per bad write). A lost lease refuses every
//! part alike, so it fails the whole group at once.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::drain::Drain;
use crate::store::{
    Attention, Checkpoint, Dispatch, Lease, Outcome, RetryLater, Skip, StepKey, StepResult, Store,
    StoreError, Waiting, WriteBatch,
};

/// One checkpoint write.
#[derive(Debug, Clone)]
pub enum Write {
    /// `pending → dispatching`: must be durable before the request leaves.
    Dispatch(Dispatch),
    /// A two-phase checkpoint: durable before the second phase is sent.
    Checkpoint(Checkpoint),
    /// A final result.
    Result(StepResult),
    /// A retryable failure: back to pending.
    Retry(RetryLater),
    /// Skipped, with the reason.
    Skip(Skip),
    /// Waiting for an event, a poll or an operator.
    Wait(Waiting),
    /// Needs an operator.
    Attention(Attention),
}

type Done = oneshot::Sender<Result<(), Arc<StoreError>>>;

struct Queued {
    write: Write,
    done: Done,
    /// May wait up to [`LINGER`] for another write to share its commit.
    lingers: bool,
}

/// The handle steps write through; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::UnboundedSender<Queued>,
    drain: Drain,
}

/// Why a write failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// The writer stopped (the run is shutting down).
    #[error("the checkpoint writer stopped")]
    Stopped,
    /// The engine is draining: nothing new is dispatched.
    #[error("this worker is stopping and dispatches nothing new")]
    Draining,
}

/// The most writes committed together.
const MAX_BATCH: usize = 512;

/// How long results queued by [`Writer::write_with_next`] wait for a write to share their
/// commit: long enough for the next item to render and dispatch (tens of microseconds), short
/// enough that a step's last result barely notices.
pub const LINGER: std::time::Duration = std::time::Duration::from_millis(1);

impl Writer {
    /// Starts the writer task for `lease`'s run; once `drain` is on, it refuses dispatches.
    pub fn start(store: Arc<dyn Store>, lease: Lease, drain: Drain) -> Writer {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, lease, rx));
        Writer { tx, drain }
    }

    /// Whether the engine is draining: nothing new may be dispatched.
    pub fn is_draining(&self) -> bool {
        self.drain.is_draining()
    }

    /// Records a step row's final `outcome` (no provider attempt) and waits until it is
    /// durable.
    ///
    /// # Errors
    /// As [`write`](Self::write).
    pub async fn result(&self, key: StepKey, outcome: Outcome) -> Result<(), WriteError> {
        self.write(Write::Result(StepResult {
            key,
            outcome,
            attempt: None,
        }))
        .await
    }

    /// Queues `write` and waits until it is durable.
    ///
    /// # Errors
    /// The store's error (e.g. a lost lease), [`WriteError::Stopped`], or
    /// [`WriteError::Draining`] for a dispatch once draining.
    pub async fn write(&self, write: Write) -> Result<(), WriteError> {
        self.queue(write, false).await
    }

    /// Like [`Writer::write`], for a result whose item already gave its place to the next:
    /// the writer holds it up to [`LINGER`] so that it shares the commit of the next write
    /// (usually the next item's dispatch) instead of paying an fsync of its own.
    ///
    /// # Errors
    /// As [`Writer::write`].
    pub async fn write_with_next(&self, write: Write) -> Result<(), WriteError> {
        self.queue(write, true).await
    }

    async fn queue(&self, write: Write, lingers: bool) -> Result<(), WriteError> {
        if matches!(write, Write::Dispatch(_)) && self.drain.is_draining() {
            return Err(WriteError::Draining);
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Queued {
                write,
                done,
                lingers,
            })
            .map_err(|_| WriteError::Stopped)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(WriteError::Store(e)),
            Err(_) => Err(WriteError::Stopped),
        }
    }
}

async fn run(store: Arc<dyn Store>, lease: Lease, mut rx: mpsc::UnboundedReceiver<Queued>) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut queued, MAX_BATCH).await > 0 {
        if queued.len() < MAX_BATCH && queued.iter().all(|q| q.lingers) {
            let room = MAX_BATCH - queued.len();
            // Nothing else arriving in time (or the channel closing) ends the wait alike.
            let _ = tokio::time::timeout(LINGER, rx.recv_many(&mut queued, room)).await;
        }
        commit(&*store, &lease, Part::new(queued.drain(..))).await;
    }
}

/// Commits `part` in one transaction; when that fails, halves it and commits each half on
/// its own, so that only the writes that fail alone are refused. Each waiter hears back only
/// once its write's transaction committed (or finally failed).
async fn commit(store: &dyn Store, lease: &Lease, part: Part) {
    let mut parts = vec![part];
    while let Some(part) = parts.pop() {
        match store.commit_batch(lease, &part.batch).await {
            Ok(()) => part.answer(&Ok(())),
            Err(e) if part.done.len() > 1 && !refuses_every_part(&e) => {
                let (first, second) = part.halves();
                parts.push(second);
                parts.push(first);
            }
            Err(e) => part.answer(&Err(Arc::new(e))),
        }
    }
}

/// Errors that are not about one write: any part of the group would be refused alike (and
/// a full disk's first refusal is the one to report, not what the connection says after it).
fn refuses_every_part(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::LeaseLost { .. }
            | StoreError::RunNotFound { .. }
            | StoreError::Full { .. }
            | StoreError::ReadOnly { .. }
    )
}

/// Writes committed together, with their waiters in the batch's order (kind by kind, in
/// `WriteBatch` order, then as queued).
struct Part {
    batch: WriteBatch,
    done: Vec<Done>,
}

impl Part {
    /// Moves (never copies) the queued writes into one batch.
    fn new(queued: impl Iterator<Item = Queued>) -> Part {
        let mut batch = WriteBatch::default();
        let mut done: [Vec<Done>; 7] = Default::default();
        for Queued { write, done: d, .. } in queued {
            done[kind(&write)].push(d);
            push(&mut batch, write);
        }
        Part {
            batch,
            done: done.into_iter().flatten().collect(),
        }
    }

    fn answer(self, result: &Result<(), Arc<StoreError>>) {
        for done in self.done {
            // A waiter that gave up (its run is stopping) needs no answer.
            let _ = done.send(result.clone());
        }
    }

    /// The first and second half of the writes, in order, with their waiters.
    fn halves(self) -> (Part, Part) {
        let Part { batch, mut done } = self;
        let mut writes = writes_of(batch);
        let second = writes.split_off(writes.len() / 2);
        let second_done = done.split_off(done.len() / 2);
        let rebuild = |writes: Vec<Write>, done: Vec<Done>| {
            let mut batch = WriteBatch::default();
            for write in writes {
                push(&mut batch, write);
            }
            Part { batch, done }
        };
        (rebuild(writes, done), rebuild(second, second_done))
    }
}

/// The position of `write`'s kind in [`WriteBatch`]'s order.
fn kind(write: &Write) -> usize {
    match write {
        Write::Dispatch(_) => 0,
        Write::Checkpoint(_) => 1,
        Write::Result(_) => 2,
        Write::Retry(_) => 3,
        Write::Skip(_) => 4,
        Write::Wait(_) => 5,
        Write::Attention(_) => 6,
    }
}

fn push(batch: &mut WriteBatch, write: Write) {
    match write {
        Write::Dispatch(x) => batch.dispatches.push(x),
        Write::Checkpoint(x) => batch.checkpoints.push(x),
        Write::Result(x) => batch.results.push(x),
        Write::Retry(x) => batch.retries.push(x),
        Write::Skip(x) => batch.skips.push(x),
        Write::Wait(x) => batch.waiting.push(x),
        Write::Attention(x) => batch.attention.push(x),
    }
}

/// The batch's writes in its order, moved out.
fn writes_of(batch: WriteBatch) -> Vec<Write> {
    let WriteBatch {
        dispatches,
        checkpoints,
        results,
        retries,
        skips,
        waiting,
        attention,
    } = batch;
    (dispatches.into_iter().map(Write::Dispatch))
        .chain(checkpoints.into_iter().map(Write::Checkpoint))
        .chain(results.into_iter().map(Write::Result))
        .chain(retries.into_iter().map(Write::Retry))
        .chain(skips.into_iter().map(Write::Skip))
        .chain(waiting.into_iter().map(Write::Wait))
        .chain(attention.into_iter().map(Write::Attention))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::{TimeDelta, Utc};
    use serde_json::json;

    use super::*;

    use crate::ids::RunId;
    use crate::store::{
        ManualClock, NewRun, NewStep, RunStore, SqliteConfig, SqliteStore, StepKey, StepState,
        StepStore,
    };

    /// A run `run_w` with a `pay` step over `items`, leased for a minute, on a store whose
    /// clock the test moves.
    async fn leased(
        dir: &tempfile::TempDir,
        items: &[&str],
    ) -> (Arc<SqliteStore>, Arc<ManualClock>, Lease) {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let config = SqliteConfig::new(dir.path().join("sluice.db")).clock(clock.clone());
        let store = Arc::new(SqliteStore::open(config).await.unwrap());
        let run = NewRun {
            id: "run_w".into(),
            workflow_name: "payroll".into(),
            workflow_path: "workflows/payroll.yaml".into(),
            workflow_hash: "h".into(),
            inputs_hash: "i".into(),
            inputs: json!({}),
            plan_hash: None,
            scheduled_for: None,
            started_by: "alice".into(),
            notify: Vec::new(),
            lease: None,
        };
        let steps: Vec<NewStep> = items.iter().map(|i| NewStep::item("pay", *i)).collect();
        store.create_run(&run, &steps).await.unwrap();
        let lease = store
            .acquire_lease(&RunId::from("run_w"), "engine", Duration::from_secs(60))
            .await
            .unwrap();
        (store, clock, lease)
    }

    fn dispatch(item: &str) -> Write {
        Write::Dispatch(Dispatch {
            step_id: "pay".into(),
            item_key: item.into(),
            idempotency_key: format!("sl_{item}"),
            request: json!({"amount": "1.00", "to": item}),
        })
    }

    fn skip(item: &str) -> Write {
        Write::Skip(Skip {
            key: StepKey::item("run_w", "pay", item),
            reason: "`if` is false".into(),
        })
    }

    /// Queues every write before the writer task runs again (the runtime has one thread and
    /// runs tasks in spawn order), so they share one group commit.
    async fn write_together(writer: &Writer, writes: Vec<Write>) -> Vec<Result<(), WriteError>> {
        let tasks: Vec<_> = writes
            .into_iter()
            .map(|w| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.write(w).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_bad_write_fails_alone_and_the_rest_of_its_group_commits() {
        let dir = tempfile::tempdir().unwrap();
        let items = ["e1", "e2", "e3", "e4", "e5", "e6", "e7"];
        let (store, _, lease) = leased(&dir, &items).await;
        let writer = Writer::start(store.clone(), lease, Drain::new());
        // e3 is skipped first, so its dispatch in the next group is refused; e404 does not
        // exist. Every other write of that group, dispatches and skips alike, commits.
        write_together(&writer, vec![skip("e3")]).await[0]
            .as_ref()
            .unwrap();
        let results = write_together(
            &writer,
            vec![
                dispatch("e1"),
                skip("e7"),
                dispatch("e2"),
                dispatch("e3"),
                dispatch("e404"),
                dispatch("e4"),
                skip("e6"),
                dispatch("e5"),
            ],
        )
        .await;
        let errors: Vec<Option<String>> = results
            .iter()
            .map(|r| r.as_ref().err().map(|e| e.to_string()))
            .collect();
        assert!(errors[0].is_none() && errors[1].is_none() && errors[2].is_none());
        assert!(
            errors[3]
                .as_deref()
                .unwrap()
                .contains("cannot become `dispatching`"),
            "{errors:?}"
        );
        assert!(
            errors[4]
                .as_deref()
                .unwrap()
                .contains("no step `pay` item `e404`"),
            "{errors:?}"
        );
        assert!(errors[5..].iter().all(Option::is_none), "{errors:?}");
        let states: Vec<(String, StepState, u32)> = store
            .load_steps(&RunId::from("run_w"))
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.key.item_key.into_string(), s.state, s.attempts))
            .collect();
        let expected = [
            ("e1", StepState::Dispatching, 1),
            ("e2", StepState::Dispatching, 1),
            ("e3", StepState::Skipped, 0),
            ("e4", StepState::Dispatching, 1),
            ("e5", StepState::Dispatching, 1),
            ("e6", StepState::Skipped, 0),
            ("e7", StepState::Skipped, 0),
        ]
        .map(|(i, s, n)| (i.to_owned(), s, n));
        assert_eq!(states, expected);
    }

    fn succeeded(item: &str) -> Write {
        Write::Result(StepResult {
            key: StepKey::item("run_w", "pay", item),
            outcome: crate::store::Outcome::Succeeded {
                output: json!({"id": item}),
                provider_ref: Some(format!("tr_{item}")),
            },
            attempt: None,
        })
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_result_waiting_for_the_next_write_commits_with_it_or_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _, lease) = leased(&dir, &["e1", "e2", "e3"]).await;
        let writer = Writer::start(store.clone(), lease, Drain::new());
        write_together(&writer, vec![dispatch("e1"), dispatch("e2")]).await;
        // e1's result lingers and e3's dispatch joins it; e2's result has nothing to wait
        // for and commits on its own once the wait is over.
        let joined = {
            let writer = writer.clone();
            tokio::spawn(async move { writer.write_with_next(succeeded("e1")).await })
        };
        write_together(&writer, vec![dispatch("e3")]).await[0]
            .as_ref()
            .unwrap();
        joined.await.unwrap().unwrap();
        writer.write_with_next(succeeded("e2")).await.unwrap();
        let states: Vec<StepState> = store
            .load_steps(&RunId::from("run_w"))
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.state)
            .collect();
        assert_eq!(
            states,
            [
                StepState::Succeeded,
                StepState::Succeeded,
                StepState::Dispatching
            ]
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_lost_lease_fails_the_whole_group_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (store, clock, lease) = leased(&dir, &["e1", "e2", "e3"]).await;
        let writer = Writer::start(store.clone(), lease, Drain::new());
        clock.advance(TimeDelta::seconds(61));
        let results =
            write_together(&writer, vec![dispatch("e1"), skip("e2"), dispatch("e3")]).await;
        for result in &results {
            assert!(
                matches!(result, Err(WriteError::Store(e)) if matches!(**e, StoreError::LeaseLost { .. })),
                "{result:?}"
            );
        }
        assert!(
            store
                .load_steps(&RunId::from("run_w"))
                .await
                .unwrap()
                .iter()
                .all(|s| s.state == StepState::Pending)
        );
    }
}
