//! sluice — a declarative workflow and batch engine for payment operations.
//!
//! A YAML workflow is loaded and validated by [`spec`], its templates are rendered by
//! [`template`] with exact decimal money from [`money`], and [`plan`] turns it into a DAG.
//! The actions and the fields each provider accepts are one table, [`catalog`]; provider
//! adapters live in [`providers`]; [`sandbox`] emulates the four providers locally;
//! [`webhooks`] receives their events. Runs, steps and items are named by the types in [`ids`].
//! [`settlement`] reports a run's payments and reconciles them with the providers' records.
//! [`runtime`] composes the engine into the long-running `sluice serve`, with the operator
//! console ([`console`], behind the default `console` feature); the binary's
//! commands live in [`cli`].
#![warn(missing_docs)]

pub mod approval;
pub mod catalog;
pub mod cli;
#[cfg(feature = "console")]
pub mod console;
pub mod digest;
pub mod engine;
pub mod ids;
pub mod memory;
pub mod money;
pub mod notify;
pub mod plan;
pub mod providers;
pub mod review;
pub mod runtime;
pub mod sandbox;
pub mod scheduler;
pub mod sensitive;
pub mod settlement;
pub mod signing;
pub mod spec;
pub mod store;
pub mod template;
pub mod webhooks;
