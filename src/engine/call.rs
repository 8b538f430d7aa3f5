//! One provider call of one step or item, under the write protocol of DESIGN.md §4:
//! dispatch (durable) → send → record, two-phase checkpoints, retries of retryable
//! failures only, and reconciliation by lookup whenever a write may have landed.
//!
//! Nothing here ever sends a write twice on a guess: a request in doubt is looked up, and
//! when the provider cannot tell, the item stops as `needs_attention` with the exact
//! command that lets the operator continue.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::Write;
use super::retry::RetryPolicy;
use super::writer::{WriteError, Writer};
use crate::providers::{
    Call, FailureClass, IdempotencyKey, Lookup, NormalizedState, Outcome, Output, Provider,
    ProviderError,
};
use crate::spec::actions::ActionKind;
use crate::store::{
    Attention, Checkpoint, Dispatch, NewAttempt, Outcome as StoreOutcome, RetryLater, StepError,
    StepKey, StepRecord, StepResult, StepState, StoreError, idempotency_key, request_diff,
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
    /// Whether the caller uses the output a success returns. A `for_each` item's output is
    /// read back from the store by the steps that use it, so the item does not keep a copy
    /// of a provider answer it only hands to the writer.
    pub keep_output: bool,
}

/// Why the run itself must stop (as opposed to the item failing).
#[derive(Debug, thiserror::Error)]
pub enum Halt {
    /// The checkpoint store failed; nothing more may be sent.
    #[error("checkpoint write failed: {0}")]
    Store(#[from] WriteError),
}

/// Runs a read or write action for one step run, starting from its stored `record`.
///
/// # Errors
/// [`Halt`] when a checkpoint cannot be written (a lost lease, a full disk): the run stops
/// without sending anything that is not durably dispatched.
pub async fn run(
    env: &CallEnv<'_>,
    kind: ActionKind,
    action: &str,
    record: &StepRecord,
    request: Map<String, Value>,
) -> Result<ItemEnd, Halt> {
    let key = &record.key;
    let idk = idempotency_key(&key.run_id, &key.step_id, &key.item_key);
    let ikey = IdempotencyKey::new(idk.clone()).expect("store keys are visible ASCII");
    let request_json = Value::Object(request.clone());
    // Every attempt records the digest of the one request this call sends.
    let digest = crate::store::request_digest(&request_json);
    let mut p = Progress {
        attempts: record.attempts,
        checkpoint: (record.state == StepState::InFlight)
            .then(|| record.checkpoint.clone())
            .flatten(),
        provider_ref: record.provider_ref.clone(),
        needs_dispatch: kind == ActionKind::Write,
    };

    if record.state == StepState::Dispatching {
        // In doubt: the last run dispatched this and did not live to record the answer.
        if let Some(stored) = &record.request
            && stored != &request_json
        {
            let diff = request_diff(stored, &request_json).join("`, `");
            return attention(
                env,
                key,
                &idk,
                format!(
                    "the request changed since it was sent (`{diff}`), and the first request may have been applied"
                ),
            )
            .await;
        }
        match reconcile(
            env,
            &make_call(action, &request, &ikey, None),
            &p,
            key,
            &idk,
        )
        .await?
        {
            Reconciled::Done(end) => return Ok(end),
            Reconciled::Continue(cp, out) => {
                p.provider_ref = out.id.clone();
                checkpoint(env, key, &out, &cp).await?;
                p.checkpoint = Some(cp);
            }
            Reconciled::Resend => p.needs_dispatch = true,
        }
    }

    // Every call counts toward the retry policy, per phase: a second phase dispatches
    // nothing new (`p.attempts` counts dispatches, as the store does).
    let mut tries: u32 = 0;
    loop {
        tries += 1;
        if p.checkpoint.is_none() && p.needs_dispatch {
            crate::engine::failpoint("before_dispatch");
            let dispatch = Write::Dispatch(Dispatch {
                step_id: key.step_id.clone(),
                item_key: key.item_key.clone(),
                idempotency_key: idk.clone(),
                request: request_json.clone(),
            });
            match env.writer.write(dispatch).await {
                Ok(()) => {}
                Err(WriteError::Store(e)) if matches!(*e, StoreError::RequestChanged { .. }) => {
                    return attention(env, key, &idk, e.to_string()).await;
                }
                Err(e) => return Err(e.into()),
            }
            p.attempts += 1;
        } else if kind != ActionKind::Write {
            p.attempts += 1;
        }
        crate::engine::failpoint("after_dispatch");
        let started = Utc::now();
        let phase = if p.checkpoint.is_some() {
            "commit"
        } else {
            "execute"
        };
        let result = env
            .provider
            .execute(&make_call(action, &request, &ikey, p.checkpoint.as_ref()))
            .await;
        crate::engine::failpoint("after_send");
        match result {
            Ok(Outcome::Done(out)) => {
                let attempt = attempt_record(key, &p, phase, &idk, &digest, started, "ok", None);
                return finish(env, key, out, attempt).await;
            }
            Ok(Outcome::Continue {
                checkpoint: cp,
                output,
            }) => {
                p.provider_ref = output.id.clone();
                checkpoint(env, key, &output, &cp).await?;
                crate::engine::failpoint("between_phases");
                p.checkpoint = Some(cp);
                // The next phase gets its own `max_attempts`.
                tries = 0;
            }
            Err(e) => {
                let error = StepError::new(e.class().as_str(), e.to_string());
                let attempt = attempt_record(
                    key,
                    &p,
                    phase,
                    &idk,
                    &digest,
                    started,
                    e.class().as_str(),
                    Some((error.clone(), e.status())),
                );
                match e.class() {
                    FailureClass::Retryable => {
                        let wait = env.policy.wait_after(tries, e.retry_after());
                        match wait.filter(|w| within(env.deadline, *w)) {
                            Some(wait) => {
                                retry_later(env, key, error, wait, attempt).await?;
                                tokio::time::sleep(wait).await;
                            }
                            None => {
                                return fail(env, key, exhausted(&e, tries), Some(attempt)).await;
                            }
                        }
                    }
                    FailureClass::InDoubt if kind == ActionKind::Write => {
                        // The step stays `dispatching` until the lookup decides: a crash
                        // from here on resumes into the same lookup, never into a resend.
                        tracing::warn!(step = %key.step_id, item = %key.item_key, error = %e, "Write in doubt; looking it up.");
                        match reconcile(
                            env,
                            &make_call(action, &request, &ikey, p.checkpoint.as_ref()),
                            &p,
                            key,
                            &idk,
                        )
                        .await?
                        {
                            Reconciled::Done(end) => return Ok(end),
                            Reconciled::Continue(cp, out) => {
                                p.provider_ref = out.id.clone();
                                checkpoint(env, key, &out, &cp).await?;
                                p.checkpoint = Some(cp);
                            }
                            Reconciled::Resend if tries < env.policy.max_attempts => {
                                p.needs_dispatch = true;
                            }
                            Reconciled::Resend => {
                                return fail(env, key, exhausted(&e, tries), None).await;
                            }
                        }
                    }
                    FailureClass::InDoubt => {
                        // A read that may or may not have been answered is simply asked again.
                        let wait = env.policy.wait_after(tries, None);
                        match wait.filter(|w| within(env.deadline, *w)) {
                            Some(wait) => tokio::time::sleep(wait).await,
                            None => {
                                return fail(env, key, exhausted(&e, tries), Some(attempt)).await;
                            }
                        }
                    }
                    FailureClass::Rejected | FailureClass::Invalid => {
                        return fail(env, key, e.to_string(), Some(attempt)).await;
                    }
                }
            }
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

struct Progress {
    attempts: u32,
    checkpoint: Option<Value>,
    provider_ref: Option<String>,
    needs_dispatch: bool,
}

enum Reconciled {
    Done(ItemEnd),
    Continue(Value, Box<Output>),
    Resend,
}

/// Finds out what happened to a write whose answer was lost.
async fn reconcile(
    env: &CallEnv<'_>,
    call: &Call<'_>,
    p: &Progress,
    key: &StepKey,
    idk: &str,
) -> Result<Reconciled, Halt> {
    let mut tries = 0;
    loop {
        tries += 1;
        let started = Utc::now();
        match env.provider.lookup(call, p.provider_ref.as_deref()).await {
            Ok(Lookup::Found(out)) => {
                let attempt = NewAttempt {
                    key: key.clone(),
                    attempt_no: p.attempts,
                    operation: "lookup".into(),
                    idempotency_key: idk.into(),
                    request_digest: None,
                    started_at: started,
                    finished_at: Some(Utc::now()),
                    outcome: "found".into(),
                    error: None,
                    http_status: None,
                };
                return finish(env, key, out, attempt).await.map(Reconciled::Done);
            }
            Ok(Lookup::Continue { checkpoint, output }) => {
                return Ok(Reconciled::Continue(checkpoint, Box::new(output)));
            }
            Ok(Lookup::Absent) => return Ok(Reconciled::Resend),
            Ok(Lookup::Unknown { reason }) => {
                return attention(env, key, idk, reason).await.map(Reconciled::Done);
            }
            Err(e)
                if e.class() == FailureClass::Retryable || e.class() == FailureClass::InDoubt =>
            {
                match env.policy.wait_after(tries, e.retry_after()) {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => {
                        let reason = format!("looking it up failed: {e}");
                        return attention(env, key, idk, reason).await.map(Reconciled::Done);
                    }
                }
            }
            Err(e) => {
                let reason = format!("looking it up failed: {e}");
                return attention(env, key, idk, reason).await.map(Reconciled::Done);
            }
        }
    }
}

async fn checkpoint(
    env: &CallEnv<'_>,
    key: &StepKey,
    out: &Output,
    cp: &Value,
) -> Result<(), Halt> {
    env.writer
        .write(Write::Checkpoint(Checkpoint {
            key: key.clone(),
            provider_ref: out.id.clone().unwrap_or_default(),
            checkpoint: cp.clone(),
        }))
        .await?;
    Ok(())
}

/// Records a final answer: succeeded, or failed when the provider reports the object failed.
async fn finish(
    env: &CallEnv<'_>,
    key: &StepKey,
    out: Output,
    attempt: NewAttempt,
) -> Result<ItemEnd, Halt> {
    if out.state.normalized == NormalizedState::Failed {
        let message = format!(
            "the provider reports the object `{}` as `{}`",
            out.id.as_deref().unwrap_or("?"),
            out.state.raw.as_deref().unwrap_or("failed")
        );
        return fail(env, key, message, Some(attempt)).await;
    }
    let provider_ref = out.id.clone();
    let json = out.into_json();
    let (output, kept) = if env.keep_output {
        (json.clone(), json)
    } else {
        (json, Value::Null)
    };
    env.writer
        .write(Write::Result(StepResult {
            key: key.clone(),
            outcome: StoreOutcome::Succeeded {
                output,
                provider_ref,
            },
            attempt: Some(attempt),
        }))
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
        .unwrap_or_else(|| "failed".into());
    env.writer
        .write(Write::Result(StepResult {
            key: key.clone(),
            outcome: StoreOutcome::Failed(StepError::new(class, message.clone())),
            attempt,
        }))
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
        key.step_id.clone()
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

fn exhausted(e: &ProviderError, attempts: u32) -> String {
    format!("gave up after {attempts} attempts: {e}")
}

fn within(deadline: Option<tokio::time::Instant>, wait: Duration) -> bool {
    deadline.is_none_or(|d| tokio::time::Instant::now() + wait < d)
}

#[allow(clippy::too_many_arguments)]
fn attempt_record(
    key: &StepKey,
    p: &Progress,
    operation: &str,
    idk: &str,
    digest: &str,
    started: DateTime<Utc>,
    outcome: &str,
    error: Option<(StepError, Option<u16>)>,
) -> NewAttempt {
    let (error, http_status) = error.map_or((None, None), |(e, s)| (Some(e), s));
    NewAttempt {
        key: key.clone(),
        attempt_no: p.attempts,
        operation: operation.into(),
        idempotency_key: idk.into(),
        request_digest: Some(digest.to_string()),
        started_at: started,
        finished_at: Some(Utc::now()),
        outcome: outcome.into(),
        error,
        http_status,
    }
}
