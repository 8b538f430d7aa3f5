//! The serde model of a workflow file, as written (README, *The workflow language*).
//!
//! These types mirror the YAML one to one; their doc comments are the reference that
//! `schemas/workflow.schema.json` is generated from. Semantic checks (references, cycles,
//! capabilities, money precision) live in `plan::compile`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::auth::AuthConfig;
use super::duration::HumanDuration;
use crate::catalog::ProviderKind;

/// A workflow file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "sluice workflow")]
pub struct WorkflowConfig {
    /// The language version; only `1` exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// The workflow's name: lower case letters, digits, `-` and `_`. Run ids and schedule
    /// slots are derived from it.
    pub name: String,
    /// What the workflow does, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When `sluice serve` starts runs of this workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleConfig>,
    /// Values given at run time with `--input name=value` or `--input name=@file`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, InputConfig>,
    /// Provider accounts the steps use, by a name of your choice.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Settings every step inherits unless it sets its own.
    #[serde(default)]
    pub defaults: DefaultsConfig,
    /// The most steps and items in flight at once for the whole run (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub concurrency: Option<u32>,
    /// The steps, in any order: dependencies decide the execution order.
    pub steps: Vec<StepConfig>,
    /// What a step failing for good does to the steps that succeeded before it: `stop`
    /// (the default: they stay as they are) or `compensate` (each step's `compensate:`
    /// action undoes it, in reverse order of completion; README, *Compensation*).
    #[serde(default, skip_serializing_if = "OnFailure::is_stop")]
    pub on_failure: OnFailure,
    /// Who hears about this workflow's runs, and on which events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<super::notify::NotifyRule>,
    /// How card data written in the file or given as an input is treated (README,
    /// *Sensitive data*).
    #[serde(default, skip_serializing_if = "SensitiveConfig::is_default")]
    pub sensitive: SensitiveConfig,
    /// How often `sluice serve` compares this workflow's recent runs with the providers'
    /// records (README, *Settlement, reports and reconciliation*); without it, `serve
    /// --reconcile-every` decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile: Option<ReconcileConfig>,
}

/// `reconcile:`, when `sluice serve` reconciles the workflow's runs.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileConfig {
    /// How often, at least `1s` (`1h`, `30m`): every mismatch is logged with its item key.
    /// Kept as written so that validation can point at a bad one (E037).
    #[schemars(with = "HumanDuration")]
    pub every: String,
}

impl ReconcileConfig {
    /// The shortest interval accepted: a pass reads every payment of the recent runs back.
    pub const MIN_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

    /// The interval; `None` for text that is not a duration of at least [`Self::MIN_EVERY`]
    /// (which validation refuses with E037).
    pub fn interval(&self) -> Option<std::time::Duration> {
        let every = self.every.parse::<HumanDuration>().ok()?.get();
        (every >= Self::MIN_EVERY).then_some(every)
    }
}

/// `on_failure:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The run stops as `failed`; what succeeded stays done.
    #[default]
    Stop,
    /// The steps that succeeded are undone by their `compensate:` actions, last done first;
    /// the run ends `compensated`, or `compensation_failed` for an operator.
    Compensate,
}

impl OnFailure {
    /// Whether it is the default (the key is then left out).
    pub fn is_stop(&self) -> bool {
        *self == OnFailure::Stop
    }
}

/// `saga:`, a step's place in a compensated workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SagaRole {
    /// The point of no return: once it succeeded, a later failure is never compensated; the
    /// run goes forward (retries, then `needs_attention`). At most one per workflow.
    Pivot,
    /// Must complete: never compensated; its failure stops the run for an operator instead
    /// of undoing anything.
    Retriable,
}

/// A step's `compensate:`: the action that undoes it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompensateConfig {
    /// The undoing action (`refund.create`, `swap`, …): a write.
    #[schemars(schema_with = "action_names")]
    pub uses: String,
    /// The provider account, by its name in `providers` (default: the step's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The action's parameters; string values are templates that see `inputs`, `run`, the
    /// step's own output as `steps.<id>.output` (an item's own, for `for_each` steps) and,
    /// for `for_each` steps, the element under its alias.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub with: serde_json::Map<String, serde_json::Value>,
}

