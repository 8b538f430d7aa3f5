//! One provider call of one step or item: the driver of the [`protocol`] machine, which
//! decides; this module performs its actions (fenced records through the checkpoint writer,
//! sends and lookups through the adapter, backoffs, the verdict's record) and reports what
//! happened.
//!
//! Nothing here ever sends a write twice on a guess: a request in doubt is looked up, and
//! when the provider cannot tell, the item stops as `needs_attention` with the exact
//! command that lets the operator continue.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::Write;
use super::breaker::{Breaker, Gate, refuses_credentials};
use super::protocol::{
    self, Action, Answer, Doubt, Event, Failure, Found, Item, Redrive, Start, Verdict,
};
use super::slot::Slot;
use super::writer::{WriteError, Writer};
use crate::catalog::ActionKind;
use crate::digest::changed_fields;
use crate::plan::retry::RetryPolicy;
use crate::providers::{
    Call, FailureClass, IdempotencyKey, Lookup, NormalizedState, Outcome, Output, Provider,
    ProviderError,
};
use crate::sensitive::FieldPaths;
use crate::store::{
    AttemptOperation, AttemptOutcome, Attention, Checkpoint, Dispatch, ErrorClass, NewAttempt,
    Outcome as StoreOutcome, RetryLater, StepError, StepKey, StepRecord, StepResult, StepState,
    StoreError, idempotency_key,
};

/// How an item ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemEnd {
    /// Done; the output templates see.
    Succeeded(Value),
    /// Failed for good; the message says why (the provider's own words when it refused).
    Failed(String),
    /// Skipped; the reason.
    Skipped(String),
    /// Stopped for an operator; the message says what to check and how to continue.
    NeedsAttention(String),
    /// Waiting for an operator or an event; the message says for what.
    Waiting(String),
    /// Not sent, and nothing recorded: its provider block's breaker is open (the item stays
    /// as it was, `pending` if it never went out); the message names the provider and why.
    Held(String),
}

/// What a call needs besides the request.
pub struct CallEnv<'a> {
    /// The adapter.
    pub provider: &'a Arc<dyn Provider>,
    /// The checkpoint writer.
    pub writer: &'a Writer,
    /// Retry policy of the step.
    pub policy: RetryPolicy,
    /// When the step's `timeout` runs out: no new attempt starts after it.
    pub deadline: Option<tokio::time::Instant>,
    /// The breaker of the provider block: told of every answer, and asked before every
    /// dispatch, checkpoint and lookup (an open one holds the item).
    pub breaker: Option<&'a Arc<Breaker>>,
    /// The fields of the block's answers redacted before an answer is kept (README,
    /// *Sensitive data*).
    pub redact: Option<&'a FieldPaths>,
    /// Whether the caller uses the output a success returns. A `for_each` item's output is
    /// read back from the store by the steps that use it, so the item does not keep a copy
    /// of a provider answer it only hands to the writer.
    pub keep_output: bool,
    /// The item's place among those in flight, given up once the answer is final so the
    /// next item's dispatch shares the result's commit; `None` for a step's own row.
    pub slot: Option<&'a Slot>,
}

impl CallEnv<'_> {
    /// Records a final result: the item gives up its place first and its result waits for
    /// the next item's dispatch to commit with it.
    async fn record_final(&self, result: StepResult) -> Result<(), WriteError> {
        let write = Write::Result(result);
        match self.slot {
            Some(slot) => {
                slot.free();
                self.writer.write_with_next(write).await
            }
            None => self.writer.write(write).await,
        }
    }
}

impl CallEnv<'_> {
    /// `out` as it may be kept: the sensitive fields of its raw answer redacted.
    pub fn kept(&self, mut out: Output) -> Output {
        out.raw = self.redacted(std::mem::take(&mut out.raw));
        out
    }

    /// `answer` with the block's sensitive fields redacted.
    pub fn redacted(&self, answer: Value) -> Value {
        match self.redact {
            Some(paths) => paths.redact(answer),
            None => answer,
        }
    }
}

