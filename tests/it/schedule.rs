//! Cron schedules (issue 8): catch-up after downtime, overlap policies, daylight-saving time
//! in Europe/Berlin, exactly-once firing across services sharing one database, scheduled
//! inputs, the engine running a fired slot, the service's loop, and `sluice schedule list`.
//! Time comes from a manual clock; the only real waits are the loop tests' few-millisecond
//! polls.

mod catch_up;
mod cli;
mod dst;
mod engine;
mod exactly_once;
mod inputs;
mod missed;
mod overlap;
mod serve;
mod service_loop;
pub(crate) mod support;
