//! A workflow the scheduler fires: its file, its compiled plan, its parsed schedule and the
//! provider adapters its runs use.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::slots::{Schedule, ScheduleError};
use crate::plan::CompiledWorkflow;
use crate::providers::Provider;
use crate::spec::{Code, Diagnostic, Diagnostics, Loaded, Seg};

/// Provider adapters by the name of their block in the workflow file.
pub type Providers = HashMap<String, Arc<dyn Provider>>;

/// A validated workflow with a schedule, ready to fire.
pub struct ScheduledWorkflow {
    /// The file as given (runs record it; `sluice resume` reads it again).
    pub path: String,
    /// The file's exact text (runs are bound to its hash).
    pub text: String,
    /// The compiled workflow.
    pub compiled: Arc<CompiledWorkflow>,
    /// When it fires.
    pub schedule: Schedule,
    /// The adapters its runs use.
    pub providers: Providers,
}

impl ScheduledWorkflow {
    /// Builds the scheduled form of a loaded and compiled workflow (`plan::compile` has
    /// checked the schedule and its inputs). `Ok(None)` when the workflow has no `schedule:`.
    ///
    /// # Errors
    /// A schedule the scheduler cannot use, as diagnostics against `loaded.source`.
    pub fn new(
        loaded: &Loaded,
        compiled: CompiledWorkflow,
        providers: Providers,
    ) -> Result<Option<Self>, Diagnostics> {
        let Some(config) = &compiled.config.schedule else {
            return Ok(None);
        };
        let schedule =
            Schedule::new(config).map_err(|e| Diagnostics(vec![diagnostic(loaded, &e)]))?;
        Ok(Some(ScheduledWorkflow {
            path: loaded.source.name.clone(),
            text: loaded.source.text.clone(),
            compiled: Arc::new(compiled),
            schedule,
            providers,
        }))
    }

    /// The workflow's `name`.
    pub fn name(&self) -> &str {
        &self.compiled.config.name
    }
}

impl fmt::Debug for ScheduledWorkflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut providers: Vec<&str> = self.providers.keys().map(String::as_str).collect();
        providers.sort_unstable();
        f.debug_struct("ScheduledWorkflow")
            .field("name", &self.name())
            .field("path", &self.path)
            .field("schedule", &self.schedule)
            .field("providers", &providers)
            .finish_non_exhaustive()
    }
}

/// A schedule error as the diagnostic `plan::compile` would have given.
fn diagnostic(loaded: &Loaded, e: &ScheduleError) -> Diagnostic {
    let (code, field) = match e {
        ScheduleError::Cron { .. } => (Code::E023, "cron"),
        ScheduleError::TimeZone(_) => (Code::E024, "timezone"),
    };
    Diagnostic::new(code, e.to_string())
        .at(loaded.source.span(&[Seg::Key("schedule"), Seg::Key(field)]))
}
