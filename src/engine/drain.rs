//! Draining: how a worker that is stopping hands its runs back without abandoning anything
//! in the middle of the write protocol.
//!
//! Once [`Drain::start`] is called, no new request is dispatched (the writer refuses every
//! `dispatching` checkpoint, so nothing more leaves the process), while items already
//! dispatched finish: their answers are recorded as usual. Each run then stops at a
//! checkpoint and releases its lease, and another worker continues it at once instead of
//! waiting for the lease to expire, with nothing in doubt to look up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the engine is draining. Cheap to clone; clones share the switch.
#[derive(Debug, Clone, Default)]
pub struct Drain(Arc<AtomicBool>);

impl Drain {
    /// A switch that is off.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops dispatching; cannot be undone.
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`start`](Self::start) was called.
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
