//! The dry run as data: [`DryRun`] and its parts, which every renderer reads and which
//! `--out` writes as JSON (and `run --plan` and `plan --diff` read back).
//!
//! An item keeps what review and `--diff` read (key, decision, amounts, counterparty) and
//! the digest of its rendered `with` and exact requests; only the items a plan shows in
//! full ([`ItemPlan::detail`]: the first [`SAMPLE`] of a batch, the first that sends, every
//! step that runs once) keep the requests themselves. So a batch of 100,000 rows is planned
//! one item at a time, each request rendered, hashed and dropped.
//!
//! Everything here is deterministic: no clock, no random id, amounts as exact decimal text,
//! lists in execution or sorted order. Values a plan cannot know are the fixed strings
//! [`KNOWN_AFTER_APPLY`] and [`ASSIGNED_AT_APPLY`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use super::notify::NotifyPlan;
use crate::providers::WireRequest;
use crate::sensitive;

/// The `format` of a plan file this version writes and reads (`sluice-plan/1` held every
/// item's requests).
pub const FORMAT: &str = "sluice-plan/2";

/// How many items of a batch a plan keeps in full (and text and Markdown list).
pub const SAMPLE: usize = 20;

/// What a value that depends on an earlier step's output shows.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// What the run's own fields (`run.id`, `run.started_at`, `run.scheduled_for`) show.
pub const ASSIGNED_AT_APPLY: &str = "(assigned at apply)";

/// A whole plan: what `sluice plan` shows and `--out` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRun {
    /// Always [`FORMAT`].
    pub format: String,
    /// SHA-256 over the canonical plan (see `hash`).
    pub plan_hash: String,
    /// The workflow file.
    pub workflow: WorkflowRef,
    /// The inputs the plan was made with.
    pub inputs: InputsRecord,
    /// The run's fields, all [`ASSIGNED_AT_APPLY`].
    pub run: RunFields,
    /// The provider blocks, by name.
    pub providers: Vec<ProviderPlan>,
    /// Every step, in execution order.
    pub steps: Vec<StepPlan>,
    /// The `notify:` rules: who hears of which run events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<NotifyPlan>,
    /// How often `sluice serve` reconciles the runs (`reconcile.every`), as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_every: Option<String>,
    /// Counts over the steps and items.
    pub summary: Summary,
    /// Amounts per direction, asset or currency, and provider.
    pub totals: Vec<Total>,
    /// The largest amounts, per asset or currency.
    pub largest: Vec<Largest>,
    /// Errors and warnings, in step order.
    pub problems: Vec<Problem>,
    /// What a failure undoes, under `on_failure: compensate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<UndoPath>,
}

/// The undo path of a workflow with `on_failure: compensate` (README, *Compensation*): for
/// every step whose failure ends the run, what is undone and with which request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UndoPath {
    /// Per step that can fail, in execution order.
    pub failures: Vec<FailurePoint>,
    /// Each undo as a step of its own (`charge.compensate`), planned like the steps: its
    /// action, provider and, per item, the request it sends.
    pub undos: Vec<StepPlan>,
    /// What the whole undo path moves, when every undo runs.
    pub totals: Vec<Total>,
}

/// What a step's failure undoes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailurePoint {
    /// The step that fails.
    pub step: String,
    /// The steps undone (at least these: any other step with an undo that completed by
    /// then too), in the order they are undone: last completed first.
    pub undone: Vec<String>,
    /// Why nothing is undone, when nothing is: the pivot passed, or the step must complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<String>,
}

/// The workflow file a plan was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRef {
    /// The path as given on the command line.
    pub path: String,
    /// The workflow's `name`.
    pub name: String,
    /// `plan::fingerprint::workflow_hash` of the file's text.
    pub hash: String,
}

/// The inputs of a plan: enough to make the same plan again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputsRecord {
    /// `plan::fingerprint::inputs_hash` of the resolved inputs, as the run records it.
    pub hash: String,
    /// Every declared input, by name.
    pub values: Vec<RecordedInput>,
}

