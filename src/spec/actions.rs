//! The actions a step can `use`, as the workflow language names them.
//!
//! They are defined once, in [`crate::catalog`], with the fields each provider accepts;
//! this module keeps the language's name for them so code that reads a step's action does
//! not need to know where the table lives.

pub use crate::catalog::{ACTIONS, ActionKind, ActionSpec, MoneyField, action};