/// Why the run itself must stop (as opposed to the item failing).
#[derive(Debug, thiserror::Error)]
pub enum Halt {
    /// The checkpoint store failed; nothing more may be sent.
    #[error("checkpoint write failed: {0}")]
    Store(#[from] WriteError),
}

/// Runs a read or write action for one step run, starting from its stored `record`, as the
/// [`protocol`] machine directs: this is the only place a provider call is made for an item.
///
/// # Errors
/// [`Halt`] when a checkpoint cannot be written (a lost lease or claim, a full disk): nothing
/// is sent that is not durably dispatched, and a process that lost the item records nothing.
pub async fn run(
    env: &CallEnv<'_>,
    kind: ActionKind,
    action: &str,
    record: &StepRecord,
    request: Map<String, Value>,
) -> Result<ItemEnd, Halt> {
    let mut d = Driver::new(env, kind, action, record, request);
    let start = start_of(record);
    // Compared by digest: the stored request has its card data masked.
    if matches!(start, Start::InDoubt | Start::Redrive(_))
        && let Some(stored) = &record.request
        && record.request_digest.as_deref() != Some(d.digest.as_str())
    {
        // In doubt: the last run dispatched this and did not live to record the answer.
        let diff = changed_fields(stored, &d.request_json).join("`, `");
        let reason = format!(
            "the request changed since it was sent (`{diff}`), and the first request may have been applied"
        );
        return attention(env, &record.key, &d.idk, reason).await;
    }
    let kind = match kind {
        ActionKind::Write => protocol::Kind::Write,
        _ => protocol::Kind::Read,
    };
    let object_known = record
        .provider_ref
        .as_deref()
        .is_some_and(|r| !r.is_empty())
        || record.checkpoint.is_some();
    let (machine, first) = Item::start(kind, env.policy.max_attempts, start, object_known);
    d.drive(machine, first).await
}

/// Where a stored row puts the protocol.
fn start_of(record: &StepRecord) -> Start {
    match record.state {
        StepState::Dispatching => match record.error.as_ref().and_then(|e| redrive_of(&e.class)) {
            Some(redrive) => Start::Redrive(redrive),
            None => Start::InDoubt,
        },
        StepState::InFlight if record.checkpoint.is_some() => Start::Checkpointed,
        _ => Start::Fresh,
    }
}

/// The operator decision a `dispatching` row's error class marks (see
/// [`ErrorClass::OperatorRetry`]).
fn redrive_of(class: &ErrorClass) -> Option<Redrive> {
    match class {
        ErrorClass::OperatorRetry => Some(Redrive::Retry),
        ErrorClass::OperatorResolve => Some(Redrive::Resolve),
        _ => None,
    }
}

/// Performs what the protocol asks for one item and tells it what happened.
struct Driver<'a> {
    env: &'a CallEnv<'a>,
    key: &'a StepKey,
    action: &'a str,
    /// The rendered `with`, an object: sent, dispatched and compared as one value.
    request_json: Value,
    /// The digest every attempt records: of the one request this call sends.
    digest: String,
    idk: String,
    ikey: IdempotencyKey,
    /// Dispatches so far (reads: sends), as the store counts them.
    attempts: u32,
    /// A read: every send counts as an attempt.
    reads: bool,
    /// The recorded checkpoint the next phase continues from.
    checkpoint: Option<Value>,
    provider_ref: Option<String>,
    /// A checkpoint an answer or a lookup returned, to be recorded next.
    learnt: Option<(Value, Output)>,
    /// The last final answer, or the object a lookup found.
    output: Option<Output>,
    /// The attempt to record with the next result or retry.
    attempt: Option<NewAttempt>,
    /// The last provider error (of a send or a lookup).
    error: Option<ProviderError>,
    /// What a lookup that could not tell said.
    undecided: Option<String>,
    /// Whether the last call was a lookup (its backoff ignores the step's deadline).
    looking: bool,
}

