//! Plans of small workflows written in a test, through the real compiler, inputs and
//! adapters (previews only, credentials never read).

use std::collections::BTreeMap;

use super::adapters::PlanAdapters;
use super::build::{Source, build};
use super::model::{DryRun, ItemDetail, ItemPlan};
use super::recorded::record;
use super::warnings::Checks;
use crate::plan::compile;
use crate::plan::inputs::{Given, resolve};

/// The plan of `yaml` with `given` inputs.
pub fn plan(yaml: &str, given: &[(&str, Given)], checks: &Checks) -> DryRun {
    let loaded = crate::spec::parse("t.yaml", yaml).expect("the test workflow parses");
    let compiled = compile(&loaded).expect("the test workflow is valid");
    let given: BTreeMap<String, Given> = given
        .iter()
        .map(|(n, g)| ((*n).to_string(), g.clone()))
        .collect();
    let inputs = resolve(&compiled.config.inputs, &given).expect("the inputs fit");
    let recorded = record(&compiled.config.inputs, &given, &inputs);
    let adapters = PlanAdapters::from_env(&compiled.config, &|_| None).expect("adapters build");
    build(
        Source {
            path: "t.yaml",
            text: &loaded.source.text,
            compiled: &compiled,
            inputs,
            recorded: &recorded,
        },
        &adapters,
        checks,
    )
}

/// The rendered `with` and requests of an item the plan keeps in full.
pub fn detail(item: &ItemPlan) -> &ItemDetail {
    item.detail.as_deref().expect("the item is kept in full")
}

/// A CSV input.
pub fn csv(text: &str) -> Given {
    Given::File {
        path: "payees.csv".into(),
        text: text.into(),
    }
}

/// A payroll over a CSV `payees` input, paid in EURC through Whalestack.
pub const PAYROLL: &str = r#"
version: 1
name: pay
inputs:
  payees: { type: csv, required: true, columns: { id: string, amount: decimal, to: string } }
providers:
  ws:
    kind: whalestack
    base_url: http://127.0.0.1:9/whalestack/api/v1
    api_key: ${WS_KEY}
    api_secret: ${WS_SECRET}
steps:
  - id: check
    uses: assert
    with: { that: "{{lte (sum inputs.payees 'amount') '100'}}", message: over budget }
  - id: pay
    uses: transfer
    needs: [check]
    for_each: inputs.payees
    as: p
    key: "{{p.id}}"
    if: "{{gt p.amount '0'}}"
    with: { network: SEPA, asset: EURC, amount: "{{p.amount}}", target_account: "{{p.to}}" }
  - id: done
    uses: log
    with: { message: "paid {{len steps.pay.outputs}}" }
"#;
