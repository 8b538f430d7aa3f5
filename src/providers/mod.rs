//! Payment-provider adapters and what they can do (DESIGN.md §3).

mod capabilities;
mod kind;

pub use capabilities::{capabilities, extra_required, supports};
pub use kind::ProviderKind;
