//! What the conformance tests build their runs from: a fixed start instant, a `payroll` run,
//! transfers, their dispatches and attempts.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::digest::request_digest;
use crate::ids::{ItemKey, RunId, StepId};
use crate::store::attempt::{AttemptOperation, AttemptOutcome, NewAttempt};
use crate::store::batch::WriteBatch;
use crate::store::error::StoreError;
use crate::store::keys::idempotency_key;
use crate::store::run::{Lease, NewRun};
use crate::store::step::{Dispatch, NewStep, StepKey};
use crate::store::traits::Store;

/// A fixed instant tests start from.
pub(crate) fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-03-07T09:00:00Z")
        .unwrap()
        .to_utc()
}

/// A run of the `payroll` workflow.
pub(crate) fn new_run(id: &str) -> NewRun {
    NewRun {
        id: id.into(),
        workflow_name: "payroll".into(),
        workflow_path: "workflows/payroll.yaml".into(),
        workflow_hash: "wf-hash".into(),
        inputs_hash: "in-hash".into(),
        inputs: json!({"budget": "25000.00"}),
        plan_hash: None,
        scheduled_for: None,
        started_by: "alice".into(),
        notify: Vec::new(),
        lease: None,
    }
}

/// The rendered request of a `transfer` to `payee`.
pub(crate) fn transfer(amount: &str, payee: &str) -> Value {
    json!({"network": "SEPA", "asset": "EURC", "amount": amount, "target_account": payee})
}

/// The dispatch of item `item` of step `pay` of `run_a`.
pub(crate) fn dispatch(item: &str, amount: &str) -> Dispatch {
    Dispatch {
        step_id: "pay".into(),
        item_key: item.into(),
        idempotency_key: idempotency_key(
            &RunId::from("run_a"),
            &StepId::from("pay"),
            &ItemKey::from(item),
        ),
        request: transfer(amount, item),
    }
}

/// A first provider call for item `item` of step `pay` of `run_a`.
pub(crate) fn attempt(item: &str, outcome: AttemptOutcome) -> NewAttempt {
    NewAttempt {
        key: StepKey::item("run_a", "pay", item),
        attempt_no: 1,
        operation: AttemptOperation::Execute,
        idempotency_key: idempotency_key(
            &RunId::from("run_a"),
            &StepId::from("pay"),
            &ItemKey::from(item),
        ),
        request_digest: Some(request_digest(&transfer("10.00", item))),
        started_at: t0(),
        finished_at: Some(t0() + TimeDelta::milliseconds(120)),
        outcome,
        error: None,
        http_status: Some(200),
    }
}

/// A run `run_a` with a `pay` step over `items`, leased by `engine` for a minute.
pub(crate) async fn leased_run(store: &dyn Store, items: &[&str]) -> Lease {
    let steps: Vec<NewStep> = items.iter().map(|i| NewStep::item("pay", *i)).collect();
    store.create_run(&new_run("run_a"), &steps).await.unwrap();
    store
        .acquire_lease(&RunId::from("run_a"), "engine", Duration::from_secs(60))
        .await
        .unwrap()
}

/// A run `run_a` whose `for_each` step `pay` (its own row, then an item per `items`) is
/// followed by a step `report`, leased by `holder` for a day: a step to share between
/// workers.
pub(crate) async fn shared_run(store: &dyn Store, items: &[&str]) -> Lease {
    let mut steps = vec![NewStep::step("pay")];
    steps.extend(items.iter().map(|i| NewStep::item("pay", *i)));
    steps.push(NewStep::step("report"));
    store.create_run(&new_run("run_a"), &steps).await.unwrap();
    store
        .acquire_lease(&RunId::from("run_a"), "holder", Duration::from_secs(86_400))
        .await
        .unwrap()
}

/// Takes run `run_id` for `engine` for a day: long enough for any test's manual clock.
pub(crate) async fn lease_for_a_day(store: &dyn Store, run_id: &str) -> Lease {
    store
        .acquire_lease(&RunId::from(run_id), "engine", Duration::from_secs(86_400))
        .await
        .unwrap()
}

/// Commits `writes` (a list of one kind, or a whole [`WriteBatch`]) under `lease`.
pub(crate) async fn commit(
    store: &dyn Store,
    lease: &Lease,
    writes: impl Into<WriteBatch>,
) -> Result<(), StoreError> {
    store.commit_batch(lease, &writes.into()).await
}
