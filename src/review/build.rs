//! Building a [`DryRun`]: every step in execution order, every `for_each` element, each
//! rendered the way the engine renders it, then shown by the adapter's pure `preview`.
//!
//! What a plan cannot know it says so instead of guessing:
//! - a `with` value whose template reads `steps.<id>…` is [`KNOWN_AFTER_APPLY`] (those
//!   steps have not run), and the rest of the request is still rendered and previewed;
//! - an `if` that reads `steps.*` or `run.*` is decided at apply; one that reads only
//!   inputs and the element is decided here (`run.*` is not known either: its fields are
//!   assigned when the run starts, and the plan shows them as [`ASSIGNED_AT_APPLY`]);
//! - an idempotency key derives from the run id, so requests carry a placeholder key.
//!
//! A batch renders the same few templates once per element, in one [`Scope`] holding only
//! what the step's templates read, with the element swapped in place: no per-element copy
//! of the context. Each item's requests are counted and hashed as they are rendered and
//! then dropped, except for the items kept in full (the first [`SAMPLE`] and the first
//! that sends): a plan of 100,000 rows never holds more than a few requests.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::adapters::{PlanAdapters, Preview};
use super::amounts;
use super::cards;
use super::hash;
use super::model::{
    ASSIGNED_AT_APPLY, Decision, DryRun, FORMAT, ForEach, InputsRecord, ItemDetail, ItemPlan,
    KNOWN_AFTER_APPLY, Policy, Problem, ProblemKind, Request, RunFields, SAMPLE, Severity,
    StepKind, StepPlan, Summary, WorkflowRef,
};
use super::notify;
use super::policy::policy;
use super::totals;
use super::undo;
use super::unknown::{Condition, contains_unknown, mask_unknown, unknown_fields};
use super::warnings::{self, Checks};
use crate::catalog::{ActionKind, ActionSpec};
use crate::ids::StepId;
use crate::plan::CompiledWorkflow;
use crate::plan::context::{List, RunContext, Uses};
use crate::plan::fingerprint::workflow_hash;
use crate::plan::for_each::DEFAULT_ALIAS;
use crate::plan::render::render_with;
use crate::providers::{Call, IdempotencyKey, ProviderError};
use crate::spec::{OnFailure, StepConfig};
use crate::template::{Scope, Templates};

/// The idempotency key every previewed request carries (the real one derives from the
/// run id, which does not exist yet).
pub const PLACEHOLDER_KEY: &str = "{idempotency_key}";

/// What a plan is made from.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The workflow file as given.
    pub path: &'a str,
    /// Its exact text.
    pub text: &'a str,
    /// The workflow, validated.
    pub compiled: &'a CompiledWorkflow,
    /// The resolved inputs, taken: the plan keeps them as text (`plan::context`), so a
    /// CSV of 100,000 rows is not held as values twice.
    pub inputs: Map<String, Value>,
    /// How they were given.
    pub recorded: &'a InputsRecord,
}

