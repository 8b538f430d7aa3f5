//! `schedule.inputs`: a CSV path templated with the slot's local date, read when the slot
//! fires; a slot whose file is missing is recorded as a failed run, not lost in a log.

use serde_json::json;
use sluice::ids::RunId;
use sluice::scheduler::SlotOutcome;
use sluice::store::RunStatus;

use crate::schedule::support::{Node, at, from_text, setup, started};

#[tokio::test]
async fn each_slot_reads_the_csv_of_its_own_local_date() {
    let data = tempfile::tempdir().unwrap();
    // 23:30 UTC on 2026-11-19 is 00:30 on the 20th in Berlin: the file of the 20th.
    std::fs::write(
        data.path().join("2026-11-20.csv"),
        "employee_id,amount\nE1,100.00\nE2,250.50\n",
    )
    .unwrap();
    let text = format!(
        "version: 1
name: payroll
schedule:
  cron: \"30 0 * * *\"
  timezone: Europe/Berlin
  catch_up: all
  overlap: allow
  inputs:
    payees: \"@{dir}/{{{{slot.date}}}}.csv\"
    note: \"payroll of {{{{slot.date}}}}\"
inputs:
  payees: {{ type: csv, required: true, columns: {{ employee_id: string, amount: decimal }} }}
  note: {{ type: string }}
steps:
  - id: pay
    uses: log
    for_each: inputs.payees
    as: payee
    key: \"{{{{payee.employee_id}}}}\"
    with: {{ message: \"{{{{inputs.note}}}}: {{{{payee.amount}}}}\" }}
",
        dir = data.path().display()
    );
    let wf = [from_text(&text)];
    let (dir, clock) = setup("2026-11-19T23:00:00Z");
    let node = Node::start(&dir.path().join("sluice.db"), &clock).await;
    node.tick(&wf).await;
    clock.set(at("2026-11-19T23:30:00Z"));
    assert_eq!(started(&node.tick(&wf).await), ["23:30"]);

    let run = node
        .store
        .load_run(&RunId::from("sched_payroll_20261119T233000Z"))
        .await
        .unwrap();
    assert_eq!(run.scheduled_for, Some(at("2026-11-19T23:30:00Z")));
    assert_eq!(run.workflow_path, "workflows/test.yaml");
    assert_eq!(
        run.inputs,
        json!({
            "note": "payroll of 2026-11-20",
            "payees": [
                {"employee_id": "E1", "amount": "100.00"},
                {"employee_id": "E2", "amount": "250.50"},
            ],
        })
    );
    let steps = node.store.load_steps(&run.id).await.unwrap();
    let keys: Vec<&str> = steps.iter().map(|s| s.key.item_key.as_str()).collect();
    assert_eq!(keys, ["", "E1", "E2"]);

    // The next night has no file: the slot is recorded, as a failed run that says why.
    clock.set(at("2026-11-20T23:30:00Z"));
    let tick = node.tick(&wf).await;
    let SlotOutcome::Failed { error } = &tick.slots[0].outcome else {
        panic!("{tick:?}");
    };
    assert!(error.starts_with("cannot read `"), "{error}");
    assert!(
        error.contains("2026-11-21.csv` for input `payees`"),
        "{error}"
    );
    let failed = node
        .store
        .load_run(&RunId::from("sched_payroll_20261120T233000Z"))
        .await
        .unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some(error.as_str()));
    assert_eq!(node.launcher.launched().len(), 1);
    // It counts as fired: looking again changes nothing.
    assert!(node.tick(&wf).await.slots.is_empty());
}