impl<'a> Driver<'a> {
    fn new(
        env: &'a CallEnv<'a>,
        kind: ActionKind,
        action: &'a str,
        record: &'a StepRecord,
        request: Map<String, Value>,
    ) -> Self {
        let key = &record.key;
        let idk = idempotency_key(&key.run_id, &key.step_id, &key.item_key);
        let ikey = IdempotencyKey::new(idk.clone()).expect("store keys are visible ASCII");
        let request_json = Value::Object(request);
        Driver {
            env,
            key,
            action,
            digest: crate::digest::request_digest(&request_json),
            request_json,
            idk,
            ikey,
            attempts: record.attempts,
            reads: kind != ActionKind::Write,
            checkpoint: (record.state == StepState::InFlight)
                .then(|| record.checkpoint.clone())
                .flatten(),
            provider_ref: record.provider_ref.clone(),
            learnt: None,
            output: None,
            attempt: None,
            error: None,
            undecided: None,
            looking: false,
        }
    }

    async fn drive(&mut self, mut machine: Item, mut action: Action) -> Result<ItemEnd, Halt> {
        loop {
            let event = match action {
                // Every call to the provider follows a dispatch, a checkpoint or is a lookup:
                // an open breaker holds the item right before them, with nothing written.
                Action::Dispatch | Action::Checkpoint | Action::LookUp
                    if let Some(held) = self.held().await =>
                {
                    return Ok(ItemEnd::Held(held));
                }
                Action::Dispatch => match self.dispatch().await? {
                    Ok(event) => event,
                    Err(changed) => {
                        return attention(self.env, self.key, &self.idk, changed.to_string()).await;
                    }
                },
                Action::Checkpoint => self.record_checkpoint().await?,
                Action::Send => self.send(machine.checkpointed()).await,
                Action::LookUp => self.look_up().await,
                Action::Backoff { tries } => self.backoff(tries).await?,
                Action::Finish(verdict) => return self.finish(verdict, machine.tries()).await,
                Action::GiveUp => unreachable!("a lost record halts before the machine hears"),
            };
            action = machine.on(event);
        }
    }

    /// Why the item must not go to the provider now: the block's breaker is open for good.
    /// Waits while it probes. Holding writes nothing: the item stays as it was (`pending`,
    /// or in doubt to be looked up on resume).
    async fn held(&self) -> Option<String> {
        match self.env.breaker?.gate().await {
            Gate::Pass => None,
            Gate::Hold(message) => Some(message),
        }
    }

    /// Tells the breaker how a call went.
    fn report(&self, result: Result<(), &ProviderError>) {
        if let Some(breaker) = self.env.breaker {
            match result {
                Ok(()) => breaker.succeeded(),
                Err(e) => breaker.failed(e),
            }
        }
    }

    /// The request's fields, as adapters read them.
    fn with(&self) -> &Map<String, Value> {
        self.request_json
            .as_object()
            .expect("a rendered `with` is an object")
    }

    /// Records the dispatch, fenced; `Err` with the store's refusal when the stored request
    /// differs.
    async fn dispatch(&mut self) -> Result<Result<Event, Arc<StoreError>>, Halt> {
        crate::engine::failpoint("before_dispatch");
        let dispatch = Write::Dispatch(Dispatch {
            step_id: self.key.step_id.clone(),
            item_key: self.key.item_key.clone(),
            idempotency_key: self.idk.clone(),
            request: self.request_json.clone(),
        });
        match self.env.writer.write(dispatch).await {
            Ok(()) => {}
            Err(WriteError::Store(e)) if matches!(*e, StoreError::RequestChanged { .. }) => {
                return Ok(Err(e));
            }
            Err(e) => return Err(e.into()),
        }
        self.attempts += 1;
        self.checkpoint = None;
        Ok(Ok(Event::Recorded))
    }

