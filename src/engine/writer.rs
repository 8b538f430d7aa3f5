//! Group commit: one task owns checkpoint writes and commits whatever has queued up in one
//! transaction per kind, then tells each waiter its write is durable.
//!
//! A batch of items in flight produces dispatches and results at the same moment; committing
//! them together costs one fsync instead of one per item, and no write is acknowledged (so
//! no request is sent) before it is durable. DESIGN.md §4 keeps its order per item: an item
//! waits for its dispatch's acknowledgement before it sends.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::drain::Drain;
use crate::store::{
    Attention, Checkpoint, Dispatch, Lease, RetryLater, Skip, StepResult, Store, StoreError,
    Waiting,
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

struct Queued {
    write: Write,
    done: oneshot::Sender<Result<(), Arc<StoreError>>>,
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

impl Writer {
    /// Starts the writer task for `lease`'s run; once `drain` is on, it refuses dispatches.
    pub fn start(store: Arc<dyn Store>, lease: Lease, drain: Drain) -> Writer {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, lease, rx));
        Writer { tx, drain }
    }

    /// Queues `write` and waits until it is durable.
    ///
    /// # Errors
    /// The store's error (e.g. a lost lease on dispatch), [`WriteError::Stopped`], or
    /// [`WriteError::Draining`] for a dispatch once draining.
    pub async fn write(&self, write: Write) -> Result<(), WriteError> {
        if matches!(write, Write::Dispatch(_)) && self.drain.is_draining() {
            return Err(WriteError::Draining);
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Queued { write, done })
            .map_err(|_| WriteError::Stopped)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(WriteError::Store(e)),
            Err(_) => Err(WriteError::Stopped),
        }
    }
}

async fn run(store: Arc<dyn Store>, lease: Lease, mut rx: mpsc::UnboundedReceiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit(&*store, &lease, std::mem::take(&mut batch)).await;
    }
}

/// Commits a batch, grouped by kind in protocol order. When a group's transaction fails
/// (one bad item refuses the whole group), its writes are retried one by one so that only
/// the bad one fails.
async fn commit(store: &dyn Store, lease: &Lease, batch: Vec<Queued>) {
    let mut groups: [Group; 7] = Default::default();
    for Queued { write, done } in batch {
        let slot = match write {
            Write::Dispatch(_) => 0,
            Write::Checkpoint(_) => 1,
            Write::Result(_) => 2,
            Write::Retry(_) => 3,
            Write::Skip(_) => 4,
            Write::Wait(_) => 5,
            Write::Attention(_) => 6,
        };
        groups[slot].push(write, done);
    }
    for group in groups.into_iter().filter(|g| !g.done.is_empty()) {
        group.apply(store, lease).await;
    }
}

/// The writes of one kind in a batch, moved (not copied) into the slice the store takes.
#[derive(Default)]
struct Group {
    writes: Writes,
    done: Vec<oneshot::Sender<Result<(), Arc<StoreError>>>>,
}

/// One kind of write, as the store's batch methods take them.
#[derive(Default)]
enum Writes {
    #[default]
    Empty,
    Dispatch(Vec<Dispatch>),
    Checkpoint(Vec<Checkpoint>),
    Result(Vec<StepResult>),
    Retry(Vec<RetryLater>),
    Skip(Vec<Skip>),
    Wait(Vec<Waiting>),
    Attention(Vec<Attention>),
}

impl Group {
    fn push(&mut self, write: Write, done: oneshot::Sender<Result<(), Arc<StoreError>>>) {
        macro_rules! push {
            ($variant:ident, $x:expr) => {
                match &mut self.writes {
                    Writes::$variant(v) => v.push($x),
                    w => *w = Writes::$variant(vec![$x]),
                }
            };
        }
        match write {
            Write::Dispatch(x) => push!(Dispatch, x),
            Write::Checkpoint(x) => push!(Checkpoint, x),
            Write::Result(x) => push!(Result, x),
            Write::Retry(x) => push!(Retry, x),
            Write::Skip(x) => push!(Skip, x),
            Write::Wait(x) => push!(Wait, x),
            Write::Attention(x) => push!(Attention, x),
        }
        self.done.push(done);
    }

    async fn apply(self, store: &dyn Store, lease: &Lease) {
        let n = self.done.len();
        match self.writes.apply(store, lease, 0..n).await {
            Ok(()) => {
                for done in self.done {
                    let _ = done.send(Ok(()));
                }
            }
            Err(_) if n > 1 => {
                for (i, done) in self.done.into_iter().enumerate() {
                    let result = self.writes.apply(store, lease, i..i + 1).await;
                    let _ = done.send(result.map_err(Arc::new));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for done in self.done {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
    }
}

impl Writes {
    /// Applies the writes in `range` in one transaction.
    async fn apply(
        &self,
        store: &dyn Store,
        lease: &Lease,
        range: std::ops::Range<usize>,
    ) -> Result<(), StoreError> {
        match self {
            Writes::Empty => Ok(()),
            Writes::Dispatch(v) => store.mark_dispatching(lease, &v[range]).await,
            Writes::Checkpoint(v) => store.record_checkpoints(&v[range]).await,
            Writes::Result(v) => store.record_results(&v[range]).await,
            Writes::Retry(v) => store.record_retries(&v[range]).await,
            Writes::Skip(v) => store.mark_skipped(&v[range]).await,
            Writes::Wait(v) => store.mark_waiting(&v[range]).await,
            Writes::Attention(v) => store.mark_needs_attention(&v[range]).await,
        }
    }
}
