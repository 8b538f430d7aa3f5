//! One [`Payment`] per item of a step that moves money, read from the run's rows.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::catalog::{ActionKind, ActionSpec};
use crate::ids::{ItemKey, RunId, StepId};
use crate::plan::CompiledWorkflow;
use crate::store::{
    AttemptRecord, OperatorRecord, Settlement, SettlementRecord, StepRecord, StepState, Store,
    StoreError,
};

/// Where a payment stands, as finance reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaymentState {
    /// The provider accepted it; its final state is not known yet.
    Committed,
    /// The provider reported it done.
    Settled,
    /// The provider accepted it, then reported it failed: the money came back.
    FailedAfterCommit,
    /// It failed before any money moved.
    Failed,
    /// It was never sent (`if:` false, skipped or cancelled by an operator).
    Skipped,
    /// Whether it was sent is not known: an operator must decide (`sluice status`).
    InDoubt,
    /// Not finished yet (pending, sending, waiting).
    Unfinished,
}

impl PaymentState {
    /// The name shown in reports (`failed_after_commit`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Committed => "committed",
            Self::Settled => "settled",
            Self::FailedAfterCommit => "failed_after_commit",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::InDoubt => "in_doubt",
            Self::Unfinished => "unfinished",
        }
    }

    /// Whether sluice counts the money as gone to the payee.
    pub fn is_paid(self) -> bool {
        matches!(self, Self::Committed | Self::Settled)
    }

    /// The state of an item from its row and its settlement: a succeeded item is settled
    /// (or failed after commit) once that is recorded or its recorded answer says so,
    /// committed before.
    fn of(row: &StepRecord, settlement: Option<Settlement>) -> Self {
        match (row.state, settlement) {
            (StepState::Succeeded, Some(Settlement::Settled)) => Self::Settled,
            (StepState::Succeeded, Some(Settlement::FailedAfterCommit)) => Self::FailedAfterCommit,
            (StepState::Succeeded, None) => match recorded_state(row).as_deref() {
                Some("succeeded") => Self::Settled,
                Some("failed") => Self::FailedAfterCommit,
                _ => Self::Committed,
            },
            (StepState::Failed, _) => Self::Failed,
            (StepState::Skipped | StepState::Cancelled, _) => Self::Skipped,
            (StepState::NeedsAttention, _) => Self::InDoubt,
            (
                StepState::Pending
                | StepState::Dispatching
                | StepState::InFlight
                | StepState::Waiting,
                _,
            ) => Self::Unfinished,
        }
    }
}

impl fmt::Display for PaymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The normalised state in an item's recorded output.
fn recorded_state(row: &StepRecord) -> Option<String> {
    Some(row.output.as_ref()?.get("state")?.as_str()?.to_string())
}