/// Where an input's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputSource {
    /// `--input name=value`.
    Literal,
    /// `--input name=@path`.
    File,
    /// The workflow's `default`.
    Default,
    /// Not given, no default, not required.
    Unset,
}

/// One input as the plan used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedInput {
    /// The input's name.
    pub name: String,
    /// Where its value came from.
    pub source: InputSource,
    /// The text given, for a literal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The file, for `@path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// SHA-256 of the file's text, for `@path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    /// `digest::request_digest` of the resolved value.
    pub hash: String,
    /// The value in a few words (`8 rows`, `25000.00`).
    pub shown: String,
}

/// The run's fields as a plan shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFields {
    /// `run.id`.
    pub id: String,
    /// `run.started_at`.
    pub started_at: String,
    /// `run.scheduled_for`.
    pub scheduled_for: String,
}

impl RunFields {
    /// Every field [`ASSIGNED_AT_APPLY`].
    pub fn placeholders() -> Self {
        RunFields {
            id: ASSIGNED_AT_APPLY.into(),
            started_at: ASSIGNED_AT_APPLY.into(),
            scheduled_for: ASSIGNED_AT_APPLY.into(),
        }
    }
}

/// A provider block as resolved for the plan, without credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderPlan {
    /// The block's name.
    pub name: String,
    /// The adapter kind.
    pub kind: String,
    /// The base URL (any user:password part replaced by `***`).
    pub base_url: String,
    /// Whalestack request signing (`digest` or `basic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// The per-request timeout.
    pub request_timeout: String,
    /// Requests per second, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// Requests in flight, if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// Path overrides.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub paths: BTreeMap<String, String>,
    /// Webhook signature header override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_signature_header: Option<String>,
    /// SHA-256 over every field above: what `run --plan` compares.
    pub fingerprint: String,
}

/// What kind of thing a step's action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Runs inside sluice.
    Control,
    /// Reads from a provider.
    Read,
    /// Creates an object or moves money.
    Write,
    /// Waits for a provider event.
    Await,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepPlan {
    /// Its id.
    pub id: String,
    /// The action.
    pub action: String,
    /// Control, read, write or await.
    pub kind: StepKind,
    /// The provider block, for provider actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The steps it waits for (`needs` and template references).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// Its `if` template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// The effective retry and timeout policy.
    pub policy: Policy,
    /// The `for_each` expansion, for batch steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ForEach>,
    /// One entry per item; a step that runs once has one item without a key.
    pub items: Vec<ItemPlan>,
}

/// A `for_each` expansion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForEach {
    /// The list (`inputs.payees`).
    pub over: String,
    /// The element's name in templates.
    pub alias: String,
    /// The `key` template.
    pub key: String,
    /// `max_parallel`, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<u32>,
}

/// How a step is retried and timed out, defaults written out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Retries of retryable failures (provider steps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryShown>,
    /// How long a provider call of the step (of each item) may take, retries included: a
    /// duration or `none` (provider steps only; an await is bounded by its `wait`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Where `timeout` comes from: `step`, `defaults` or `built-in default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_from: Option<String>,
    /// The provider block's per-request timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<String>,
    /// A `webhook.await`'s wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitShown>,
    /// An `approval`'s policy, in words: `2 distinct approvals, not the starter, from alice,
    /// bob; timeout 4h, then fail`, or `not asked: its \`when\` is false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// `continue_on_error`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continue_on_error: bool,
    /// `tolerate_failures`, for batch steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerate_failures: Option<String>,
}

/// A resolved retry policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryShown {
    /// Attempts in all.
    pub max_attempts: u32,
    /// `exponential` or `fixed`.
    pub backoff: String,
    /// The first wait.
    pub initial: String,
    /// The longest wait.
    pub max: String,
    /// Randomised waits.
    pub jitter: bool,
    /// Where it comes from: `step`, `defaults` or `built-in default`.
    pub from: String,
}