/// What the workflow allows of card data (README, *Sensitive data*).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SensitiveConfig {
    /// Raw card numbers and verification codes in the file or the inputs: `warn` (the
    /// default: `validate` and `plan` warn, and they are masked everywhere) or `refuse`
    /// (they are an error; use the provider's tokens or customers).
    #[serde(default)]
    pub raw_cards: RawCards,
}

impl SensitiveConfig {
    /// Whether nothing differs from the default (the block is then left out).
    pub fn is_default(&self) -> bool {
        self == &SensitiveConfig::default()
    }
}

/// `sensitive.raw_cards`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawCards {
    /// Warn, and mask them everywhere.
    #[default]
    Warn,
    /// Refuse them.
    Refuse,
}

/// A cron schedule (README, *Scheduling*).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// A 5-field crontab expression (`0 9 * * FRI`), or 6 fields with seconds first.
    pub cron: String,
    /// IANA time zone the expression is read in (default `UTC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// What to do with slots missed while nothing was running.
    #[serde(default)]
    pub catch_up: CatchUp,
    /// What to do when a slot fires while the previous run is still live.
    #[serde(default)]
    pub overlap: Overlap,
    /// Inputs for scheduled runs: templates over the slot (`slot.date`, `slot.time`,
    /// `slot.iso`, in the schedule's time zone); a value starting with `@` names a file, as
    /// `--input name=@file` does (`payees: "@payroll/{{slot.date}}.csv"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
}

/// Missed-slot policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Missed slots are dropped.
    None,
    /// Only the most recent missed slot runs.
    #[default]
    Latest,
    /// Every missed slot runs, oldest first.
    All,
}

/// Overlap policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// The new slot is recorded as skipped.
    #[default]
    Skip,
    /// The new slot waits for the live run to finish.
    Queue,
    /// Both run at once.
    Allow,
}

/// A declared input.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// The input's type.
    #[serde(rename = "type")]
    pub kind: InputType,
    /// Whether the run refuses to start without it.
    #[serde(default)]
    pub required: bool,
    /// The value used when none is given, written as text (`"25000.00"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// What the input is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// For `csv` inputs: the columns every row must have, with their types. Decimal columns
    /// are checked to be plain decimals when the file is read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnType>,
}

/// Types of inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    /// Free text.
    String,
    /// An exact decimal number, kept as text.
    Decimal,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A CSV file with a header row; each row becomes an object keyed by column name.
    Csv,
    /// A JSON document.
    Json,
    /// A comma-separated list of strings.
    List,
}

/// Types of CSV columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Free text.
    String,
    /// An exact decimal number.
    Decimal,
    /// A whole number.
    Integer,
}

/// A provider account. String values may use `${VAR}` and `${VAR:-default}`, read from the
/// environment when the workflow runs; credentials are never printed, logged or stored.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Which adapter talks to this account.
    pub kind: ProviderKind,
    /// The API's base URL (the sandbox's, in the examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// API key (Whalestack, WHITESTONES).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// API secret (Whalestack, WHITESTONES).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_secret: Option<String>,
    /// Secret key, sent as the Basic-auth user name (White Payments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// Private API token (Whitepay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Secret that signs incoming webhooks, when it differs from the API secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// Header carrying the webhook signature, where the provider's docs are silent
    /// (WHITESTONES `X-WS-Signature`, Whitepay `Signature`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_signature_header: Option<String>,
    /// Whalestack request signing: `digest` (default) or `basic`; for `kind: http`, the
    /// credentials: `bearer`, `basic: {user, password}` or `hmac: {secret, header, over,
    /// encoding}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
    /// `kind: http`: headers sent with every request (`X-Tenant: acme`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `kind: http`: the header that carries each item's idempotency key
    /// (`Idempotency-Key`), for APIs that honour one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_header: Option<String>,
    /// Per-request timeout (default `30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    /// Requests per second to this account, shared by every step that uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub rate_limit: Option<u32>,
    /// Requests in flight to this account at once, shared by every step that uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_in_flight: Option<u32>,
    /// Path overrides where the provider's docs are silent, by operation name
    /// (e.g. `payouts: /v2/payouts`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub paths: BTreeMap<String, String>,
    /// Fields of the provider's answers to redact before they are stored or shown, besides
    /// the adapter's own list (README, *Sensitive data*): dotted paths matched at the end of
    /// a field's path, arrays crossed (`beneficiary.iban`, `targetAccounts.fields`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact: Vec<String>,
    /// Check the credentials with the adapter's cheapest authenticated call before the first
    /// write of a run and before each batch step (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight: Option<bool>,
}

