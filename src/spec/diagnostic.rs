//! Problems found in a workflow file, each with a stable code and a place in the source.
//!
//! Loading and validation collect every problem before returning (STYLE.md §3); the CLI
//! renders them with a caret under the offending text. Codes are documented one page each
//! under `docs/errors/`.

use std::fmt;

/// A stable error or warning code (`E012`, `W003`), documented in `docs/errors/<code>.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// The file is not valid YAML.
    E001,
    /// A value has the wrong type or shape, or a required field is missing.
    E002,
    /// A field that does not exist.
    E003,
    /// An unsupported `version`.
    E004,
    /// An invalid workflow name.
    E005,
    /// Two steps share an id.
    E010,
    /// A step id that is not `[a-z][a-z0-9_]*`.
    E011,
    /// `needs` names a step that does not exist.
    E012,
    /// A template refers to a step that does not exist (or to itself).
    E013,
    /// A template refers to an input that is not declared.
    E014,
    /// The dependencies form a cycle.
    E015,
    /// `for_each` without `key`, or `as`/`key`/`tolerate_failures` without `for_each`.
    E016,
    /// `uses` names an action that does not exist.
    E017,
    /// The step's provider does not support its action.
    E018,
    /// A required `with` field is missing.
    E019,
    /// A `with` field the action does not take.
    E020,
    /// A template does not compile.
    E021,
    /// A literal amount that is not a plain decimal or has too many decimals.
    E022,
    /// An invalid cron expression.
    E023,
    /// An unknown time zone.
    E024,
    /// A step names no provider, or one that is not declared.
    E025,
    /// A provider block lacks a credential its kind needs.
    E026,
    /// A malformed `${VAR}` reference.
    E027,
    /// A `for_each` that is not a path to a list.
    E028,
    /// An input default that does not fit the input's type.
    E029,
    /// An invalid `tolerate_failures`.
    E030,
    /// A reference to a step's `output` where the step runs per item.
    E031,
    /// A `with` field the step's provider has no equivalent of for its action.
    E032,
    /// An `http` provider block or `http.request` step that cannot be sent.
    E033,
    /// Card data written in the file under `sensitive: { raw_cards: refuse }`.
    E034,
    /// `settle` or `settle_timeout` on a step that is not a batch of payments, or a timeout
    /// without `settle: wait`.
    E035,
    /// A `compensate:` or `saga:` that cannot work: a second pivot, a compensation at or after
    /// the pivot or of a retriable step, an undo that is not a write its provider offers, or
    /// a compensation template that reads another step.
    E036,
    /// A `reconcile.every` that is not a duration of at least a second.
    E037,
    /// A secret written literally in `serve`'s notify file instead of read from the
    /// environment.
    E038,
    /// A literal amount in a currency or asset sluice does not know.
    W001,
    /// A declared input no step uses.
    W002,
    /// A credential written in the file instead of read from the environment.
    W003,
    /// Card data written in the file.
    W004,
    /// Under `on_failure: compensate`, a step that moves money and can be followed by a failure
    /// has no `compensate:`.
    W006,
    /// Under `on_failure: compensate`, a step that moves money and can be followed by a failure
    /// cannot be undone at its provider.
    W007,
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl Code {
    /// Warnings do not stop a workflow from running.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            Code::W001 | Code::W002 | Code::W003 | Code::W004 | Code::W006 | Code::W007
        )
    }
}

/// A byte range in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start,
            end: end.max(start),
        }
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// What is wrong, lower case, values in backticks.
    pub message: String,
    /// Where, when it is known.
    pub span: Option<Span>,
    /// A short note under the caret.
    pub label: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem with a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            span: None,
            label: None,
            hint: None,
        }
    }

    /// Places it in the source.
    pub fn at(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    /// Adds a note under the caret.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a hint only when there is one.
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

/// A "did you mean" hint: the candidate closest to `given`, if any is close enough.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(given, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// Every problem found in one file, errors and warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Records a problem.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| !d.code.is_warning())
    }

    /// The problems, in source order (those without a place last), errors before warnings
    /// at the same place.
    pub fn sorted(mut self) -> Self {
        self.0.sort_by_key(|d| {
            (
                d.span.map_or(usize::MAX, |s| s.start),
                d.code.is_warning(),
                d.code,
            )
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("nedds", ["needs", "uses", "with"]).as_deref(),
            Some("did you mean `needs`?")
        );
        assert_eq!(did_you_mean("zzz", ["needs", "uses"]), None);
    }

    #[test]
    fn sorts_by_place_and_separates_warnings() {
        let mut ds = Diagnostics::default();
        ds.push(Diagnostic::new(Code::W002, "w").at(Some(Span::new(5, 6))));
        ds.push(Diagnostic::new(Code::E012, "b").at(Some(Span::new(9, 10))));
        ds.push(Diagnostic::new(Code::E010, "a").at(Some(Span::new(5, 6))));
        assert!(ds.has_errors());
        let codes: Vec<_> = ds.sorted().0.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::E010, Code::W002, Code::E012]);
        let mut only_warnings = Diagnostics::default();
        only_warnings.push(Diagnostic::new(Code::W001, "w"));
        assert!(!only_warnings.has_errors());
    }
}
