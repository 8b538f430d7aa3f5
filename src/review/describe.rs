//! The words text and Markdown share: step headings, decision counts, policies, values,
//! amounts and the summary line, so both formats say the same thing the same way.

use serde_json::Value;

use super::model::{
    Decision, DryRun, FailurePoint, ItemDetail, ItemPlan, NotifyPlan, ProviderPlan, StepPlan,
    Summary,
};

/// How many items of a batch text and Markdown list (the plan keeps them in full); the
/// JSON plan lists every item.
pub const BATCH_ROWS: usize = super::model::SAMPLE;

/// How many problems text and Markdown list; the JSON plan has all.
pub const PROBLEMS_SHOWN: usize = 50;

/// `transfer via ws (whalestack)`, or `assert`.
pub fn action(step: &StepPlan, providers: &[ProviderPlan]) -> String {
    match &step.provider {
        Some(p) => {
            let kind = providers
                .iter()
                .find(|d| &d.name == p)
                .map_or(String::new(), |d| format!(" ({})", d.kind));
            format!("{} via `{p}`{kind}", step.action)
        }
        None => step.action.clone(),
    }
}

/// `7 will run, 1 will skip` over a step's items, or one item's decision with its reason.
pub fn decisions(step: &StepPlan) -> String {
    if step.for_each.is_none()
        && let Some(item) = step.items.first()
    {
        return match &item.reason {
            Some(r) => format!("{}: {r}", item.decision.words()),
            None => item.decision.words().to_string(),
        };
    }
    let mut parts = Vec::new();
    for d in [
        Decision::Run,
        Decision::Skip,
        Decision::AtApply,
        Decision::Fail,
    ] {
        let n = step.items.iter().filter(|i| i.decision == d).count();
        if n > 0 {
            parts.push(format!("{n} {}", d.words()));
        }
    }
    if parts.is_empty() {
        "no items".to_string()
    } else {
        parts.join(", ")
    }
}

/// `5 attempts, exponential backoff 1s to 1m, with jitter (from defaults)`. Only failures
/// classified retryable (nothing was applied) are ever retried.
pub fn retry(step: &StepPlan) -> Option<String> {
    let r = step.policy.retry.as_ref()?;
    let backoff = if r.backoff == "fixed" {
        format!("fixed backoff {}", r.initial)
    } else {
        format!("exponential backoff {} to {}", r.initial, r.max)
    };
    Some(format!(
        "{} attempt{}, {backoff}, {} (from {})",
        r.max_attempts,
        if r.max_attempts == 1 { "" } else { "s" },
        if r.jitter { "with jitter" } else { "no jitter" },
        r.from
    ))
}

/// `30s per item (from defaults); 30s per request (provider `ws`)`.
pub fn timeout(step: &StepPlan) -> Option<String> {
    // An await's own `timeout` bounds it (see [`wait`]); control steps call nothing.
    let (timeout, from) = (
        step.policy.timeout.as_ref()?,
        step.policy.timeout_from.as_ref()?,
    );
    let per = if step.for_each.is_some() {
        "per item"
    } else {
        "for the step"
    };
    let own = format!("{timeout} {per} (from {from})");
    Some(match (&step.policy.request_timeout, &step.provider) {
        (Some(t), Some(p)) => format!("{own}; {t} per request (provider `{p}`)"),
        _ => own,
    })
}

/// `waits for CHECKOUT_COMPLETED on the checkout, reading it every 1m, for at most 2h, then fails`.
pub fn wait(step: &StepPlan) -> Option<String> {
    let w = step.policy.wait.as_ref()?;
    Some(format!(
        "for {} on the {}, reading it every {}, for at most {}, then {}",
        w.events.join(" or "),
        w.object,
        w.poll_every,
        w.timeout,
        if w.on_timeout == "continue" {
            "continues"
        } else {
            "fails"
        }
    ))
}

/// `2 distinct approvals, not the starter, from alice, bob; timeout 4h, then fail`.
pub fn approval(step: &StepPlan) -> Option<String> {
    step.policy.approval.clone()
}

/// Other policy notes: `continue_on_error`, `tolerate_failures`, `max_parallel`.
pub fn extras(step: &StepPlan) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = step.for_each.as_ref().and_then(|f| f.max_parallel) {
        out.push(format!("at most {n} items at once"));
    }
    if let Some(t) = &step.policy.tolerate_failures {
        out.push(format!("tolerates {t} failed items"));
    }
    if step.policy.continue_on_error {
        out.push("a failure does not fail the run (continue_on_error)".to_string());
    }
    out
}