/// Plans `source` against the adapters' previews.
pub fn build(source: Source<'_>, adapters: &PlanAdapters, checks: &Checks) -> DryRun {
    let templates = Templates::new();
    let compiled = source.compiled;
    let run = json!({
        "id": ASSIGNED_AT_APPLY,
        "started_at": ASSIGNED_AT_APPLY,
        "scheduled_for": ASSIGNED_AT_APPLY,
    });
    // Card data in the inputs is looked for before the context takes them.
    let mut problems = cards::input_problems(&source.inputs, compiled.config.sensitive.raw_cards);
    let context = RunContext::new(source.inputs, run);
    let key = IdempotencyKey::new(PLACEHOLDER_KEY).expect("a visible-ASCII placeholder");
    let mut summary = Summary {
        steps: compiled.steps.len(),
        ..Summary::default()
    };
    let mut steps: Vec<StepPlan> = Vec::with_capacity(compiled.steps.len());
    // Steps that run once and will be skipped: their dependants that read them skip too.
    let mut skipped: HashSet<String> = HashSet::new();
    for &i in compiled.dag.order() {
        let step = &compiled.config.steps[i];
        let uses = Uses::of(templates_of(step));
        let forced_skip = compiled.dag.deps(i).iter().find_map(|&d| {
            let dep = &compiled.steps[d].id;
            (skipped.contains(dep) && uses.steps.contains(dep))
                .then(|| format!("`{dep}` will be skipped and this step uses its output"))
        });
        let provider = compiled.steps[i].provider.as_deref();
        let env = StepEnv {
            templates: &templates,
            step,
            action: compiled.steps[i].action,
            provider,
            preview: provider.and_then(|p| adapters.get(p)),
            with: mask_unknown(&Value::Object(step.with.clone())),
            condition: step.condition.as_deref().map(Condition::of),
            forced_skip,
            key: &key,
        };
        let scope = Scope::new(Value::Object(context.for_step(&uses)));
        let (items, for_each) = match (&step.for_each, &step.key) {
            (Some(expr), Some(key_template)) => {
                let for_each = ForEach {
                    over: expr.clone(),
                    alias: step.alias.as_deref().unwrap_or(DEFAULT_ALIAS).to_string(),
                    key: key_template.clone(),
                    max_parallel: step.max_parallel,
                };
                let items = match context.list(&step.id, expr) {
                    Ok(list) => env.items(scope, &for_each, &list, &mut problems, &mut summary),
                    Err(e) => {
                        problems.push(Problem::new(
                            Severity::Error,
                            ProblemKind::ForEach,
                            &step.id,
                            e.to_string(),
                        ));
                        Vec::new()
                    }
                };
                (items, Some(for_each))
            }
            _ => {
                let item = env.item(&scope, None, &mut problems);
                env.count(&mut summary, &item);
                (vec![item], None)
            }
        };
        if step.for_each.is_none()
            && items
                .first()
                .is_some_and(|it| it.decision == Decision::Skip)
        {
            skipped.insert(step.id.clone());
        }
        let policy = policy(compiled, i, adapters, items.first(), &mut problems);
        steps.push(StepPlan {
            id: step.id.clone(),
            action: env.action.name.to_string(),
            kind: kind(env.action.kind),
            provider: provider.map(String::from),
            needs: compiled
                .dag
                .deps(i)
                .iter()
                .map(|&d| compiled.steps[d].id.clone())
                .collect(),
            condition: step.condition.clone(),
            policy,
            for_each,
            items,
        });
    }
    // In the order a failure of the last step would undo them: last completed first.
    let undos: Vec<StepPlan> = compiled
        .dag
        .order()
        .iter()
        .rev()
        .filter_map(|&i| {
            undo_step(
                compiled,
                i,
                &context,
                adapters,
                &templates,
                &key,
                &mut problems,
            )
        })
        .collect();
    let undo =
        (compiled.config.on_failure == OnFailure::Compensate).then(|| undo::path(compiled, undos));
    let providers = adapters.plans().to_vec();
    problems.extend(warnings::check(&steps, &providers, checks));
    problems.sort_by_key(|p| p.severity);
    let mut plan = DryRun {
        format: FORMAT.to_string(),
        plan_hash: String::new(),
        workflow: WorkflowRef {
            path: source.path.to_string(),
            name: compiled.config.name.clone(),
            hash: workflow_hash(source.text),
        },
        inputs: source.recorded.clone(),
        run: RunFields::placeholders(),
        summary,
        totals: totals::totals(&steps),
        largest: totals::largest(&steps),
        providers,
        steps,
        notify: notify::plans(&compiled.config.notify),
        reconcile_every: compiled.config.reconcile.as_ref().map(|r| r.every.clone()),
        problems,
        undo,
    };
    plan.plan_hash = hash::plan_hash(&plan);
    plan
}

