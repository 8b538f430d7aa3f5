//! An item's place among the requests in flight: the permits of its step's `max_parallel`
//! and of the run's `concurrency`, held from before its dispatch until its provider has
//! answered for good.
//!
//! The place is given up when the answer is in, before its result is durable: recording is
//! the checkpoint writer's work, not the provider's, and the next item's dispatch can then
//! share the result's commit (see [`Writer::write_with_next`](super::Writer::write_with_next)).

use std::sync::Mutex;

use tokio::sync::OwnedSemaphorePermit;

/// The permits one item holds while it is in flight.
pub struct Slot(Mutex<Option<[OwnedSemaphorePermit; 2]>>);

impl Slot {
    /// The place given by the step's permit and the run's.
    pub fn new(step: OwnedSemaphorePermit, run: OwnedSemaphorePermit) -> Slot {
        Slot(Mutex::new(Some([step, run])))
    }

    /// Gives the place to the next item; later calls do nothing.
    pub fn free(&self) {
        self.0.lock().expect("never poisoned").take();
    }
}
