//! Totals per direction, asset or currency and provider, and the largest amounts, summed
//! exactly with rust_decimal over the items that will run (or whose `if` is decided at
//! apply: the plan counts what may move).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::model::{Decision, Direction, ItemPlan, Largest, StepPlan, Total};
use crate::money::parse_amount;

/// How many of the largest amounts a plan lists per asset or currency.
pub const LARGEST: usize = 5;

/// Items that may move money.
fn moving(steps: &[StepPlan]) -> impl Iterator<Item = (&StepPlan, usize, &ItemPlan)> {
    steps.iter().flat_map(|s| {
        s.items
            .iter()
            .enumerate()
            .filter(|(_, i)| matches!(i.decision, Decision::Run | Decision::AtApply))
            .map(move |(n, i)| (s, n, i))
    })
}

/// The sums, sorted by direction (out first), unit and provider.
pub fn totals(steps: &[StepPlan]) -> Vec<Total> {
    let mut sums: BTreeMap<(Direction, String, String), (Decimal, usize)> = BTreeMap::new();
    for (step, _, item) in moving(steps) {
        let provider = step.provider.clone().unwrap_or_default();
        for a in &item.amounts {
            let Ok(amount) = parse_amount(&a.amount) else {
                continue;
            };
            let slot = sums
                .entry((a.direction, a.unit.clone(), provider.clone()))
                .or_default();
            slot.0 += amount;
            slot.1 += 1;
        }
    }
    sums.into_iter()
        .map(|((direction, unit, provider), (amount, items))| Total {
            direction,
            unit,
            provider,
            amount: amount.to_string(),
            items,
        })
        .collect()
}

/// The sum of every total going `direction` in `unit`, across providers.
pub fn sum(totals: &[Total], direction: Direction, unit: &str) -> Decimal {
    totals
        .iter()
        .filter(|t| t.direction == direction && t.unit == unit)
        .filter_map(|t| parse_amount(&t.amount).ok())
        .sum()
}

/// The [`LARGEST`] largest amounts of each unit, largest first; ties in plan order.
pub fn largest(steps: &[StepPlan]) -> Vec<Largest> {
    let mut by_unit: BTreeMap<String, Vec<(Decimal, usize, Largest)>> = BTreeMap::new();
    for (order, (step, _, item)) in moving(steps).enumerate() {
        for a in &item.amounts {
            let Ok(amount) = parse_amount(&a.amount) else {
                continue;
            };
            by_unit.entry(a.unit.clone()).or_default().push((
                amount,
                order,
                Largest {
                    item: item.label(&step.id),
                    unit: a.unit.clone(),
                    amount: a.amount.clone(),
                    direction: a.direction,
                },
            ));
        }
    }
    by_unit
        .into_values()
        .flat_map(|mut list| {
            list.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            list.into_iter().take(LARGEST).map(|(_, _, l)| l)
        })
        .collect()
}
