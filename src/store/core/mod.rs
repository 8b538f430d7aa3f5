//! Every store operation, written once: both backends include this module (`#[path]`) and
//! compile it over their own `dialect`, which the files here reach as `super::dialect`.

use super::dialect;

pub(in crate::store) mod claims;
pub(in crate::store) mod codec;
pub(in crate::store) mod discrepancies;
pub(in crate::store) mod events;
pub(in crate::store) mod notifications;
pub(in crate::store) mod operator;
pub(in crate::store) mod retention;
pub(in crate::store) mod runs;
pub(in crate::store) mod schedule;
pub(in crate::store) mod settlements;
pub(in crate::store) mod steps;
pub(in crate::store) mod transitions;
pub(in crate::store) mod workers;
