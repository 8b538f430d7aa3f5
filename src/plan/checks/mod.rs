//! The semantic checks, one concern per file. Each reports into a shared [`Checker`] so
//! that one pass finds every problem.

pub mod approval;
pub mod cards;
pub mod http;
pub mod inputs;
pub mod money;
pub mod notify;
pub mod providers;
pub mod reconcile;
pub mod saga;
pub mod schedule;
pub mod settle;
pub mod step;
pub mod templates;
pub mod with_fields;
pub mod with_shapes;
pub mod workflow;

use std::collections::BTreeSet;

use crate::spec::{Diagnostic, Diagnostics, Source, WorkflowConfig};
use crate::template::Templates;

/// State shared by the checks of one file.
pub struct Checker<'a> {
    /// The file, for spans.
    pub src: &'a Source,
    /// The model.
    pub cfg: &'a WorkflowConfig,
    /// Compiles templates for syntax checks.
    pub templates: Templates,
    /// Inputs some template or `for_each` refers to.
    pub used_inputs: BTreeSet<String>,
    diagnostics: Diagnostics,
}

impl<'a> Checker<'a> {
    /// A checker over one loaded file.
    pub fn new(src: &'a Source, cfg: &'a WorkflowConfig) -> Self {
        Checker {
            src,
            cfg,
            templates: Templates::new(),
            used_inputs: BTreeSet::new(),
            diagnostics: Diagnostics::default(),
        }
    }

    /// Records a problem.
    pub fn report(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Every problem, in source order.
    pub fn finish(self) -> Diagnostics {
        self.diagnostics.sorted()
    }
}