    /// Records the checkpoint just learnt of, or the stored one again before its next phase
    /// is sent: either way a fenced write this process must win before it may send.
    async fn record_checkpoint(&mut self) -> Result<Event, Halt> {
        if let Some((cp, out)) = self.learnt.take() {
            self.provider_ref = out.id;
            self.checkpoint = Some(cp);
        }
        let checkpoint = self.checkpoint.clone().unwrap_or(Value::Null);
        self.env
            .writer
            .write(Write::Checkpoint(Checkpoint {
                key: self.key.clone(),
                provider_ref: self.provider_ref.clone().unwrap_or_default(),
                checkpoint,
            }))
            .await?;
        crate::engine::failpoint("between_phases");
        Ok(Event::Recorded)
    }

    async fn send(&mut self, later_phase: bool) -> Event {
        if self.reads {
            // A read counts every send, a write its dispatches.
            self.attempts += 1;
        }
        crate::engine::failpoint("after_dispatch");
        self.looking = false;
        let started = Utc::now();
        let phase = if later_phase {
            AttemptOperation::Commit
        } else {
            AttemptOperation::Execute
        };
        let call = make_call(
            self.action,
            self.with(),
            &self.ikey,
            self.checkpoint.as_ref(),
        );
        let result = self.env.provider.execute(&call).await;
        crate::engine::failpoint("after_send");
        self.report(result.as_ref().map(|_| ()));
        match result {
            Ok(Outcome::Done(out)) => {
                let failed = out.state.normalized == NormalizedState::Failed;
                self.attempt = Some(self.attempt_record(phase, started, AttemptOutcome::Ok, None));
                self.output = Some(out);
                Event::Answered(Answer::Done { failed })
            }
            Ok(Outcome::Continue { checkpoint, output }) => {
                self.learnt = Some((checkpoint, output));
                Event::Answered(Answer::Continue)
            }
            Err(e) => {
                let error = StepError::new(e.class().into(), e.to_string());
                let outcome = e.class().into();
                let status = e.status();
                self.attempt =
                    Some(self.attempt_record(phase, started, outcome, Some((error, status))));
                let answer = match e.class() {
                    // Refused credentials applied nothing; the breaker is open now, and the
                    // item waits behind it (held, not failed) until they are fixed.
                    FailureClass::Retryable => Answer::Retryable,
                    _ if refuses_credentials(&e) => Answer::Retryable,
                    FailureClass::InDoubt => {
                        if !self.reads {
                            tracing::warn!(step = %self.key.step_id, item = %self.key.item_key, error = %e, "Write in doubt; looking it up.");
                        }
                        Answer::InDoubt
                    }
                    FailureClass::Rejected | FailureClass::Invalid => Answer::Refused {
                        sent: status.is_some(),
                        conflict: status == Some(409),
                    },
                };
                self.error = Some(e);
                Event::Answered(answer)
            }
        }
    }

    /// Asks the provider what became of the request.
    async fn look_up(&mut self) -> Event {
        self.looking = true;
        let started = Utc::now();
        let call = make_call(
            self.action,
            self.with(),
            &self.ikey,
            self.checkpoint.as_ref(),
        );
        let answer = self
            .env
            .provider
            .lookup(&call, self.provider_ref.as_deref())
            .await;
        // A lookup is a call like any other: a provider that is down answers it the same, and
        // the breaker must hear of it, or items in doubt would spend their lookups (and end
        // needing an operator) while the provider is known to be down.
        self.report(answer.as_ref().map(|_| ()));
        let found = match answer {
            Ok(Lookup::Found(out)) => {
                let failed = out.state.normalized == NormalizedState::Failed;
                let mut attempt = self.attempt_record(
                    AttemptOperation::Lookup,
                    started,
                    AttemptOutcome::Found,
                    None,
                );
                attempt.request_digest = None;
                self.attempt = Some(attempt);
                self.output = Some(out);
                Found::Done { failed }
            }
            Ok(Lookup::Continue { checkpoint, output }) => {
                self.learnt = Some((checkpoint, output));
                Found::Continue
            }
            Ok(Lookup::Absent) => Found::Absent,
            Ok(Lookup::Unknown { reason }) => {
                self.undecided = Some(reason);
                Found::Unknown
            }
            Err(e) => {
                let retryable =
                    matches!(e.class(), FailureClass::Retryable | FailureClass::InDoubt)
                        || refuses_credentials(&e);
                self.error = Some(e);
                Found::Error { retryable }
            }
        };
        Event::LookedUp(found)
    }

