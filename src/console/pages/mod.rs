//! The console's pages, one per file; `evidence`, `dag` and `totals` are the pieces several share.

pub mod attention;
pub mod dag;
pub mod events;
pub mod evidence;
pub mod inbox;
pub mod items;
pub mod login;
pub mod notifications;
pub mod run;
pub mod runs;
pub mod schedules;
pub mod totals;
pub mod workers;
