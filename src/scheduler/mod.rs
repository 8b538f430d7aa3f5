//! Cron schedules (README, *Scheduling*): which slots of which workflow are due, firing each one
//! exactly once across processes, and handing the runs to the engine.
//!
//! - [`slots`]: pure slot arithmetic: cron in a time zone, daylight-saving rules, `catch_up`,
//!   deterministic run ids.
//! - [`inputs`]: `schedule.inputs` templates over the slot (`slot.date`, `slot.time`,
//!   `slot.iso`), and their checks.
//! - [`workflow`]: [`ScheduledWorkflow`], a validated workflow with its schedule and adapters.
//! - [`prepare`]: a slot's run and step rows, before the store creates them.
//! - [`missed`]: the slots that came due while nothing watched and will not fire, and when
//!   a service records them.
//! - [`service`]: [`Service`], the loop that fires due slots, with the `overlap` policy.
//! - [`launcher`]: [`Launcher`], what executes a fired run; [`EngineLauncher`] uses the engine.
//!
//! The command that hosts the service (`sluice serve`) loads the files and owns signals;
//! `sluice schedule list` only uses [`slots`].

pub mod inputs;
pub mod launcher;
pub mod missed;
pub mod prepare;
pub mod service;
pub mod slots;
pub mod workflow;

pub use launcher::{EngineLauncher, Launch, Launcher, RunDone};
pub use service::{Service, ServiceOptions, SlotOutcome, SlotReport, Tick};
pub use slots::{Schedule, ScheduleError, slot_run_id};
pub use workflow::{Providers, ScheduledWorkflow};