/// The steps of a workflow that move money: their provider block and action.
#[derive(Debug, Clone, Default)]
pub struct PaymentSteps(BTreeMap<String, (String, &'static ActionSpec)>);

impl PaymentSteps {
    /// Every step of `compiled` that writes to a provider with an amount.
    pub fn of(compiled: &CompiledWorkflow) -> Self {
        PaymentSteps(
            compiled
                .steps
                .iter()
                .filter(|s| s.action.kind == ActionKind::Write && !s.action.money.is_empty())
                .filter_map(|s| Some((s.id.clone(), (s.provider.clone()?, s.action))))
                .collect(),
        )
    }

    /// Only step `id` of `compiled`, when it moves money.
    pub fn step(compiled: &CompiledWorkflow, id: &str) -> Self {
        let mut all = Self::of(compiled);
        all.0.retain(|step, _| step == id);
        all
    }

    /// The provider block and action of step `id`, when it moves money.
    pub fn get(&self, id: &str) -> Option<(&str, &'static ActionSpec)> {
        self.0.get(id).map(|(p, a)| (p.as_str(), *a))
    }
}

/// One payment of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    /// The run that made it.
    pub run_id: RunId,
    /// The step that made it.
    pub step_id: StepId,
    /// Its item's key (`""` for a step without `for_each`).
    pub item_key: ItemKey,
    /// The provider block.
    pub provider: String,
    /// The action (`transfer`, `charge.create`, …).
    pub action: &'static str,
    /// The amount sluice asked for, exactly as rendered; `None` before it was rendered.
    pub amount: Option<Decimal>,
    /// The asset or currency sluice asked for.
    pub unit: Option<String>,
    /// The provider's object id, once known.
    pub provider_ref: Option<String>,
    /// The idempotency key it was sent with (the marker in the provider's records).
    pub idempotency_key: Option<String>,
    /// Where it stands.
    pub state: PaymentState,
    /// The provider's own state string, as last recorded.
    pub provider_state: Option<String>,
    /// The amount the provider reported, as recorded.
    pub reported_amount: Option<Decimal>,
    /// The asset or currency the provider reported, as recorded.
    pub reported_unit: Option<String>,
    /// The fee the provider reported, if it reports one.
    pub fee: Option<Decimal>,
    /// When it was first sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// When its row last changed.
    pub updated_at: DateTime<Utc>,
    /// The operator decisions taken on it: `kind by actor (reason)`.
    pub operator_actions: Vec<String>,
    /// The last error, for failed and in-doubt payments.
    pub error: Option<String>,
}

/// The payments of run `run_id`, read from `store`, in plan order.
///
/// # Errors
/// A store failure, or [`StoreError::RunNotFound`].
pub async fn load(
    store: &dyn Store,
    run_id: &RunId,
    steps: &PaymentSteps,
) -> Result<Vec<Payment>, StoreError> {
    let rows = store.load_steps(run_id).await?;
    let attempts = store.load_attempts(run_id).await?;
    let actions = store.list_operator_actions(run_id).await?;
    let settlements = store.load_settlements(run_id).await?;
    Ok(payments(steps, &rows, &attempts, &actions, &settlements))
}

/// The payments of a run, in plan order: one per item of each step in `steps` (the
/// parent row of a `for_each` step is not one).
pub fn payments(
    steps: &PaymentSteps,
    rows: &[StepRecord],
    attempts: &[AttemptRecord],
    actions: &[OperatorRecord],
    settlements: &[SettlementRecord],
) -> Vec<Payment> {
    let settled: BTreeMap<(&str, &str), Settlement> = settlements
        .iter()
        .map(|s| {
            let k = &s.settlement.key;
            (
                (k.step_id.as_str(), k.item_key.as_str()),
                s.settlement.settlement,
            )
        })
        .collect();
    let mut sent: BTreeMap<(&str, &str), DateTime<Utc>> = BTreeMap::new();
    for a in attempts {
        let k = &a.attempt.key;
        sent.entry((&k.step_id, &k.item_key))
            .and_modify(|t| *t = (*t).min(a.attempt.started_at))
            .or_insert(a.attempt.started_at);
    }
    let has_items: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|r| !r.key.item_key.is_empty())
        .map(|r| r.key.step_id.as_str())
        .collect();
    rows.iter()
        .filter(|r| !(r.key.item_key.is_empty() && has_items.contains(r.key.step_id.as_str())))
        .filter_map(|r| {
            let (provider, action) = steps.get(&r.key.step_id)?;
            let at = (r.key.step_id.as_str(), r.key.item_key.as_str());
            let state = PaymentState::of(r, settled.get(&at).copied());
            Some(payment(
                r,
                provider,
                action,
                (state, sent.get(&at).copied()),
                actions,
            ))
        })
        .collect()
}

fn payment(
    row: &StepRecord,
    provider: &str,
    action: &'static ActionSpec,
    (state, sent_at): (PaymentState, Option<DateTime<Utc>>),
    actions: &[OperatorRecord],
) -> Payment {
    let money = &action.money[0];
    let request = row.request.as_ref();
    let output = row.output.as_ref();
    Payment {
        run_id: row.key.run_id.clone(),
        step_id: row.key.step_id.clone(),
        item_key: row.key.item_key.clone(),
        provider: provider.to_string(),
        action: action.name,
        amount: request.and_then(|r| decimal(r.get(money.amount))),
        unit: request.and_then(|r| {
            money
                .units
                .iter()
                .find_map(|u| r.get(*u).and_then(Value::as_str))
                .map(str::to_string)
        }),
        provider_ref: row.provider_ref.clone(),
        idempotency_key: row.idempotency_key.clone(),
        state,
        provider_state: text(output, "provider_state"),
        reported_amount: output.and_then(|o| decimal(o.get("amount"))),
        reported_unit: text(output, "asset").or_else(|| text(output, "currency")),
        fee: output.and_then(|o| decimal(o.get("fee"))),
        sent_at,
        updated_at: row.updated_at,
        operator_actions: operator_actions(row, actions),
        error: row.error.as_ref().map(|e| e.message.clone()),
    }
}

