//! Step runs: one row per step of a run, and per item of a `for_each` step, with the state
//! machine of the write protocol (ARCHITECTURE.md, *Never twice*) and the writes the engine moves them with (committed together in a
//! [`WriteBatch`](super::WriteBatch)).
//!
//! The states, and which write (the batch's field) moves a step between them:
//!
//! ```text
//!             dispatches                        checkpoints
//!   pending ─────────────────► dispatching ───────────────────► in_flight
//!     │  ▲                        │   │ ▲ (same key + request)      │
//!     │  └────── retries ─────────┘   │ └─ dispatches               │
//!     │                               ├──── results ────────────────┴──► succeeded | failed
//!     ├─ waiting ─► waiting ─(event wakes it)─► pending                 (also from pending/waiting)
//!     ├─ skips ─► skipped                            failed ─ reset_failed_items ─► pending
//!     └─ attention (also from dispatching/in_flight/waiting) ─► needs_attention
//! ```
//!
//! Every write names the states it accepts and refuses the whole batch with
//! [`StoreError::InvalidTransition`](super::StoreError::InvalidTransition) otherwise, so a
//! confused caller can never, say, overwrite a success or re-dispatch something in flight.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::attempt::NewAttempt;
use super::class::ErrorClass;
use crate::ids::{ItemKey, RunId, StepId};

/// Where one step (or one item) of a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepState {
    /// Not started, or due to be tried again (see `next_attempt_at`). Nothing was sent, or what
    /// was sent provably did not land.
    Pending,
    /// Committed as about to be sent. Found on resume, it is in doubt: reconcile with
    /// `Provider::lookup` before anything else.
    Dispatching,
    /// A two-phase operation was created at the provider (its reference is checkpointed) and
    /// is not finished yet.
    InFlight,
    /// Waiting for a webhook, an approval or a timer.
    Waiting,
    /// Done; its output is stored. Never executed again.
    Succeeded,
    /// Failed with a classified error.
    Failed,
    /// Skipped by `if:` or by an operator, with the reason.
    Skipped,
    /// In doubt and not reconcilable automatically; an operator must decide.
    NeedsAttention,
    /// Cancelled with its run before it started.
    Cancelled,
}

impl StepState {
    /// Every state.
    pub const ALL: [StepState; 9] = [
        Self::Pending,
        Self::Dispatching,
        Self::InFlight,
        Self::Waiting,
        Self::Succeeded,
        Self::Failed,
        Self::Skipped,
        Self::NeedsAttention,
        Self::Cancelled,
    ];

    /// The name stored in the database and shown to users (`in_flight`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Dispatching => "dispatching",
            Self::InFlight => "in_flight",
            Self::Waiting => "waiting",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::NeedsAttention => "needs_attention",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether nothing will happen to the step without an operator: succeeded, failed,
    /// skipped, needs attention or cancelled.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Skipped | Self::NeedsAttention | Self::Cancelled
        )
    }
}

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`StepState`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown step state `{0}`")]
pub struct UnknownStepState(pub String);

impl FromStr for StepState {
    type Err = UnknownStepState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownStepState(s.to_owned()))
    }
}

/// Names one step run: a step of a run, and the item for `for_each` steps (`""` otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepKey {
    /// The run.
    pub run_id: RunId,
    /// The step's `id` in the workflow.
    pub step_id: StepId,
    /// The item's key for `for_each` steps, `""` for other steps.
    pub item_key: ItemKey,
}

impl StepKey {
    /// The key of a step that is not a `for_each`.
    pub fn step(run_id: impl Into<RunId>, step_id: impl Into<StepId>) -> Self {
        Self::item(run_id, step_id, "")
    }

    /// The key of one item of a `for_each` step.
    pub fn item(
        run_id: impl Into<RunId>,
        step_id: impl Into<StepId>,
        item_key: impl Into<ItemKey>,
    ) -> Self {
        Self {
            run_id: run_id.into(),
            step_id: step_id.into(),
            item_key: item_key.into(),
        }
    }
}

impl fmt::Display for StepKey {
    /// `run/step` or `run/step[item]`, as `sluice resolve` spells it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.run_id, self.step_id)?;
        if !self.item_key.is_empty() {
            write!(f, "[{}]", self.item_key)?;
        }
        Ok(())
    }
}

/// One step run to create with its run, in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStep {
    /// The step's `id`.
    pub step_id: StepId,
    /// The item key (`""` unless `for_each`).
    pub item_key: ItemKey,
    /// `Some(reason)` creates it already skipped (an `if:` known false when planning).
    pub skip_reason: Option<String>,
}