    /// Waits before try `tries + 1`, recording a retryable failure first.
    async fn backoff(&mut self, tries: u32) -> Result<Event, Halt> {
        let retry_after = self.error.as_ref().and_then(ProviderError::retry_after);
        let wait = self.env.policy.wait_after(tries, retry_after);
        let wait = if self.looking {
            wait
        } else {
            wait.filter(|w| within(self.env.deadline, *w))
        };
        let Some(wait) = wait else {
            return Ok(Event::OutOfTime);
        };
        let retryable = self
            .error
            .as_ref()
            .is_some_and(|e| e.class() == FailureClass::Retryable || refuses_credentials(e));
        if !self.looking
            && retryable
            && let Some(attempt) = self.attempt.take()
        {
            let error = attempt
                .error
                .clone()
                .expect("a failed attempt has its error");
            retry_later(self.env, self.key, error, wait, attempt).await?;
        }
        tokio::time::sleep(wait).await;
        Ok(Event::Waited)
    }

    async fn finish(&mut self, verdict: Verdict, tries: u32) -> Result<ItemEnd, Halt> {
        let (env, key, idk) = (self.env, self.key, self.idk.as_str());
        let error = || {
            self.error
                .as_ref()
                .map_or_else(String::new, ToString::to_string)
        };
        match verdict {
            Verdict::Succeeded { found } => {
                let out = self.output.take().expect("a success has its output");
                if found {
                    tracing::info!(step = %key.step_id, item = %key.item_key, id = out.id.as_deref().unwrap_or("?"),
                        "Found at the provider; recorded as succeeded without sending it again.");
                }
                succeed(env, key, out, self.attempt.take()).await
            }
            Verdict::Failed(Failure::ObjectFailed) => {
                let out = self.output.take().expect("a failed object has its output");
                let message = format!(
                    "the provider reports the object `{}` as `{}`",
                    out.id.as_deref().unwrap_or("?"),
                    out.state.raw.as_deref().unwrap_or("failed")
                );
                fail(env, key, message, self.attempt.take()).await
            }
            Verdict::Failed(Failure::Refused) => fail(env, key, error(), self.attempt.take()).await,
            Verdict::Failed(Failure::Exhausted) => {
                let message = format!("gave up after {} attempts: {}", tries.max(1), error());
                let attempt = self.attempt.take().filter(|_| !self.looking);
                fail(env, key, message, attempt).await
            }
            Verdict::Attention(doubt) => {
                let reason = match doubt {
                    Doubt::Undecided => self.undecided.take().unwrap_or_default(),
                    Doubt::LookupFailed => format!("looking it up failed: {}", error()),
                    Doubt::Vanished => format!(
                        "the provider does not find the object `{}` recorded for it",
                        self.provider_ref.as_deref().unwrap_or("?")
                    ),
                    Doubt::RefusedNotFound => format!(
                        "the provider refused it ({}), and no object of it can be found",
                        error()
                    ),
                    Doubt::RefusedAgain => format!(
                        "the provider refused the next phase ({}) although a lookup says the object still waits for it",
                        error()
                    ),
                };
                attention(env, key, idk, reason).await
            }
        }
    }