/// A `with` value: text as is, anything else as compact JSON.
pub fn value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `2500.00 EURC`, several joined by `, `; `–` when there is none.
pub fn amounts(item: &ItemPlan) -> String {
    if item.amounts.is_empty() {
        return "–".to_string();
    }
    item.amounts
        .iter()
        .map(|a| format!("{} {}", a.amount, a.unit))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `3 steps, 10 step runs: 9 will run, 1 will skip; 14 requests (14 writes)`.
pub fn summary(s: &Summary) -> String {
    let mut parts = Vec::new();
    for (n, d) in [
        (s.run, Decision::Run),
        (s.skip, Decision::Skip),
        (s.at_apply, Decision::AtApply),
        (s.fail, Decision::Fail),
    ] {
        if n > 0 {
            parts.push(format!("{n} {}", d.words()));
        }
    }
    format!(
        "{} step{}, {} step run{}: {}; {} request{} ({} write{})",
        s.steps,
        plural(s.steps),
        s.items,
        plural(s.items),
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        },
        s.requests,
        plural(s.requests),
        s.writes,
        plural(s.writes)
    )
}

/// `0 errors, 2 warnings`.
pub fn problem_counts(plan: &DryRun) -> String {
    use super::model::Severity;
    let (e, w) = (plan.count(Severity::Error), plan.count(Severity::Warning));
    format!("{e} error{}, {w} warning{}", plural(e), plural(w))
}

/// `s` unless `n` is one.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The first item of a step that sends requests (the plan keeps it in full), to show them
/// as the batch's example.
pub fn example(step: &StepPlan) -> Option<(&ItemPlan, &ItemDetail)> {
    step.items.iter().find_map(|i| Some((i, i.sent()?)))
}

/// How an input was given: `@payroll.csv: 8 rows`, `30000.00`, `25000.00 (default)`.
pub fn input(i: &super::model::RecordedInput) -> String {
    use super::model::InputSource;
    match i.source {
        InputSource::File => format!("@{}: {}", i.path.as_deref().unwrap_or_default(), i.shown),
        InputSource::Literal => i.shown.clone(),
        InputSource::Default => format!("{} (default)", i.shown),
        InputSource::Unset => "(unset)".to_string(),
    }
}

/// A `notify:` rule in a line: `on failed, needs_attention: webhook ${OPS_HOOK}, signed`.
pub fn notify(rule: &NotifyPlan) -> String {
    format!("on {}: {}", rule.on.join(", "), rule.target)
}

/// `whalestack at URL (digest auth, request timeout 30s, 5 requests/s)`.
pub fn provider(p: &ProviderPlan) -> String {
    let mut notes = Vec::new();
    if let Some(a) = &p.auth {
        notes.push(format!("{a} auth"));
    }
    notes.push(format!("request timeout {}", p.request_timeout));
    if let Some(r) = p.rate_limit {
        notes.push(format!("{r} requests/s"));
    }
    if let Some(m) = p.max_in_flight {
        notes.push(format!("{m} in flight"));
    }
    for (op, path) in &p.paths {
        notes.push(format!("path `{op}` = `{path}`"));
    }
    format!("{} at {} ({})", p.kind, p.base_url, notes.join(", "))
}

/// What a step's failure undoes, each undo with what it moves: `` undo `convert.compensate`
/// (120.00 USDC out via `wp`), then `charge.compensate` (120.00 USD out via `white`) ``,
/// `nothing to undo`, or why the run goes forward instead.
pub fn failure(f: &FailurePoint, undos: &[StepPlan]) -> String {
    if let Some(why) = &f.forward {
        return format!("nothing is undone: {why}");
    }
    if f.undone.is_empty() {
        return "nothing to undo".into();
    }
    let steps: Vec<String> = f
        .undone
        .iter()
        .map(|id| {
            let moves = undos
                .iter()
                .find(|u| &u.id == id)
                .map(|u| super::totals::totals(std::slice::from_ref(u)))
                .unwrap_or_default();
            let moves: Vec<String> = moves
                .iter()
                .map(|t| {
                    format!(
                        "{} {} {} via `{}`",
                        t.amount,
                        t.unit,
                        t.direction.as_str(),
                        t.provider
                    )
                })
                .collect();
            if moves.is_empty() {
                format!("`{id}`")
            } else {
                format!("`{id}` ({})", moves.join(", "))
            }
        })
        .collect();
    format!("undo {}", steps.join(", then "))
}
