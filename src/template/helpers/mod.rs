//! The helpers sluice templates call: exact decimal arithmetic and comparisons
//! ([`decimal`]), text and value helpers ([`text`]), strict `if`/`unless` ([`control`]),
//! the calling convention they share ([`args`]) and the table of names ([`registry`]).

mod args;
mod control;
mod decimal;
mod registry;
mod text;

pub(crate) use args::HelperError;
pub(crate) use registry::{is_known, names, register};