/// The undo of step `i` planned as a step of its own (`charge.compensate`): its `with`
/// rendered over the inputs for each item (the step's output is known after apply).
fn undo_step(
    compiled: &CompiledWorkflow,
    i: usize,
    context: &RunContext,
    adapters: &PlanAdapters,
    templates: &Templates,
    key: &IdempotencyKey,
    problems: &mut Vec<Problem>,
) -> Option<StepPlan> {
    let step = &compiled.config.steps[i];
    let undo = compiled.steps[i].undo.as_ref()?;
    let with = &step.compensate.as_ref()?.with;
    let id = StepId::from(&step.id).undo().into_string();
    // The step as its undo: its id, its `for_each` and `key`, the undo's `with`.
    let config = StepConfig {
        id: id.clone(),
        uses: undo.action.name.to_string(),
        with: with.clone(),
        condition: None,
        compensate: None,
        ..step.clone()
    };
    let env = StepEnv {
        templates,
        step: &config,
        action: undo.action,
        provider: Some(&undo.provider),
        preview: adapters.get(&undo.provider),
        with: mask_unknown(&Value::Object(with.clone())),
        condition: None,
        forced_skip: None,
        key,
    };
    let mut uses = Uses::of(templates_of(&config));
    uses.steps.clear();
    let scope = Scope::new(Value::Object(context.for_step(&uses)));
    let mut summary = Summary::default();
    let (items, for_each) = match (&step.for_each, &step.key) {
        (Some(expr), Some(key_template)) => {
            let for_each = ForEach {
                over: expr.clone(),
                alias: step.alias.as_deref().unwrap_or(DEFAULT_ALIAS).to_string(),
                key: key_template.clone(),
                max_parallel: None,
            };
            // The step's own plan reports a list that cannot be read.
            let list = context.list(&step.id, expr).ok()?;
            let items = env.items(scope, &for_each, &list, problems, &mut summary);
            (items, Some(for_each))
        }
        _ => (vec![env.item(&scope, None, problems)], None),
    };
    Some(StepPlan {
        id,
        action: undo.action.name.to_string(),
        kind: kind(undo.action.kind),
        provider: Some(undo.provider.clone()),
        needs: vec![step.id.clone()],
        condition: None,
        policy: Policy::default(),
        for_each,
        items,
    })
}

/// Every template of a step, for the context it needs.
fn templates_of(step: &StepConfig) -> Vec<&str> {
    fn walk<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for v in step.with.values() {
        walk(v, &mut out);
    }
    out.extend(step.condition.as_deref());
    out.extend(step.key.as_deref());
    out
}

/// What every item of one step shares.
struct StepEnv<'a> {
    templates: &'a Templates,
    step: &'a StepConfig,
    action: &'static ActionSpec,
    provider: Option<&'a str>,
    preview: Option<&'a dyn Preview>,
    with: Value,
    condition: Option<Condition<'a>>,
    forced_skip: Option<String>,
    key: &'a IdempotencyKey,
}

