//! From a loaded workflow to a validated DAG of steps: semantic checks that collect every
//! problem at once, the dependency graph, and its drawings.

pub mod checks;
pub mod compile;
pub mod dag;
pub mod graph;
pub mod inputs;
pub mod review;

pub use compile::{CompiledStep, CompiledWorkflow, compile};
pub use dag::Dag;
