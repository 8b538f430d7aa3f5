//! From a loaded workflow to a validated DAG of steps: semantic checks that collect every
//! problem at once, the dependency graph, and its drawings. Also what a run derives from the
//! workflow and its inputs alone, before any provider is called (hashes, `for_each` lists,
//! template contexts, retry and await policies), so that the engine and the plan review
//! derive them identically.

pub mod await_spec;
pub mod checks;
pub mod compile;
pub mod context;
pub mod dag;
pub mod fingerprint;
pub mod for_each;
pub mod graph;
pub mod inputs;
pub mod render;
pub mod retry;

pub use compile::{CompiledStep, CompiledUndo, CompiledWorkflow, compile};
pub use dag::Dag;
