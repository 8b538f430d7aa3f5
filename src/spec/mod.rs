//! The workflow language: the serde model of a workflow file, loading with source spans,
//! `${VAR}` resolution in provider blocks, and semantic validation (DESIGN.md §2).

pub mod actions;
pub mod duration;
pub mod env;
pub mod model;
pub mod secret;

pub use duration::HumanDuration;
pub use model::*;
pub use secret::Secret;
