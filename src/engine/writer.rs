//! Group commit: one task owns checkpoint writes and commits whatever has queued up in one
//! transaction per kind, then tells each waiter its write is durable.
//!
//! A batch of items in flight produces dispatches and results at the same moment; committing
//! them together costs one fsync instead of one per item, and no write is acknowledged (so
//! no request is sent) before it is durable. DESIGN.md §4 keeps its order per item: an item
//! waits for its dispatch's acknowledgement before it sends.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

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
}

/// The most writes committed together.
const MAX_BATCH: usize = 512;

impl Writer {
    /// Starts the writer task for `lease`'s run.
    pub fn start(store: Arc<dyn Store>, lease: Lease) -> Writer {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, lease, rx));
        Writer { tx }
    }

    /// Queues `write` and waits until it is durable.
    ///
    /// # Errors
    /// The store's error (e.g. a lost lease on dispatch), or [`WriteError::Stopped`].
    pub async fn write(&self, write: Write) -> Result<(), WriteError> {
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
    let mut groups: [Vec<Queued>; 7] = Default::default();
    for q in batch {
        let slot = match q.write {
            Write::Dispatch(_) => 0,
            Write::Checkpoint(_) => 1,
            Write::Result(_) => 2,
            Write::Retry(_) => 3,
            Write::Skip(_) => 4,
            Write::Wait(_) => 5,
            Write::Attention(_) => 6,
        };
        groups[slot].push(q);
    }
    for group in groups.into_iter().filter(|g| !g.is_empty()) {
        let writes: Vec<&Write> = group.iter().map(|q| &q.write).collect();
        match apply(store, lease, &writes).await {
            Ok(()) => {
                for q in group {
                    let _ = q.done.send(Ok(()));
                }
            }
            Err(_) if group.len() > 1 => {
                for q in group {
                    let result = apply(store, lease, &[&q.write]).await.map_err(Arc::new);
                    let _ = q.done.send(result);
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for q in group {
                    let _ = q.done.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Applies writes that are all of one kind in one transaction.
async fn apply(store: &dyn Store, lease: &Lease, writes: &[&Write]) -> Result<(), StoreError> {
    macro_rules! collect {
        ($variant:ident) => {
            writes
                .iter()
                .filter_map(|w| match w {
                    Write::$variant(x) => Some(x.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
    }
    match writes.first() {
        None => Ok(()),
        Some(Write::Dispatch(_)) => store.mark_dispatching(lease, &collect!(Dispatch)).await,
        Some(Write::Checkpoint(_)) => store.record_checkpoints(&collect!(Checkpoint)).await,
        Some(Write::Result(_)) => store.record_results(&collect!(Result)).await,
        Some(Write::Retry(_)) => store.record_retries(&collect!(Retry)).await,
        Some(Write::Skip(_)) => store.mark_skipped(&collect!(Skip)).await,
        Some(Write::Wait(_)) => store.mark_waiting(&collect!(Wait)).await,
        Some(Write::Attention(_)) => store.mark_needs_attention(&collect!(Attention)).await,
    }
}
