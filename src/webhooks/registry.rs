//! The provider blocks a receiver verifies webhooks for, by the name the workflow gives
//! them (`/webhooks/ws` → the `ws` block).
//!
//! `sluice run` registers its workflow's blocks; `sluice serve` registers those of every
//! workflow it loads and of every live run it sees, so the set grows while it runs. Two
//! workflows may declare a block under the same name (often the same account): a delivery
//! is accepted when any of them verifies it, and that one parses it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use crate::providers::{Provider, answer_redactions};
use crate::sensitive::FieldPaths;
use crate::spec::ProviderConfig;

/// An adapter registered under a name, with the fields of its events that are stored
/// redacted (those of its block's answers: README, *Sensitive data*).
#[derive(Debug, Clone)]
pub struct Registered {
    /// The adapter, which verifies and parses the deliveries.
    pub provider: Arc<dyn Provider>,
    /// What its stored events leave out.
    pub redact: FieldPaths,
}

/// The adapters registered under each name.
type ByName = BTreeMap<String, Vec<Registered>>;

/// Adapters by provider block name. Cheap to clone; clones share the set.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    by_name: Arc<RwLock<ByName>>,
}

impl Providers {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every adapter of `providers` (a workflow's blocks, as built for a run, and the
    /// blocks themselves, for their `redact` lists); an adapter already registered is not
    /// added twice.
    pub fn add_all(
        &self,
        providers: &HashMap<String, Arc<dyn Provider>>,
        blocks: &BTreeMap<String, ProviderConfig>,
    ) {
        // Poisoning cannot leave the map half-written: each push is one operation.
        let mut by_name = self.by_name.write().unwrap_or_else(|e| e.into_inner());
        for (name, provider) in providers {
            let list = by_name.entry(name.clone()).or_default();
            if !list.iter().any(|r| Arc::ptr_eq(&r.provider, provider)) {
                let own = blocks.get(name).map_or(&[][..], |b| &b.redact[..]);
                list.push(Registered {
                    provider: provider.clone(),
                    redact: answer_redactions(provider.kind(), own),
                });
            }
        }
    }

    /// The adapters registered under `name` (none: the name is unknown).
    pub fn get(&self, name: &str) -> Vec<Registered> {
        let by_name = self.by_name.read().unwrap_or_else(|e| e.into_inner());
        by_name.get(name).cloned().unwrap_or_default()
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> Vec<String> {
        let by_name = self.by_name.read().unwrap_or_else(|e| e.into_inner());
        by_name.keys().cloned().collect()
    }
}