/// Whalestack request authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// HMAC-SHA256 signed requests (`X-Digest-*` headers).
    Digest,
    /// `X-Basic` = sha256 of `key:secret`.
    Basic,
}

/// Settings every step inherits.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultsConfig {
    /// The provider of steps that name none (needed when there is more than one provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// How long one step (or item) may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    /// How retryable failures are retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryConfig>,
}

/// Retries of failures classified `retryable` (never of rejected or in-doubt writes).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts in all, the first included (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_attempts: Option<u32>,
    /// How the wait grows between attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// The first wait (default `1s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<HumanDuration>,
    /// The longest wait (default `1m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<HumanDuration>,
    /// Randomise waits so that many items do not retry in lock-step (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<bool>,
}

/// Backoff shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Backoff {
    /// The wait doubles each time, up to `max`.
    Exponential,
    /// The wait stays at `initial`.
    Fixed,
}

/// One step of the workflow.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// Unique id, `[a-z][a-z0-9_]*`; other steps refer to it as `steps.<id>`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub id: String,
    /// The action: a payment action (`transfer`, `swap`, …) or a control action
    /// (`assert`, `approval`, `webhook.await`, `sleep`, `log`).
    #[schemars(schema_with = "action_names")]
    pub uses: String,
    /// What the step is for, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The action's parameters; string values are templates.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub with: serde_json::Map<String, serde_json::Value>,
    /// Steps that must finish first, besides those the templates refer to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// A template; the step (or item) is skipped unless it renders `true`.
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// A path to a list (`inputs.payees`): the step runs once per element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<String>,
    /// The name of the current element in templates (default `item`).
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// A template giving each element a stable, unique key; the idempotency key is
    /// derived from it, so it must not change between runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The most elements of this step in flight at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_parallel: Option<u32>,
    /// How many elements may fail before the step fails: a count (`3`) or a percentage (`"5%"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "count_or_percent")]
    pub tolerate_failures: Option<String>,
    /// The provider account, by its name in `providers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// How long the step (or each element) may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    /// Overrides `defaults.retry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryConfig>,
    /// A failure of this step does not fail the run, and dependants still run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continue_on_error: bool,
    /// The action that undoes this step (each of its items, for `for_each` steps) when a later
    /// step fails for good under `on_failure: compensate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensate: Option<CompensateConfig>,
    /// `pivot` (the point of no return) or `retriable` (must complete, never compensated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saga: Option<SagaRole>,
    /// For a batch of payments: `track` (the default) succeeds once the provider accepted
    /// every payment and leaves the rest to settlement tracking; `wait` succeeds only once
    /// the provider reports every payment final, and fails if one failed after commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle: Option<SettleMode>,
    /// With `settle: wait`: how long to wait (default `1h`) before the step needs attention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_timeout: Option<HumanDuration>,
}

/// What a batch payment step waits for (`settle:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettleMode {
    /// Succeed on commit; settlement is tracked afterwards (`sluice serve`, `sluice settle`).
    Track,
    /// Succeed once every payment settled; fail if one failed after commit.
    Wait,
}

/// `uses:` is one of the catalogue's actions; listing them lets editors complete them.
fn action_names(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = crate::catalog::ACTIONS.iter().map(|a| a.name).collect();
    schemars::json_schema!({ "type": "string", "enum": names })
}

/// `tolerate_failures:` is a count or a percentage string.
fn count_or_percent(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            { "type": "integer", "minimum": 0 },
            { "type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*%?\s*$" }
        ]
    })
}
