//! In-process wake-ups: the webhook receiver, when it runs in the same process as the run,
//! tells the waiting await at once instead of letting it find out at its next store check.
//!
//! The store stays the source of truth: a wake-up only makes the await look at its row and
//! the stored events now. Awaits in another process see the same row change on their next
//! check, so nothing depends on a wake-up being delivered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::store::StepKey;

/// Awaits of this process by step, for the receiver to wake. Cheap to clone; clones share
/// the registry.
#[derive(Debug, Clone, Default)]
pub struct Wakeups {
    waiting: Arc<Mutex<HashMap<StepKey, Arc<Notify>>>>,
}

/// An await's registration; dropping it unregisters.
#[derive(Debug)]
pub struct Waker {
    key: StepKey,
    notify: Arc<Notify>,
    wakeups: Wakeups,
}

impl Wakeups {
    /// A registry with nobody waiting.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<StepKey, Arc<Notify>>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the await of `key`.
    pub fn register(&self, key: &StepKey) -> Waker {
        let notify = Arc::new(Notify::new());
        self.lock().insert(key.clone(), notify.clone());
        Waker {
            key: key.clone(),
            notify,
            wakeups: self.clone(),
        }
    }

    /// Wakes the await of `key`; `false` if no await of this process waits for it (then
    /// whoever runs the step finds the stored wake-up on its own).
    pub fn wake(&self, key: &StepKey) -> bool {
        match self.lock().get(key) {
            Some(notify) => {
                notify.notify_one();
                true
            }
            None => false,
        }
    }

    /// Wakes every await of this process: an event was stored that no waiting step fitted,
    /// and an await that started a moment ago may want it.
    pub fn wake_all(&self) {
        for notify in self.lock().values() {
            notify.notify_one();
        }
    }
}

impl Waker {
    /// Returns when woken; a wake-up that came while nobody listened is kept for the next
    /// call.
    pub async fn woken(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        let mut waiting = self.wakeups.lock();
        if waiting
            .get(&self.key)
            .is_some_and(|n| Arc::ptr_eq(n, &self.notify))
        {
            waiting.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_wake_reaches_the_registered_await_even_before_it_listens() {
        let wakeups = Wakeups::new();
        let key = StepKey::step("run_1", "paid");
        assert!(!wakeups.wake(&key), "nobody waits yet");
        let waker = wakeups.register(&key);
        assert!(wakeups.wake(&key));
        tokio::time::timeout(Duration::from_millis(100), waker.woken())
            .await
            .expect("the stored wake-up is delivered");
        wakeups.wake_all();
        tokio::time::timeout(Duration::from_millis(100), waker.woken())
            .await
            .expect("wake_all reaches it");
        assert!(
            tokio::time::timeout(Duration::from_millis(20), waker.woken())
                .await
                .is_err(),
            "one wake-up, one return"
        );
        drop(waker);
        assert!(!wakeups.wake(&key), "dropping unregisters");
    }
}