impl StepEnv<'_> {
    /// Every element of a `for_each` list, keys checked like the engine checks them, each
    /// counted in `summary`; only the sample keeps its requests.
    ///
    /// The elements are independent, so they are rendered on every core: each worker owns a
    /// copy of the step's scope (which holds only what its templates read) and renders
    /// chunks of elements in turn; this thread takes the chunks back in list order and does
    /// what depends on the order (duplicate keys, counts, the sample). The plan is the same
    /// whatever the number of workers.
    fn items(
        &self,
        mut scope: Scope,
        for_each: &ForEach,
        list: &List,
        problems: &mut Vec<Problem>,
        summary: &mut Summary,
    ) -> Vec<ItemPlan> {
        let mut merge = Merge::new(list.len());
        let chunks = list.len().div_ceil(CHUNK);
        let workers = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(chunks)
            .max(1);
        // Each worker allocates in a heap of its own, which cannot reuse what earlier steps
        // freed in this thread's.
        crate::memory::release_freed();
        std::thread::scope(|threads| {
            // Chunk `c` is rendered by worker `c % workers`: worker 0 is this thread, which
            // also merges; each other worker hands its chunks over through its own channel
            // of one, so none gets more than two chunks ahead of the merge. One thread per
            // core and no more: each thread allocates in a heap of its own.
            let outputs: Vec<_> = (1..workers)
                .map(|w| {
                    let (tx, rx) = std::sync::mpsc::sync_channel(1);
                    let mut scope = scope.clone();
                    threads.spawn(move || {
                        for c in (w..chunks).step_by(workers) {
                            let rendered = self.chunk(&mut scope, for_each, list, c);
                            if tx.send(rendered).is_err() {
                                return;
                            }
                        }
                    });
                    rx
                })
                .collect();
            for c in 0..chunks {
                let rendered = match c % workers {
                    0 => self.chunk(&mut scope, for_each, list, c),
                    w => outputs[w - 1]
                        .recv()
                        .expect("a worker renders each of its chunks or panics"),
                };
                merge.take(&self.step.id, rendered, problems, summary);
                // The heaps free what each chunk rendered between the items the plan keeps;
                // given back now and then, those pages do not add up.
                if c % TRIM_EVERY == TRIM_EVERY - 1 {
                    crate::memory::release_freed();
                }
            }
        });
        merge.items
    }

    /// Chunk `c` of `list`, each element rendered in `scope` with its key and problems, and
    /// counted. Only the items the plan may keep in full keep their requests: the sample, and
    /// the chunk's first that sends (the merge keeps the batch's first).
    fn chunk(&self, scope: &mut Scope, for_each: &ForEach, list: &List, c: usize) -> Vec<Rendered> {
        let end = ((c + 1) * CHUNK).min(list.len());
        let mut sender_kept = false;
        (c * CHUNK..end)
            .map(|i| {
                let value = list.get(i).expect("the chunk is within the list");
                scope.insert(&for_each.alias, value);
                let mut rendered = self.element(scope, &for_each.key, i);
                if i >= SAMPLE && (sender_kept || !rendered.sends) {
                    rendered.item.detail = None;
                }
                sender_kept |= rendered.sends;
                rendered
            })
            .collect()
    }

    /// Element `i` (in `scope`): its key, rendered by `key`, and its item.
    fn element(&self, scope: &Scope, key: &str, i: usize) -> Rendered {
        let id = &self.step.id;
        let (key, key_problem) = match self.templates.render(key, scope) {
            Ok(k) if !k.trim().is_empty() => (k.trim().to_string(), None),
            Ok(_) => (
                format!("#{}", i + 1),
                Some(Problem::new(
                    Severity::Error,
                    ProblemKind::ForEach,
                    id,
                    format!("element {} has an empty key", i + 1),
                )),
            ),
            Err(e) => (
                format!("#{}", i + 1),
                Some(Problem::new(
                    Severity::Error,
                    ProblemKind::Template,
                    id,
                    format!("element {}: `key`: {e}", i + 1),
                )),
            ),
        };
        let mut problems = Vec::new();
        let item = self.item(scope, Some(key.clone()), &mut problems);
        let mut counted = Summary::default();
        self.count(&mut counted, &item);
        Rendered {
            key,
            key_problem,
            sends: item.sent().is_some(),
            item,
            problems,
            counted,
        }
    }

    /// One step run: its `if`, its `with`, its requests, and their digest; kept in full.
    fn item(&self, scope: &Scope, key: Option<String>, problems: &mut Vec<Problem>) -> ItemPlan {
        let mut item = ItemPlan {
            key,
            decision: Decision::Run,
            reason: None,
            amounts: Vec::new(),
            target: None,
            digest: String::new(),
            detail: None,
        };
        let mut detail = ItemDetail::default();
        self.render(scope, &mut item, &mut detail, problems);
        // What a plan shows and hashes has its card data masked (its requests already are).
        detail.with = crate::sensitive::mask_map(&detail.with);
        item.digest = hash::request_digest(&detail);
        item.detail = Some(Box::new(detail));
        item.masked()
    }

    /// Decides `item` and renders what it sends into `detail`.
    fn render(
        &self,
        scope: &Scope,
        item: &mut ItemPlan,
        detail: &mut ItemDetail,
        problems: &mut Vec<Problem>,
    ) {
        let label = item.label(&self.step.id);
        let mut fail = |item: &mut ItemPlan, kind: ProblemKind, message: String| {
            item.decision = Decision::Fail;
            item.reason = Some(message.clone());
            problems.push(Problem::new(Severity::Error, kind, &label, message));
        };
        if let Some(reason) = &self.forced_skip {
            item.decision = Decision::Skip;
            item.reason = Some(reason.clone());
        } else {
            match &self.condition {
                None => {}
                Some(Condition::AtApply(why)) => {
                    item.decision = Decision::AtApply;
                    item.reason = Some(why.clone());
                }
                Some(Condition::Static(t)) => match self.templates.render_bool(t, scope) {
                    Ok(true) => {}
                    Ok(false) => {
                        item.decision = Decision::Skip;
                        item.reason = Some(format!("`if` is false: {t}"));
                    }
                    Err(e) => fail(item, ProblemKind::Template, format!("`if`: {e}")),
                },
            }
        }
        let none = Map::new();
        let with = self.with.as_object().unwrap_or(&none);
        match render_with(self.templates, self.action, with, scope) {
            Ok(map) => detail.with = map,
            // A skipped item is never rendered by the engine, so its errors do not count.
            Err(_) if item.decision == Decision::Skip => {}
            Err(e) => {
                fail(item, ProblemKind::Template, format!("`with`: {e}"));
                return;
            }
        }
        item.amounts = amounts::amounts(self.action, &detail.with);
        // Every item of a batch keeps its amounts: no room for more.
        item.amounts.shrink_to_fit();
        item.target = amounts::target(&detail.with);
        if matches!(item.decision, Decision::Skip | Decision::Fail) {
            return;
        }
        match self.action.kind {
            ActionKind::Control => {
                if self.action.name == "assert" && asserts_false(&detail.with) {
                    let message = detail
                        .with
                        .get("message")
                        .and_then(Value::as_str)
                        .map_or_else(
                            || "the assertion fails".to_string(),
                            |m| format!("the assertion fails: {m}"),
                        );
                    fail(item, ProblemKind::Assert, message);
                }
            }
            ActionKind::Await => {}
            ActionKind::Read | ActionKind::Write => {
                let Some(preview) = self.preview else {
                    let name = self.provider.unwrap_or_default();
                    fail(
                        item,
                        ProblemKind::InvalidRequest,
                        format!("provider `{name}` is not configured"),
                    );
                    return;
                };
                let call = Call {
                    action: self.action.name,
                    with: &detail.with,
                    key: self.key,
                    checkpoint: None,
                };
                match preview.preview(&call) {
                    Ok(requests) => {
                        detail.requests = requests.into_iter().map(Request::from).collect()
                    }
                    // The adapter needs a value the plan does not have (an amount from an
                    // earlier step): the neutral `with` is all that can be shown.
                    Err(ProviderError::Invalid { .. })
                        if detail.with.values().any(contains_unknown) =>
                    {
                        detail.requests_note = Some(format!(
                            "the request is built from values known after apply; the adapter \
                             checks them then ({})",
                            unknown_fields(&detail.with).join(", ")
                        ));
                        // The amounts that are known can still be checked here.
                        if let Some(e) = item.amounts.iter().find_map(|a| {
                            let amount = crate::money::parse_amount(&a.amount).ok()?;
                            crate::money::check_precision(amount, &a.unit).err()
                        }) {
                            fail(item, ProblemKind::InvalidRequest, e.to_string());
                        }
                    }
                    Err(e) => fail(item, ProblemKind::InvalidRequest, e.to_string()),
                }
            }
        }
    }

    /// Adds `item` (still in full) to the plan's counts.
    fn count(&self, s: &mut Summary, item: &ItemPlan) {
        s.items += 1;
        match item.decision {
            Decision::Run => s.run += 1,
            Decision::Skip => s.skip += 1,
            Decision::AtApply => s.at_apply += 1,
            Decision::Fail => s.fail += 1,
        }
        let Some(detail) = &item.detail else { return };
        if matches!(item.decision, Decision::Run | Decision::AtApply) {
            s.requests += detail.requests.len();
            s.writes += detail.requests.iter().filter(|r| r.is_write()).count();
            let unknown = |v: &Value| v.as_str() == Some(KNOWN_AFTER_APPLY);
            if self.action.kind == ActionKind::Write
                && item.amounts.is_empty()
                && detail.with.values().any(unknown)
            {
                s.unknown_amounts += 1;
            }
        }
    }
}

