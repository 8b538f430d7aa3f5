//! `notify:`: which run events page whom (README, *Approvals and notifications*).
//!
//! Targets are kept as written, `${VAR}` and all: a run stores them unresolved, and the
//! process that delivers a notification resolves them from its own environment, so a webhook
//! secret (or a URL carrying a token) is never stored, planned or printed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `serve --notify FILE`: rules for every run `serve` starts or holds and every slot of its
/// schedules, in addition to each workflow's own. Secrets only as `${VAR}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeNotifyConfig {
    /// The rules, with the syntax of a workflow's `notify:`.
    pub notify: Vec<NotifyRule>,
}

/// One rule: the events, and where they go (a `webhook` or an `email`, exactly one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyRule {
    /// The run events that send it.
    pub on: Vec<NotifyEvent>,
    /// A signed JSON POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookTarget>,
    /// An email over SMTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailTarget>,
}

/// A run event a rule can send on: the run reached this status, or one of its payments
/// failed after commit or disagrees with its provider's records; or an event of the
/// workflow's schedule (a slot missed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// Every remaining step waits (an approval, a webhook).
    Waiting,
    /// A payment is in doubt: an operator must decide.
    NeedsAttention,
    /// The run failed (a step failed, or an approval was denied).
    Failed,
    /// The run succeeded.
    Succeeded,
    /// An operator cancelled the run.
    Cancelled,
    /// A step failed and everything the run had done was undone (`on_failure: compensate`).
    Compensated,
    /// A step failed and an undo was refused or cannot be told: an operator must look.
    CompensationFailed,
    /// A payment the provider had accepted failed afterwards: the payee was not paid.
    ItemFailedAfterCommit,
    /// `serve`'s scheduled reconciliation found a payment the provider's records disagree
    /// with (once per discrepancy, until it matches again).
    ReconcileMismatch,
    /// A slot of the workflow's `schedule:` did not fire: no scheduler was running when it
    /// came due and `catch_up` did not fire it late.
    ScheduleMissed,
}

impl NotifyEvent {
    /// The event's name, the run status's (`needs_attention`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::NeedsAttention => "needs_attention",
            Self::Failed => "failed",
            Self::Succeeded => "succeeded",
            Self::Cancelled => "cancelled",
            Self::Compensated => "compensated",
            Self::CompensationFailed => "compensation_failed",
            Self::ItemFailedAfterCommit => "item_failed_after_commit",
            Self::ReconcileMismatch => "reconcile_mismatch",
            Self::ScheduleMissed => "schedule_missed",
        }
    }
}

/// Where a webhook notification goes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    /// The URL to POST to, usually `${VAR}` (resolved when the notification is delivered).
    pub url: String,
    /// The key of the `X-Sluice-Signature` HMAC, usually `${VAR}`; unsigned without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Where an email notification goes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailTarget {
    /// The recipients.
    pub to: Vec<String>,
    /// The SMTP server, usually `${VAR}`: `smtp://user:pass@host:587?tls=required` (STARTTLS)
    /// or `smtps://…:465` (TLS).
    pub smtp: String,
    /// The sender (default `sluice@localhost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}
