//! A step's effective retry and timeout policy, every default written out, as the engine
//! resolves it (`plan::retry::RetryPolicy`, `plan::await_spec::AwaitSpec`).

use super::adapters::PlanAdapters;
use super::model::{ItemPlan, Policy, Problem, ProblemKind, RetryShown, Severity, WaitShown};
use crate::catalog::ActionKind;
use crate::plan::CompiledWorkflow;
use crate::plan::await_spec::AwaitSpec;
use crate::plan::retry::RetryPolicy;
use crate::spec::Backoff;

fn duration(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// The step's effective retry and timeout policy, every default written out.
pub fn policy(
    compiled: &CompiledWorkflow,
    i: usize,
    adapters: &PlanAdapters,
    first: Option<&ItemPlan>,
    problems: &mut Vec<Problem>,
) -> Policy {
    let step = &compiled.config.steps[i];
    let defaults = &compiled.config.defaults;
    let action = compiled.steps[i].action;
    let provider = compiled.steps[i]
        .provider
        .as_deref()
        .and_then(|p| adapters.plans().iter().find(|d| d.name == p));
    let from = |own: bool, default: bool| {
        if own {
            "step"
        } else if default {
            "defaults"
        } else {
            "built-in default"
        }
        .to_string()
    };
    let retry = action.needs_provider().then(|| {
        let r = RetryPolicy::resolve(step.retry.as_ref(), defaults.retry.as_ref());
        RetryShown {
            max_attempts: r.max_attempts,
            backoff: match r.backoff {
                Backoff::Exponential => "exponential",
                Backoff::Fixed => "fixed",
            }
            .to_string(),
            initial: duration(r.initial),
            max: duration(r.max),
            jitter: r.jitter,
            from: from(step.retry.is_some(), defaults.retry.is_some()),
        }
    });
    let wait = if action.kind == ActionKind::Await {
        first.and_then(|item| match AwaitSpec::parse(&item.detail.as_ref()?.with) {
            Ok(spec) => Some(WaitShown {
                events: spec.events,
                object: spec
                    .object
                    .unwrap_or_else(|| "(named by the event)".to_string()),
                timeout: duration(spec.timeout),
                poll_every: duration(spec.poll_every),
                on_timeout: if spec.continue_on_timeout {
                    "continue"
                } else {
                    "fail"
                }
                .to_string(),
            }),
            Err(e) => {
                problems.push(Problem::new(
                    Severity::Error,
                    ProblemKind::InvalidRequest,
                    &step.id,
                    format!("`webhook.await`: {e}"),
                ));
                None
            }
        })
    } else {
        None
    };
    let calls = matches!(action.kind, ActionKind::Read | ActionKind::Write);
    Policy {
        retry,
        timeout: calls.then(|| {
            step.timeout
                .or(defaults.timeout)
                .map_or_else(|| "none".to_string(), |t| t.to_string())
        }),
        timeout_from: calls.then(|| from(step.timeout.is_some(), defaults.timeout.is_some())),
        request_timeout: provider.map(|p| p.request_timeout.clone()),
        wait,
        continue_on_error: step.continue_on_error,
        tolerate_failures: step.tolerate_failures.clone(),
    }
}