/// Elements rendered per chunk: enough to keep a worker busy between hand-overs, few enough
/// that the chunks waiting to be merged hold little.
const CHUNK: usize = 256;

/// Chunks merged between two returns of freed memory to the system.
const TRIM_EVERY: usize = 32;

/// One element of a batch as a worker rendered it, before the merge decides what depends
/// on the elements before it.
struct Rendered {
    key: String,
    key_problem: Option<Problem>,
    item: ItemPlan,
    problems: Vec<Problem>,
    /// The item counted while its requests were still there.
    counted: Summary,
    /// It sends a request (known before its requests may be dropped).
    sends: bool,
}

/// The items of a batch in list order, with what the order decides: the first element of
/// each key, and whether an item that sends was kept in full.
struct Merge {
    first: HashMap<String, usize>,
    items: Vec<ItemPlan>,
    sender_kept: bool,
}

impl Merge {
    fn new(len: usize) -> Merge {
        Merge {
            first: HashMap::with_capacity(len),
            items: Vec::with_capacity(len),
            sender_kept: false,
        }
    }

    /// Takes the next elements in list order: their problems, a duplicate key as a problem,
    /// each counted in `summary`, and only the sample kept in full.
    fn take(
        &mut self,
        id: &str,
        rendered: Vec<Rendered>,
        problems: &mut Vec<Problem>,
        summary: &mut Summary,
    ) {
        for r in rendered {
            let i = self.items.len();
            problems.extend(r.key_problem);
            match self.first.get(&r.key) {
                Some(f) => problems.push(Problem::new(
                    Severity::Error,
                    ProblemKind::DuplicateKey,
                    &format!("{id}[{}]", r.key),
                    format!(
                        "elements {} and {} have the key `{}`; the run refuses to start \
                         (each key is one payment's idempotency key)",
                        f + 1,
                        i + 1,
                        r.key
                    ),
                )),
                None => {
                    self.first.insert(r.key, i);
                }
            }
            problems.extend(r.problems);
            *summary += r.counted;
            let mut item = r.item;
            if i >= SAMPLE && (self.sender_kept || !r.sends) {
                item.detail = None;
            }
            self.sender_kept |= r.sends && item.detail.is_some();
            self.items.push(item);
        }
    }
}

