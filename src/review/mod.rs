//! Dry-run plans for review (README, *Plans*): every step in execution order, every
//! `for_each` item, the exact requests each adapter would send (credentials masked),
//! values only known after apply marked as such, totals, warnings, and a plan hash that
//! `run --plan` checks before it executes exactly the reviewed plan.
//!
//! [`build`] makes a [`DryRun`] from a compiled workflow, its inputs and the adapters'
//! [`Preview`] views (which cannot send anything); `render_*` turn it into text, Markdown
//! or JSON; [`verify::differences`] says why a plan no longer matches; [`diff`] compares
//! two plans. Running a plan is the engine's; reading files is the command line's.

pub mod adapters;
pub mod amounts;
pub mod build;
pub mod cards;
pub mod describe;
pub mod diff;
pub mod hash;
pub mod json;
pub mod model;
pub mod notify;
pub mod policy;
pub mod recorded;
pub mod render_diff;
pub mod render_markdown;
pub mod render_text;
pub mod style;
#[cfg(test)]
mod testing;
pub mod totals;
pub mod undo;
pub mod unknown;
pub mod verify;
pub mod warnings;

pub use adapters::{AdapterError, PlanAdapters, Preview};
pub use build::{Source, build};
pub use diff::{PlanDiff, diff};
pub use json::{PlanFileError, from_json, to_json, write_json};
pub use model::{DryRun, KNOWN_AFTER_APPLY};
pub use render_diff::{render_diff_markdown, render_diff_text};
pub use render_markdown::render_markdown;
pub use render_text::render_text;
pub use style::Style;
pub use warnings::{Checks, Threshold};