impl NewStep {
    /// A pending step that is not a `for_each`.
    pub fn step(step_id: impl Into<StepId>) -> Self {
        Self::item(step_id, "")
    }

    /// A pending item of a `for_each` step.
    pub fn item(step_id: impl Into<StepId>, item_key: impl Into<ItemKey>) -> Self {
        Self {
            step_id: step_id.into(),
            item_key: item_key.into(),
            skip_reason: None,
        }
    }

    /// The same step, created skipped for `reason`.
    pub fn skipped(mut self, reason: impl Into<String>) -> Self {
        self.skip_reason = Some(reason.into());
        self
    }
}

/// A classified failure, as the adapters and the engine name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    /// The classification (`retryable`, `rejected`, `in_doubt`, `assert`, …).
    pub class: ErrorClass,
    /// A message for the operator, with the provider's own text where there is one. Never
    /// secrets, and card data masked.
    pub message: String,
}

impl StepError {
    /// An error of `class` with `message`, its card data masked ([`crate::sensitive`]): a
    /// refusal may quote the value it refused.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: crate::sensitive::mask_text(&message.into()),
        }
    }
}

/// A step run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// Which step run this is.
    pub key: StepKey,
    /// Position in the plan: steps in execution order, items in input order.
    pub seq: i64,
    /// Where it stands.
    pub state: StepState,
    /// The idempotency key it was (last) dispatched with.
    pub idempotency_key: Option<String>,
    /// SHA-256 of the canonical request it was dispatched with.
    pub request_digest: Option<String>,
    /// The rendered `with` it was dispatched (or set waiting) with. Never secrets.
    pub request: Option<Value>,
    /// The provider's id of the object created, once known.
    pub provider_ref: Option<String>,
    /// The two-phase checkpoint (e.g. the quote between create and commit).
    pub checkpoint: Option<Value>,
    /// The normalised output, once succeeded.
    pub output: Option<Value>,
    /// The last error (kept while retrying, so status can show it).
    pub error: Option<StepError>,
    /// Why it was skipped.
    pub skip_reason: Option<String>,
    /// How many times it was dispatched.
    pub attempts: u32,
    /// When to try again (retry backoff, next poll, a timer's end); `None`: now.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When waiting gives up (an await's `timeout`), kept across restarts.
    pub deadline_at: Option<DateTime<Utc>>,
    /// The event that last woke it, for an await.
    pub event_id: Option<i64>,
    /// When its row last changed.
    pub updated_at: DateTime<Utc>,
}

/// "About to send this": a dispatch of a [`WriteBatch`](super::WriteBatch). The run is the
/// lease's.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    /// The step's `id`.
    pub step_id: StepId,
    /// The item key (`""` unless `for_each`).
    pub item_key: ItemKey,
    /// From [`idempotency_key`](super::idempotency_key).
    pub idempotency_key: String,
    /// The rendered request (the step's `with`); the store records it and its
    /// [`request_digest`](crate::digest::request_digest). Never secrets.
    pub request: Value,
}

/// A two-phase checkpoint: the object exists at the provider, the operation is not finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Which step run.
    pub key: StepKey,
    /// The provider's id of the created object.
    pub provider_ref: String,
    /// Whatever the second phase needs after a crash (quote id, expiry, …).
    pub checkpoint: Value,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It succeeded with this normalised output.
    Succeeded {
        /// The normalised output (`id`, `state`, `amount`, …, `raw`).
        output: Value,
        /// The provider's id of the object, if any.
        provider_ref: Option<String>,
    },
    /// It failed for good (retries exhausted, rejected, assertion, timeout, …).
    Failed(StepError),
}

/// A final result, with the provider call that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    /// Which step run.
    pub key: StepKey,
    /// How it ended.
    pub outcome: Outcome,
    /// The provider call that produced it, recorded in the same transaction.
    pub attempt: Option<NewAttempt>,
}

/// "Try again later": a retryable failure. A dispatching step goes back to pending (the
/// request provably did not land); an in-flight step stays in flight (its next phase is retried).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryLater {
    /// Which step run.
    pub key: StepKey,
    /// What went wrong this time.
    pub error: StepError,
    /// When to try again.
    pub next_attempt_at: DateTime<Utc>,
    /// The provider call that failed, recorded in the same transaction.
    pub attempt: Option<NewAttempt>,
}