    fn attempt_record(
        &self,
        operation: AttemptOperation,
        started: DateTime<Utc>,
        outcome: AttemptOutcome,
        error: Option<(StepError, Option<u16>)>,
    ) -> NewAttempt {
        let (error, http_status) = error.map_or((None, None), |(e, s)| (Some(e), s));
        NewAttempt {
            key: self.key.clone(),
            attempt_no: self.attempts,
            operation,
            idempotency_key: self.idk.clone(),
            request_digest: Some(self.digest.clone()),
            started_at: started,
            finished_at: Some(Utc::now()),
            outcome,
            error,
            http_status,
        }
    }
}

fn make_call<'a>(
    action: &'a str,
    with: &'a Map<String, Value>,
    key: &'a IdempotencyKey,
    checkpoint: Option<&'a Value>,
) -> Call<'a> {
    Call {
        action,
        with,
        key,
        checkpoint,
    }
}

/// Records a success with the provider's output.
async fn succeed(
    env: &CallEnv<'_>,
    key: &StepKey,
    out: Output,
    attempt: Option<NewAttempt>,
) -> Result<ItemEnd, Halt> {
    let provider_ref = out.id.clone();
    let json = env.kept(out).into_json();
    let (output, kept) = if env.keep_output {
        (json.clone(), json)
    } else {
        (json, Value::Null)
    };
    env.record_final(StepResult {
        key: key.clone(),
        outcome: StoreOutcome::Succeeded {
            output,
            provider_ref,
        },
        attempt,
    })
    .await?;
    crate::engine::failpoint("after_record");
    Ok(ItemEnd::Succeeded(kept))
}

async fn fail(
    env: &CallEnv<'_>,
    key: &StepKey,
    message: String,
    attempt: Option<NewAttempt>,
) -> Result<ItemEnd, Halt> {
    let class = attempt
        .as_ref()
        .and_then(|a| a.error.as_ref().map(|e| e.class.clone()))
        .unwrap_or(ErrorClass::Failed);
    env.record_final(StepResult {
        key: key.clone(),
        outcome: StoreOutcome::Failed(StepError::new(class, message.clone())),
        attempt,
    })
    .await?;
    Ok(ItemEnd::Failed(message))
}

async fn retry_later(
    env: &CallEnv<'_>,
    key: &StepKey,
    error: StepError,
    wait: Duration,
    attempt: NewAttempt,
) -> Result<(), Halt> {
    let next = Utc::now() + chrono::TimeDelta::from_std(wait).unwrap_or_default();
    env.writer
        .write(Write::Retry(RetryLater {
            key: key.clone(),
            error,
            next_attempt_at: next,
            attempt: Some(attempt),
        }))
        .await?;
    Ok(())
}

/// Stops the item for an operator, saying what to check and the commands that continue.
pub async fn attention(
    env: &CallEnv<'_>,
    key: &StepKey,
    idk: &str,
    reason: String,
) -> Result<ItemEnd, Halt> {
    let message = attention_message(key, idk, &reason);
    env.writer
        .write(Write::Attention(Attention {
            key: key.clone(),
            message: message.clone(),
        }))
        .await?;
    Ok(ItemEnd::NeedsAttention(message))
}

/// The operator's instructions for an item in doubt.
pub fn attention_message(key: &StepKey, idk: &str, reason: &str) -> String {
    let target = if key.item_key.is_empty() {
        key.step_id.to_string()
    } else {
        format!("{}[{}]", key.step_id, key.item_key)
    };
    format!(
        "{reason}. Check the provider for an object carrying idempotency key `{idk}`, then continue with \
         `sluice resolve {run} {target} --succeeded PROVIDER_ID` if it exists, \
         `sluice resolve {run} {target} --retry` if it does not, or \
         `sluice resolve {run} {target} --skip --reason TEXT`",
        run = key.run_id
    )
}

fn within(deadline: Option<tokio::time::Instant>, wait: Duration) -> bool {
    deadline.is_none_or(|d| tokio::time::Instant::now() + wait < d)
}