/// A `webhook.await`'s wait, defaults written out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitShown {
    /// The events that satisfy it.
    pub events: Vec<String>,
    /// The object read back.
    pub object: String,
    /// How long it waits in all.
    pub timeout: String,
    /// How often it reads the object.
    pub poll_every: String,
    /// What a timeout does: `fail` or `continue`.
    pub on_timeout: String,
}

/// What will happen to a step or item, as far as a plan can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// It runs.
    Run,
    /// Its `if` is false (or a dependency it reads is skipped).
    Skip,
    /// Its `if` reads values only known when the run gets there.
    AtApply,
    /// It will fail before sending anything (an assertion, a refused request).
    Fail,
}

impl Decision {
    /// How the plan says it.
    pub fn words(self) -> &'static str {
        match self {
            Decision::Run => "will run",
            Decision::Skip => "will skip",
            Decision::AtApply => "decided at apply",
            Decision::Fail => "will fail",
        }
    }
}

/// Which way money moves for the account the provider block names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Leaves the account (transfers, payouts, refunds, the source of a swap).
    Out,
    /// Comes in (charges, checkouts, the target of a swap).
    In,
}

impl Direction {
    /// `out` or `in`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Out => "out",
            Direction::In => "in",
        }
    }
}

/// One amount in an item's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// The `with` field (`amount`, `source_amount`).
    pub field: String,
    /// The asset or currency, upper case.
    pub unit: String,
    /// The exact decimal text.
    pub amount: String,
    /// Which way it moves.
    pub direction: Direction,
}

/// One HTTP request an item sends, credentials masked (a readable copy of the adapter's
/// `WireRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path relative to the provider's base URL.
    pub path: String,
    /// Query parameters, in order, as `name=value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<String>,
    /// Headers, in order, as `Name: value`; credentials are `***`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// The body exactly as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Remarks for the reader; never sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The readable copy, card data masked ([`sensitive`]): what a plan shows of a request is
/// made here, so no card number reaches a plan's text, Markdown or file.
impl From<WireRequest> for Request {
    fn from(w: WireRequest) -> Self {
        Request {
            method: w.method,
            path: sensitive::mask_text(&w.path),
            query: w
                .query
                .into_iter()
                .map(|(k, v)| sensitive::mask_text(&format!("{k}={v}")))
                .collect(),
            headers: w
                .headers
                .into_iter()
                .map(|(k, v)| sensitive::mask_text(&format!("{k}: {v}")))
                .collect(),
            body: w.body.as_deref().map(sensitive::mask_text),
            notes: w.notes,
        }
    }
}

impl Request {
    /// Whether it may change state at the provider.
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD")
    }

    /// `POST /transfer?x=1`.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}", self.method, self.path);
        for (i, q) in self.query.iter().enumerate() {
            line.push(if i == 0 { '?' } else { '&' });
            line.push_str(q);
        }
        line
    }
}

/// One step run: the step itself, or one `for_each` element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemPlan {
    /// The item key (none for a step that runs once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What will happen.
    pub decision: Decision,
    /// Why, when it does not simply run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The amounts it moves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amounts: Vec<Amount>,
    /// Who receives it (`target_account`, `recipient`, …), when the request names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The request digest: SHA-256 of the rendered `with` and exact requests
    /// (`hash::request_digest`), what `run --plan` compares them by.
    pub digest: String,
    /// The rendered `with` and the requests, for the items shown in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Box<ItemDetail>>,
}

/// What an item would send, kept for the items a plan shows in full.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemDetail {
    /// The rendered `with`, neutral field names; unknown values are [`KNOWN_AFTER_APPLY`].
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub with: Map<String, Value>,
    /// The exact requests the adapter would send.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<Request>,
    /// Why the requests cannot be shown yet (they need values known after apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_note: Option<String>,
}