fn text(output: Option<&Value>, field: &str) -> Option<String> {
    Some(output?.get(field)?.as_str()?.to_string())
}

/// An exact decimal from a decimal string (or a JSON number's own text): never through a
/// float.
pub fn decimal(value: Option<&Value>) -> Option<Decimal> {
    match value? {
        Value::String(s) => Decimal::from_str(s).ok(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        _ => None,
    }
}

/// The decisions taken on this item, or on its step as a whole, or on the whole run.
fn operator_actions(row: &StepRecord, actions: &[OperatorRecord]) -> Vec<String> {
    actions
        .iter()
        .filter(|a| {
            let a = &a.action;
            let step = a.step_id.as_ref().is_none_or(|s| *s == row.key.step_id);
            let item = a.item_key.as_ref().is_none_or(|i| *i == row.key.item_key);
            step && item
        })
        .map(|a| {
            let reason = a
                .action
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!("{} by {}{reason}", a.action.kind.as_str(), a.action.actor)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::store::{NewSettlement, StepKey};

    fn row(item: &str, state: StepState, output: Option<Value>) -> StepRecord {
        StepRecord {
            key: StepKey::item("run_1", "pay", item),
            seq: 1,
            state,
            idempotency_key: Some(format!("sl_{item}")),
            request_digest: None,
            request: Some(json!({"amount": "10.50", "asset": "EURC"})),
            provider_ref: output.as_ref().map(|_| format!("tr_{item}")),
            checkpoint: None,
            output,
            error: None,
            skip_reason: None,
            attempts: 1,
            next_attempt_at: None,
            deadline_at: None,
            event_id: None,
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn states_come_from_the_row_then_the_settlement() {
        let steps = PaymentSteps(
            [(
                "pay".to_string(),
                (
                    "ws".to_string(),
                    crate::catalog::action("transfer").unwrap(),
                ),
            )]
            .into(),
        );
        let processing = json!({"state": "processing", "amount": "10.5000000", "fee": "0.10"});
        let rows = [
            row("parent", StepState::Succeeded, None),
            row("a", StepState::Succeeded, Some(processing.clone())),
            row("b", StepState::Succeeded, Some(processing.clone())),
            row(
                "c",
                StepState::Succeeded,
                Some(json!({"state": "succeeded"})),
            ),
            row("d", StepState::Failed, None),
            row("e", StepState::Skipped, None),
            row("f", StepState::NeedsAttention, None),
        ];
        let mut rows = rows.to_vec();
        rows[0].key.item_key = "".into();
        let settled = SettlementRecord {
            settlement: NewSettlement {
                key: StepKey::item("run_1", "pay", "b"),
                settlement: Settlement::FailedAfterCommit,
                provider_state: Some("FAILED".into()),
                source: "poll".into(),
            },
            at: Utc::now(),
        };
        let got = payments(&steps, &rows, &[], &[], &[settled]);
        let states: Vec<(&str, &str)> = got
            .iter()
            .map(|p| (p.item_key.as_str(), p.state.as_str()))
            .collect();
        assert_eq!(
            states,
            [
                ("a", "committed"),
                ("b", "failed_after_commit"),
                ("c", "settled"),
                ("d", "failed"),
                ("e", "skipped"),
                ("f", "in_doubt"),
            ]
        );
        assert_eq!(got[0].amount, Some(Decimal::new(1050, 2)));
        assert_eq!(got[0].unit.as_deref(), Some("EURC"));
        assert_eq!(got[0].fee, Some(Decimal::new(10, 2)));
        assert_eq!(
            got[0].reported_amount.map(|d| d.to_string()).as_deref(),
            Some("10.5000000")
        );
    }
}
