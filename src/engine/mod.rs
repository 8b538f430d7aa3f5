//! Durable execution of a compiled workflow (DESIGN.md §4).

pub mod context;
pub mod retry;