impl ItemDetail {
    /// Whether it sends requests, or would once values known after apply are there.
    pub fn sends(&self) -> bool {
        !self.requests.is_empty() || self.requests_note.is_some()
    }
}

impl ItemPlan {
    /// The item with the card data in its reason and target masked ([`sensitive`]); its
    /// `with` and requests are masked when they are made ([`Request::from`]).
    pub fn masked(mut self) -> Self {
        self.reason = self.reason.as_deref().map(sensitive::mask_text);
        self.target = self.target.as_deref().map(sensitive::mask_text);
        self
    }

    /// `pay[E001]`, or `pay` for a step that runs once.
    pub fn label(&self, step: &str) -> String {
        match &self.key {
            Some(k) => format!("{step}[{k}]"),
            None => step.to_string(),
        }
    }

    /// Its rendered `with` and requests, when the plan shows it in full.
    pub fn sent(&self) -> Option<&ItemDetail> {
        self.detail.as_deref().filter(|d| d.sends())
    }
}

/// Counts over a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Steps.
    pub steps: usize,
    /// Step runs: one per step, or one per item of a `for_each` step.
    pub items: usize,
    /// Items that will run.
    pub run: usize,
    /// Items that will skip.
    pub skip: usize,
    /// Items decided at apply.
    pub at_apply: usize,
    /// Items that will fail.
    pub fail: usize,
    /// Requests the running items send.
    pub requests: usize,
    /// Of which writes.
    pub writes: usize,
    /// Writes that will (or may) run whose amount is only known after apply.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unknown_amounts: usize,
}

impl std::ops::AddAssign for Summary {
    fn add_assign(&mut self, other: Summary) {
        self.steps += other.steps;
        self.items += other.items;
        self.run += other.run;
        self.skip += other.skip;
        self.at_apply += other.at_apply;
        self.fail += other.fail;
        self.requests += other.requests;
        self.writes += other.writes;
        self.unknown_amounts += other.unknown_amounts;
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The sum of the amounts moving one way, in one unit, through one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    /// Which way.
    pub direction: Direction,
    /// The asset or currency.
    pub unit: String,
    /// The provider block.
    pub provider: String,
    /// The exact sum.
    pub amount: String,
    /// How many items contribute.
    pub items: usize,
}

/// One of the largest amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Largest {
    /// `pay[E006]`.
    pub item: String,
    /// The asset or currency.
    pub unit: String,
    /// The amount.
    pub amount: String,
    /// Which way.
    pub direction: Direction,
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The run would refuse or fail.
    Error,
    /// Worth a second look.
    Warning,
}

/// What a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Two `for_each` elements with one key (the run refuses to start).
    DuplicateKey,
    /// Two items paying the same amount to the same target.
    DuplicatePayee,
    /// An amount above `--threshold`.
    Threshold,
    /// A request the adapter refuses (too many decimals, a bad field).
    InvalidRequest,
    /// A unit the provider does not take.
    UnsupportedAsset,
    /// More going out than the `--balances` snapshot holds.
    Balance,
    /// A template that does not render.
    Template,
    /// An `assert` that fails.
    Assert,
    /// A `for_each` list that cannot be expanded.
    ForEach,
    /// An input that feeds card data.
    CardData,
}

/// An error or warning found while planning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// What it is about.
    pub kind: ProblemKind,
    /// The step, item or unit it concerns (`pay[E001]`, `EURC`).
    pub subject: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem about `subject`; card data in the message (a refused request quoted by
    /// the adapter) is masked.
    pub fn new(severity: Severity, kind: ProblemKind, subject: &str, message: String) -> Self {
        Problem {
            severity,
            kind,
            subject: subject.to_string(),
            message: sensitive::mask_text(&message),
        }
    }
}

impl DryRun {
    /// The problems of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == severity)
            .count()
    }
}
