//! The undo path a plan shows under `on_failure: compensate` (README, *Compensation*): for
//! every step whose failure ends the run, which steps are undone, in which order, and what
//! the whole path moves. The undo requests themselves are planned like any step's
//! (`build`); this module decides what each failure undoes, as the engine does: the steps
//! with `compensate:` that completed before it, last completed first, unless the pivot has
//! passed or the failing step must complete (`saga: retriable`).

use std::collections::BTreeSet;

use super::model::{FailurePoint, StepPlan, UndoPath};
use super::totals;
use crate::ids::StepId;
use crate::plan::CompiledWorkflow;
use crate::spec::SagaRole;

/// The undo path of `compiled`, given its undos planned as steps.
pub fn path(compiled: &CompiledWorkflow, undos: Vec<StepPlan>) -> UndoPath {
    let order = compiled.dag.order();
    let pivot = compiled
        .config
        .steps
        .iter()
        .position(|s| s.saga == Some(SagaRole::Pivot));
    let failures = order
        .iter()
        .filter(|&&i| !compiled.config.steps[i].continue_on_error)
        .map(|&i| failure_point(compiled, i, pivot))
        .collect();
    UndoPath {
        failures,
        totals: totals::totals(&undos),
        undos,
    }
}

fn failure_point(compiled: &CompiledWorkflow, i: usize, pivot: Option<usize>) -> FailurePoint {
    let step = &compiled.config.steps[i];
    let before = ancestors(compiled, i);
    let forward = if step.saga == Some(SagaRole::Retriable) {
        Some("it must complete (`saga: retriable`): an operator takes over".to_string())
    } else {
        pivot.filter(|p| before.contains(p)).map(|p| {
            format!(
                "the pivot `{}` has passed: the run goes forward for an operator",
                compiled.steps[p].id
            )
        })
    };
    let undone = match forward {
        Some(_) => Vec::new(),
        // Later in execution order completes later; the reverse order undoes it first.
        None => compiled
            .dag
            .order()
            .iter()
            .rev()
            .filter(|d| before.contains(d) && compiled.steps[**d].undo.is_some())
            .map(|&d| StepId::from(&compiled.steps[d].id).undo().into_string())
            .collect(),
    };
    FailurePoint {
        step: step.id.clone(),
        undone,
        forward,
    }
}

/// The steps `i` waits for, directly or not.
fn ancestors(compiled: &CompiledWorkflow, i: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<usize> = compiled.dag.deps(i).iter().copied().collect();
    while let Some(d) = todo.pop() {
        if seen.insert(d) {
            todo.extend(compiled.dag.deps(d).iter().copied());
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::super::testing::{csv, detail, plan};
    use super::super::warnings::Checks;

    const SWEEP: &str = r#"
version: 1
name: sweep
on_failure: compensate
inputs:
  rows: { type: csv, required: true, columns: { id: string, amount: decimal } }
providers:
  ws:
    kind: whalestack
    api_key: ${WS_KEY}
    api_secret: ${WS_SECRET}
steps:
  - id: convert
    uses: swap
    for_each: inputs.rows
    as: r
    key: "{{r.id}}"
    with: { source_asset: USDC, target_asset: EURC, source_amount: "{{r.amount}}" }
    compensate:
      uses: swap
      with: { source_asset: EURC, target_asset: USDC, source_amount: "{{r.amount}}" }
  - id: check
    uses: assert
    needs: [convert]
    SAGA
    with: { that: "true" }
  - id: last
    uses: log
    needs: [check]
    with: { message: done }
"#;

    #[test]
    fn every_failure_point_names_its_undos_and_each_item_its_request() {
        let rows = csv("id,amount\na,10.00\nb,2.50\n");
        let yaml = SWEEP.replace("SAGA", "");
        let planned = plan(&yaml, &[("rows", rows.clone())], &Checks::default());
        let undo = planned.undo.expect("the workflow compensates");
        let undone: Vec<(&str, Vec<&str>)> = undo
            .failures
            .iter()
            .map(|f| {
                (
                    f.step.as_str(),
                    f.undone.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            undone,
            [
                ("convert", vec![]),
                ("check", vec!["convert.compensate"]),
                ("last", vec!["convert.compensate"]),
            ]
        );
        let items = &undo.undos[0].items;
        assert_eq!(items.len(), 2);
        assert_eq!(detail(&items[1]).with["source_amount"], "2.50");
        assert_eq!(undo.totals.len(), 1);
        assert_eq!(undo.totals[0].amount, "12.50");
        assert_eq!(undo.totals[0].unit, "EURC");
        // With `check` as the pivot, a failure after it undoes nothing.
        let pivot = SWEEP.replace("SAGA", "saga: pivot");
        let planned = plan(&pivot, &[("rows", rows)], &Checks::default());
        let last = &planned.undo.expect("the workflow compensates").failures[2];
        assert!(last.undone.is_empty());
        assert!(
            last.forward
                .as_deref()
                .unwrap_or_default()
                .contains("`check`")
        );
    }
}
