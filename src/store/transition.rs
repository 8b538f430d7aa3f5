//! The state changes a step run may make, in one table, and the SQL guards made from it.
//!
//! Every guarded `UPDATE` on `step_runs`, on both backends and in SQLite's multi-row batches,
//! takes its `state IN (…)` condition from here ([`Transition::guard`]), so the states a change
//! may come from are written once, as [`StepState`]s, and a refusal names the state the change
//! was heading for ([`Transition::to`]).

use std::sync::LazyLock;

use super::step::StepState::{
    self, Cancelled, Dispatching, Failed, InFlight, NeedsAttention, Pending, Skipped, Succeeded,
    Waiting,
};

/// One allowed change of a step run's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The engine records a request as about to be sent; a row already dispatching only with
    /// the same key and request (a re-send after a crash).
    Dispatch,
    /// The engine records a two-phase write's first phase.
    Checkpoint,
    /// The engine records success.
    Succeed,
    /// The engine records failure.
    Fail,
    /// The engine schedules another try: a dispatching row goes back to pending, the others
    /// keep their state.
    RetryLater,
    /// The engine parks a step until an event, an approval or a timer.
    Wait,
    /// The engine skips a step.
    Skip,
    /// The engine gives up on a step in doubt: an operator must decide.
    Attention,
    /// An event wakes a waiting step.
    Wake,
    /// An operator approves a waiting step (the last approval its policy needs).
    Approve,
    /// An operator denies a waiting approval: it fails.
    Deny,
    /// An operator resolves a step as done.
    ResolveSucceeded,
    /// An operator sends a step back (to `dispatching` when it was dispatched, to be looked
    /// up first).
    ResolveRetry,
    /// An operator skips a step.
    ResolveSkip,
    /// An operator redrives failed steps (to `dispatching` when their object is known).
    RetryFailed,
    /// An operator cancels the run's steps that have not started.
    Cancel,
}

impl Transition {
    /// Every transition, in declaration order.
    pub const ALL: [Transition; 16] = [
        Self::Dispatch,
        Self::Checkpoint,
        Self::Succeed,
        Self::Fail,
        Self::RetryLater,
        Self::Wait,
        Self::Skip,
        Self::Attention,
        Self::Wake,
        Self::Approve,
        Self::Deny,
        Self::ResolveSucceeded,
        Self::ResolveRetry,
        Self::ResolveSkip,
        Self::RetryFailed,
        Self::Cancel,
    ];

    /// The states it may come from, and the state it goes to (for [`RetryLater`](Self::RetryLater),
    /// [`ResolveRetry`](Self::ResolveRetry) and [`RetryFailed`](Self::RetryFailed), the one
    /// it goes to unless the row is in doubt).
    pub const fn states(self) -> (&'static [StepState], StepState) {
        const OPEN: &[StepState] = &[Pending, Dispatching, InFlight, Waiting];
        match self {
            Self::Dispatch => (&[Pending, Dispatching], Dispatching),
            Self::Checkpoint => (&[Dispatching, InFlight], InFlight),
            Self::Succeed => (OPEN, Succeeded),
            Self::Fail => (OPEN, Failed),
            Self::RetryLater => (&[Pending, Dispatching, InFlight], Pending),
            Self::Wait => (&[Pending, Waiting], Waiting),
            Self::Skip => (&[Pending, Waiting], Skipped),
            Self::Attention => (OPEN, NeedsAttention),
            Self::Wake => (&[Waiting], Pending),
            Self::Approve => (&[Waiting], Succeeded),
            Self::Deny => (&[Waiting], Failed),
            Self::ResolveSucceeded => (&[NeedsAttention, Failed], Succeeded),
            Self::ResolveRetry => (&[NeedsAttention], Pending),
            Self::ResolveSkip => (&[NeedsAttention, Failed], Skipped),
            Self::RetryFailed => (&[Failed], Pending),
            Self::Cancel => (&[Pending, Waiting], Cancelled),
        }
    }

    /// The states it may come from.
    pub const fn from(self) -> &'static [StepState] {
        self.states().0
    }

    /// The state it goes to.
    pub const fn to(self) -> StepState {
        self.states().1
    }

    /// Whether a row in `state` may make this change (the SQL guard, in Rust).
    pub fn allows(self, state: StepState) -> bool {
        self.from().contains(&state)
    }

    /// The SQL guard, `state IN ('pending', 'waiting')`, made once per transition.
    pub fn guard(self) -> &'static str {
        static GUARDS: LazyLock<Vec<String>> =
            LazyLock::new(|| Transition::ALL.iter().map(|t| t.make_guard()).collect());
        &GUARDS[self as usize]
    }

    fn make_guard(self) -> String {
        let names: Vec<String> = self
            .from()
            .iter()
            .map(|state| format!("'{}'", state.as_str()))
            .collect();
        format!("state IN ({})", names.join(", "))
    }

    /// `sql` with `{guard}` replaced by [`guard`](Self::guard) and `{to}` by the quoted name of
    /// [`to`](Self::to). Statements call it once, through [`guarded!`].
    pub(crate) fn statement(self, sql: &str) -> String {
        let to = format!("'{}'", self.to().as_str());
        sql.replace("{guard}", self.guard()).replace("{to}", &to)
    }
}

/// A statement over a [`Transition`], `{guard}` and `{to}` filled in from the table, built on
/// first use and kept for the life of the process (SQL stays `&'static str`).
macro_rules! guarded {
    ($transition:expr, $sql:expr) => {{
        static SQL: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| $transition.statement($sql));
        SQL.as_str()
    }};
}
pub(crate) use guarded;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_list_the_from_states_by_name() {
        assert_eq!(
            Transition::Checkpoint.guard(),
            "state IN ('dispatching', 'in_flight')"
        );
        assert_eq!(Transition::Wake.guard(), "state IN ('waiting')");
        assert_eq!(
            Transition::Skip.statement("SET state = {to} WHERE {guard}"),
            "SET state = 'skipped' WHERE state IN ('pending', 'waiting')"
        );
        for t in Transition::ALL {
            assert_eq!(Transition::ALL[t as usize], t);
            assert!(!t.from().is_empty());
        }
    }

    #[test]
    fn settled_steps_change_only_by_an_operator() {
        let engine = &Transition::ALL[..Transition::Wake as usize];
        for state in StepState::ALL.into_iter().filter(|s| s.is_settled()) {
            assert!(!engine.iter().any(|t| t.allows(state)), "{state}");
        }
    }
}