fn asserts_false(with: &Map<String, Value>) -> bool {
    match with.get("that") {
        Some(Value::Bool(b)) => !b,
        Some(Value::String(s)) => s != KNOWN_AFTER_APPLY && s.trim() != "true",
        _ => false,
    }
}

fn kind(kind: ActionKind) -> StepKind {
    match kind {
        ActionKind::Control => StepKind::Control,
        ActionKind::Read => StepKind::Read,
        ActionKind::Write => StepKind::Write,
        ActionKind::Await => StepKind::Await,
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{Direction, ProblemKind, Severity};
    use super::super::testing::{PAYROLL, csv, detail, plan};
    use super::*;

    fn kinds(plan: &DryRun) -> Vec<(Severity, ProblemKind, String)> {
        plan.problems
            .iter()
            .map(|p| (p.severity, p.kind, p.subject.clone()))
            .collect()
    }

    #[test]
    fn items_decisions_requests_and_unknowns() {
        let payees = csv("id,amount,to\nE1,10.50,Ada\nE2,0,Bo\nE3,20,Cy\n");
        let p = plan(PAYROLL, &[("payees", payees)], &Checks::default());
        assert_eq!(
            p.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["check", "pay", "done"]
        );
        assert_eq!(p.steps[0].items[0].decision, Decision::Run);
        assert_eq!(detail(&p.steps[0].items[0]).with["that"], Value::Bool(true));
        let pay = &p.steps[1];
        let decisions: Vec<Decision> = pay.items.iter().map(|i| i.decision).collect();
        assert_eq!(decisions, [Decision::Run, Decision::Skip, Decision::Run]);
        assert_eq!(
            pay.items[1].reason.as_deref(),
            Some("`if` is false: {{gt p.amount '0'}}")
        );
        assert!(detail(&pay.items[1]).requests.is_empty());
        let first = &pay.items[0];
        assert_eq!(first.key.as_deref(), Some("E1"));
        let sent = detail(first);
        assert_eq!(sent.requests.len(), 2);
        assert_eq!(sent.requests[0].line(), "POST /transfer");
        let body = sent.requests[0].body.as_deref().unwrap();
        assert!(body.contains(r#""amount":10.50"#), "{body}");
        assert!(body.contains("[sluice:{idempotency_key}]"), "{body}");
        assert!(
            sent.requests[0]
                .headers
                .contains(&"X-Digest-Signature: ***".to_string())
        );
        assert_eq!(first.target.as_deref(), Some("Ada"));
        assert_eq!(
            detail(&p.steps[2].items[0]).with["message"],
            KNOWN_AFTER_APPLY
        );
        assert_eq!(p.summary.requests, 4);
        assert_eq!(p.summary.skip, 1);
        assert_eq!(p.totals.len(), 1);
        assert_eq!(p.totals[0].amount, "30.50");
        assert_eq!(p.totals[0].direction, Direction::Out);
        assert_eq!(p.largest[0].item, "pay[E3]");
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.plan_hash, hash::plan_hash(&p));
        assert_eq!(p.plan_hash.len(), 64);

        // Deterministic, and any change to an amount changes the hash.
        let again = plan(
            PAYROLL,
            &[(
                "payees",
                csv("id,amount,to\nE1,10.50,Ada\nE2,0,Bo\nE3,20,Cy\n"),
            )],
            &Checks::default(),
        );
        assert_eq!(again, p);
        let changed = plan(
            PAYROLL,
            &[(
                "payees",
                csv("id,amount,to\nE1,10.51,Ada\nE2,0,Bo\nE3,20,Cy\n"),
            )],
            &Checks::default(),
        );
        assert_ne!(changed.plan_hash, p.plan_hash);
    }

    #[test]
    fn a_batch_keeps_the_requests_of_its_sample_and_the_digest_of_every_item() {
        // The first SAMPLE + 3 rows skip (amount 0), so the first that sends is past the
        // sample; then 10 more that send.
        let mut rows = String::from("id,amount,to\n");
        for i in 1..=SAMPLE + 13 {
            let amount = if i <= SAMPLE + 3 { "0" } else { "1.25" };
            rows.push_str(&format!("E{i},{amount},P{i}\n"));
        }
        let p = plan(PAYROLL, &[("payees", csv(&rows))], &Checks::default());
        let pay = &p.steps[1];
        assert_eq!(pay.items.len(), SAMPLE + 13);
        let kept: Vec<usize> = (0..pay.items.len())
            .filter(|&i| pay.items[i].detail.is_some())
            .collect();
        let mut expected: Vec<usize> = (0..SAMPLE).collect();
        expected.push(SAMPLE + 3);
        assert_eq!(kept, expected);
        assert_eq!(detail(&pay.items[SAMPLE + 3]).requests.len(), 2);
        // Every item has its own digest, and the counts include the dropped requests.
        let digests: HashSet<&str> = pay.items.iter().map(|i| i.digest.as_str()).collect();
        assert_eq!(digests.len(), pay.items.len());
        assert!(digests.iter().all(|d| d.len() == 64));
        assert_eq!(p.summary.requests, 10 * 2);
        assert_eq!(pay.items[SAMPLE + 12].amounts[0].amount, "1.25");
        assert_eq!(pay.items[SAMPLE + 12].target.as_deref(), Some("P33"));
        assert_eq!(p.totals[0].amount, "12.50");
        // An item past the sample changes the plan hash like any other.
        let changed = plan(
            PAYROLL,
            &[("payees", csv(&rows.replace("E33,1.25,P33", "E33,1.25,P34")))],
            &Checks::default(),
        );
        assert_ne!(changed.plan_hash, p.plan_hash);
        assert_ne!(changed.steps[1].items[32].digest, pay.items[32].digest);
        assert_eq!(changed.steps[1].items[31].digest, pay.items[31].digest);
    }

    #[test]
    fn a_batch_of_many_chunks_is_planned_in_list_order_whatever_renders_it() {
        // Rows past the sample in later chunks: all skip (amount 0) until the first that
        // sends, a precision error, and a key repeated from the first chunk.
        let rows_n = 3 * CHUNK + 7;
        let (sender, bad, dup) = (CHUNK + 5, 2 * CHUNK + 1, 3 * CHUNK + 3);
        let mut rows = String::from("id,amount,to\n");
        for i in 0..rows_n {
            let id = if i == dup {
                "E1".to_string()
            } else {
                format!("E{i}")
            };
            let amount = match i {
                _ if i == bad => "1.123456789",
                _ if i >= sender => "1.25",
                _ => "0",
            };
            rows.push_str(&format!("{id},{amount},P{i}\n"));
        }
        let p = plan(PAYROLL, &[("payees", csv(&rows))], &Checks::default());
        let pay = &p.steps[1];
        let keys: Vec<&str> = pay.items.iter().filter_map(|i| i.key.as_deref()).collect();
        let expected: Vec<String> = (0..rows_n)
            .map(|i| {
                if i == dup {
                    "E1".into()
                } else {
                    format!("E{i}")
                }
            })
            .collect();
        assert_eq!(keys, expected);
        let kept: Vec<usize> = (0..rows_n)
            .filter(|&i| pay.items[i].detail.is_some())
            .collect();
        let mut sample: Vec<usize> = (0..SAMPLE).collect();
        sample.push(sender);
        assert_eq!(kept, sample);
        let batch: Vec<(ProblemKind, &str)> = p
            .problems
            .iter()
            .filter(|x| x.subject.starts_with("pay["))
            .map(|x| (x.kind, x.subject.as_str()))
            .collect();
        let bad_key = format!("pay[E{bad}]");
        assert_eq!(
            batch,
            [
                (ProblemKind::InvalidRequest, bad_key.as_str()),
                (ProblemKind::DuplicateKey, "pay[E1]")
            ]
        );
        // With `check` and `done` around the batch.
        assert_eq!(p.summary.items, rows_n + 2);
        assert_eq!(p.summary.skip, sender);
        let failed: Vec<usize> = (0..rows_n)
            .filter(|&i| pay.items[i].decision == Decision::Fail)
            .collect();
        assert_eq!(failed, [bad]);
        assert_eq!(p.summary.requests, 2 * (rows_n - sender - 1));
    }

    #[test]
    fn duplicates_precision_and_failing_assertions_are_problems_not_crashes() {
        let payees = csv("id,amount,to\nE1,60,Ada\nE1,1.123456789,Bo\nE3,60,Ada\n");
        let p = plan(PAYROLL, &[("payees", payees)], &Checks::default());
        let found = kinds(&p);
        assert!(
            found.contains(&(Severity::Error, ProblemKind::DuplicateKey, "pay[E1]".into())),
            "{found:?}"
        );
        assert!(
            found.contains(&(
                Severity::Error,
                ProblemKind::InvalidRequest,
                "pay[E1]".into()
            )),
            "{found:?}"
        );
        assert!(
            found.contains(&(Severity::Error, ProblemKind::Assert, "check".into())),
            "{found:?}"
        );
        assert!(
            found.contains(&(Severity::Warning, ProblemKind::DuplicatePayee, "pay".into())),
            "{found:?}"
        );
        assert_eq!(p.steps[1].items.len(), 3);
        assert_eq!(p.steps[1].items[1].decision, Decision::Fail);
        let precision = p
            .problems
            .iter()
            .find(|x| x.kind == ProblemKind::InvalidRequest)
            .unwrap();
        assert!(
            precision.message.contains("1.123456789"),
            "{}",
            precision.message
        );
        assert_eq!(p.steps[0].items[0].decision, Decision::Fail);
        assert_eq!(
            p.steps[0].items[0].reason.as_deref(),
            Some("the assertion fails: over budget")
        );
        // Errors first.
        assert_eq!(p.problems[0].severity, Severity::Error);
        assert_eq!(p.problems.last().unwrap().severity, Severity::Warning);
    }

    #[test]
    fn conditions_on_earlier_steps_are_decided_at_apply_and_skips_propagate() {
        let yaml = r#"
version: 1
name: t
inputs:
  go: { type: boolean, default: "false" }
providers:
  wp: { kind: whitepay, base_url: "http://127.0.0.1:9/whitepay", token: "${WP_TOKEN}" }
steps:
  - id: balance
    uses: balance.get
    with: { currency: USDT }
  - id: convert
    uses: swap
    if: "{{gt steps.balance.output.amount '10'}}"
    with: { source_asset: USDT, target_asset: USDC, source_amount: "{{steps.balance.output.amount}}" }
  - id: maybe
    uses: swap
    if: "{{eq inputs.go true}}"
    with: { source_asset: USDT, target_asset: USDC, source_amount: "5.00" }
  - id: after
    uses: log
    with: { message: "{{json steps.maybe.output}}" }
"#;
        let p = plan(yaml, &[], &Checks::default());
        let convert = &p.steps[1].items[0];
        assert_eq!(convert.decision, Decision::AtApply);
        assert_eq!(
            convert.reason.as_deref(),
            Some("`if` reads `steps.balance.output.amount`")
        );
        assert!(detail(convert).requests.is_empty());
        assert!(
            detail(convert)
                .requests_note
                .as_deref()
                .unwrap()
                .contains("`source_amount`")
        );
        assert_eq!(p.steps[2].items[0].decision, Decision::Skip);
        assert_eq!(p.steps[3].items[0].decision, Decision::Skip);
        assert_eq!(
            p.steps[3].items[0].reason.as_deref(),
            Some("`maybe` will be skipped and this step uses its output")
        );
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert!(p.totals.is_empty());
        let retry = p.steps[0].policy.retry.as_ref().unwrap();
        assert_eq!(
            (retry.max_attempts, retry.from.as_str()),
            (5, "built-in default")
        );
        assert_eq!(p.steps[0].policy.timeout.as_deref(), Some("none"));
        assert_eq!(p.steps[0].policy.request_timeout.as_deref(), Some("30s"));
        assert_eq!(p.steps[3].policy.retry, None);
    }
}
