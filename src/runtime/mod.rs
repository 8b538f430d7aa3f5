//! Long-running processes built from the engine: the `sluice serve` composition ([`serve`])
//! of a webhook receiver, a [`worker`] that claims and continues runs, and the scheduler; and
//! the runs an operator resumes from the console (`resume`), continued the same way.
//!
//! A layer of its own, above [`engine`](crate::engine), [`webhooks`](crate::webhooks) and
//! [`scheduler`](crate::scheduler) and below [`cli`](crate::cli): serving composes all three,
//! and the webhook receiver and the scheduler depend on the engine themselves, so this code
//! cannot live inside the engine without a cycle. The CLI keeps what is about the command:
//! flags, loading files with printed diagnostics, signals, and exit codes.

#[cfg(feature = "console")]
pub mod resume;
pub mod retention;
pub mod serve;
pub mod settlement;
pub mod worker;
pub mod workflows;

pub use serve::{Server, identity};
pub use worker::WorkerSettings;
pub use workflows::{Adapters, Loader, Workflows};