/// "Waiting for something outside": an await, an approval, a sleep.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    /// Which step run.
    pub key: StepKey,
    /// The rendered `with` (e.g. the await's `event` and `match`), stored so the webhook
    /// receiver can match events against it.
    pub request: Option<Value>,
    /// When to look again without being woken (the next poll, the end of a sleep).
    pub next_check_at: Option<DateTime<Utc>>,
    /// When waiting gives up.
    pub deadline_at: Option<DateTime<Utc>>,
}

/// "Skip this", with the reason shown in status and plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// Which step run.
    pub key: StepKey,
    /// Why (e.g. `if: gt payee.amount '0' was false`).
    pub reason: String,
}

/// "An operator must decide", with the message that tells them what to check and how to go on.
/// The message becomes the step's error, with class [`ErrorClass::NeedsAttention`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attention {
    /// Which step run.
    pub key: StepKey,
    /// What happened, what to check, which `sluice resolve` to run.
    pub message: String,
}

/// One page of a step's items, for a screen that shows a batch of any size a page at a time
/// ([`StepStore::page_steps`](super::StepStore::page_steps)): keyset pagination on `seq`, so
/// the page after item 99,900 of a 100,000-item step costs what the first page costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepPage {
    /// The run.
    pub run_id: RunId,
    /// The step whose rows (its own, then its items) are listed.
    pub step_id: StepId,
    /// Only rows in this state.
    pub state: Option<StepState>,
    /// Only items whose key starts with this text (case-sensitive).
    pub key_prefix: Option<String>,
    /// Only rows after this position in the plan ([`StepRecord::seq`] of the last row shown).
    pub after_seq: Option<i64>,
    /// At most this many rows.
    pub limit: u32,
}

impl StepPage {
    /// The least key after every key starting with [`key_prefix`](Self::key_prefix), in byte
    /// (code point) order, so the keys searched are the range from the prefix to it, which
    /// an index answers: the prefix with its last character that has a successor advanced
    /// and what follows dropped. `None` without a prefix, or when no character has one (the
    /// range then has no end).
    pub fn key_end(&self) -> Option<String> {
        let mut chars: Vec<char> = self.key_prefix.as_deref()?.chars().collect();
        while let Some(last) = chars.pop() {
            let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
            if let Some(next) = next {
                chars.push(next);
                return Some(chars.into_iter().collect());
            }
        }
        None
    }
}

/// The amounts of step runs in one state, in one asset or currency: what their stored requests
/// ask for (`amount`, and `asset` or `currency`), summed exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetTotal {
    /// The state of the step runs counted.
    pub state: StepState,
    /// The asset or currency.
    pub asset: String,
    /// Their amounts, summed.
    pub total: rust_decimal::Decimal,
    /// How many step runs.
    pub count: u64,
}

/// How many step runs of one step are in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCount {
    /// The step's `id`.
    pub step_id: StepId,
    /// The state.
    pub state: StepState,
    /// How many of its step runs (items) are in it.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip_and_keys_display_like_the_cli() {
        for state in StepState::ALL {
            assert_eq!(state.as_str().parse::<StepState>(), Ok(state));
        }
        assert_eq!(StepState::InFlight.to_string(), "in_flight");
        assert!("flying".parse::<StepState>().is_err());
        assert!(StepState::NeedsAttention.is_settled());
        assert!(!StepState::Dispatching.is_settled());
        assert_eq!(StepKey::step("run_1", "fund").to_string(), "run_1/fund");
        assert_eq!(
            StepKey::item("run_1", "pay", "emp-7").to_string(),
            "run_1/pay[emp-7]"
        );
    }

    #[test]
    fn a_key_search_ends_where_the_prefix_can_no_longer_be_a_prefix() {
        let end = |prefix: &str| {
            StepPage {
                run_id: "run_1".into(),
                step_id: "pay".into(),
                state: None,
                key_prefix: Some(prefix.to_owned()),
                after_seq: None,
                limit: 1,
            }
            .key_end()
        };
        assert_eq!(end("E00500").as_deref(), Some("E00501"));
        assert_eq!(end("emp-z").as_deref(), Some("emp-{"));
        assert_eq!(end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(end("\u{10FFFF}"), None);
        for key in ["E00500", "E005001", "E00500\u{10FFFF}"] {
            assert!(key >= "E00500" && key < end("E00500").unwrap().as_str());
        }
        assert!("E00501" >= end("E00500").unwrap().as_str());
    }
}
