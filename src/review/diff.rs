//! `plan --diff OLD NEW`: what changed between two plans, step by step and item by item
//! (added, removed, amounts, decisions and counterparties changed, other request fields
//! changed), plus whether the workflow, the inputs or the provider blocks changed.
//!
//! An item's requests changed when its request digest did. Which `with` fields changed can only be
//! named for items both plans keep in full (`ItemPlan::detail`); for the others the change
//! is `(request)`.
//!
//! Items are matched by key (a step that runs once is its own item); when one key occurs
//! twice (a duplicate key the plan already reports) the second is matched as `KEY#2`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::amounts::target_field;
use super::hash::item_hash;
use super::model::{Decision, DryRun, ItemPlan, StepPlan};
use crate::digest::request_diff;

/// Two plans compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanDiff {
    /// The old plan's workflow name.
    pub name: String,
    /// The old plan's hash.
    pub old_hash: String,
    /// The new plan's hash.
    pub new_hash: String,
    /// The workflow file's text changed.
    pub workflow_changed: bool,
    /// Inputs whose value changed (or that appeared or went).
    pub inputs_changed: Vec<String>,
    /// Provider blocks whose settings changed (or that appeared or went).
    pub providers_changed: Vec<String>,
    /// Steps with any change, in the new plan's order (removed steps last).
    pub steps: Vec<StepDiff>,
}

/// How one step changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepDiff {
    /// The step.
    pub id: String,
    /// Its action (the new one, for a changed step).
    pub action: String,
    /// `added`, `removed` or `changed`.
    pub change: Change,
    /// Items only in the new plan.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<ItemChange>,
    /// Items only in the old plan.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<ItemChange>,
    /// Items in both that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<ItemChange>,
}

/// What happened to a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Only in the new plan.
    Added,
    /// Only in the old plan.
    Removed,
    /// In both, different.
    Changed,
}

/// One item's change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ItemChange {
    /// The item key (empty for a step that runs once).
    pub key: String,
    /// Its amounts before (`2500.00 EURC`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Its amounts after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Its decision before, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_before: Option<Decision>,
    /// Its decision after, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_after: Option<Decision>,
    /// Its counterparty before and after, when it changed (`–` for none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<(String, String)>,
    /// The `with` fields that differ, besides amounts and the counterparty; `(request)`
    /// when nothing shown explains a changed digest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

impl PlanDiff {
    /// Whether the two plans are the same.
    pub fn is_empty(&self) -> bool {
        !self.workflow_changed
            && self.inputs_changed.is_empty()
            && self.providers_changed.is_empty()
            && self.steps.is_empty()
    }
}

/// Compares `old` with `new`.
pub fn diff(old: &DryRun, new: &DryRun) -> PlanDiff {
    let changed_names = |a: Vec<(&str, &str)>, b: Vec<(&str, &str)>| {
        let a: BTreeMap<&str, &str> = a.into_iter().collect();
        let b: BTreeMap<&str, &str> = b.into_iter().collect();
        let mut names: Vec<String> = a
            .keys()
            .chain(b.keys())
            .filter(|n| a.get(*n) != b.get(*n))
            .map(|n| (*n).to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let mut steps = Vec::new();
    for step in &new.steps {
        match old.steps.iter().find(|s| s.id == step.id) {
            None => steps.push(whole(step, Change::Added)),
            Some(before) => {
                let d = step_diff(before, step);
                if !(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty()) {
                    steps.push(d);
                }
            }
        }
    }
    for step in &old.steps {
        if !new.steps.iter().any(|s| s.id == step.id) {
            steps.push(whole(step, Change::Removed));
        }
    }
    PlanDiff {
        name: new.workflow.name.clone(),
        old_hash: old.plan_hash.clone(),
        new_hash: new.plan_hash.clone(),
        workflow_changed: old.workflow.hash != new.workflow.hash,
        inputs_changed: changed_names(input_hashes(old), input_hashes(new)),
        providers_changed: changed_names(provider_hashes(old), provider_hashes(new)),
        steps,
    }
}

fn input_hashes(p: &DryRun) -> Vec<(&str, &str)> {
    p.inputs
        .values
        .iter()
        .map(|i| (i.name.as_str(), i.hash.as_str()))
        .collect()
}

fn provider_hashes(p: &DryRun) -> Vec<(&str, &str)> {
    p.providers
        .iter()
        .map(|i| (i.name.as_str(), i.fingerprint.as_str()))
        .collect()
}

/// Items by identity: the key, with `#n` for the n-th repeat of a key.
fn by_identity(step: &StepPlan) -> Vec<(String, &ItemPlan)> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    step.items
        .iter()
        .map(|item| {
            let key = item.key.as_deref().unwrap_or("");
            let n = seen.entry(key).or_default();
            *n += 1;
            let id = if *n == 1 {
                key.to_string()
            } else {
                format!("{key}#{n}")
            };
            (id, item)
        })
        .collect()
}

fn amounts(item: &ItemPlan) -> Option<String> {
    (!item.amounts.is_empty()).then(|| {
        item.amounts
            .iter()
            .map(|a| format!("{} {}", a.amount, a.unit))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

fn whole(step: &StepPlan, change: Change) -> StepDiff {
    let items: Vec<ItemChange> = by_identity(step)
        .into_iter()
        .map(|(key, item)| ItemChange {
            key,
            before: (change == Change::Removed).then(|| amounts(item)).flatten(),
            after: (change == Change::Added).then(|| amounts(item)).flatten(),
            ..ItemChange::default()
        })
        .collect();
    let (added, removed) = match change {
        Change::Added => (items, Vec::new()),
        _ => (Vec::new(), items),
    };
    StepDiff {
        id: step.id.clone(),
        action: step.action.clone(),
        change,
        added,
        removed,
        changed: Vec::new(),
    }
}

fn step_diff(old: &StepPlan, new: &StepPlan) -> StepDiff {
    let before: BTreeMap<String, &ItemPlan> = by_identity(old).into_iter().collect();
    let after_list = by_identity(new);
    let after_keys: std::collections::HashSet<&str> =
        after_list.iter().map(|(k, _)| k.as_str()).collect();
    let mut d = StepDiff {
        id: new.id.clone(),
        action: new.action.clone(),
        change: Change::Changed,
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
    };
    for (key, item) in &after_list {
        match before.get(key) {
            None => d.added.push(ItemChange {
                key: key.clone(),
                after: amounts(item),
                ..ItemChange::default()
            }),
            Some(old_item) => d.changed.extend(item_change(key, old_item, item)),
        }
    }
    for (key, item) in by_identity(old) {
        if !after_keys.contains(key.as_str()) {
            d.removed.push(ItemChange {
                key,
                before: amounts(item),
                ..ItemChange::default()
            });
        }
    }
    d
}

/// How the item `key` changed, if it did.
fn item_change(key: &str, old: &ItemPlan, new: &ItemPlan) -> Option<ItemChange> {
    if item_hash(old) == item_hash(new) {
        return None;
    }
    let (before, after) = (amounts(old), amounts(new));
    let decision_changed = old.decision != new.decision;
    let none = || "–".to_string();
    let to = (old.target != new.target).then(|| {
        (
            old.target.clone().unwrap_or_else(none),
            new.target.clone().unwrap_or_else(none),
        )
    });
    let mut fields = match (&old.detail, &new.detail) {
        (Some(o), Some(n)) => {
            let shown: Vec<&str> = old
                .amounts
                .iter()
                .chain(&new.amounts)
                .map(|a| a.field.as_str())
                .chain(target_field(&o.with))
                .chain(target_field(&n.with))
                .collect();
            request_diff(
                &Value::Object(o.with.clone()),
                &Value::Object(n.with.clone()),
            )
            .into_iter()
            .filter(|f| !shown.contains(&f.as_str()))
            .collect()
        }
        _ => Vec::new(),
    };
    if fields.is_empty() && before == after && !decision_changed && to.is_none() {
        fields.push("(request)".to_string());
    }
    Some(ItemChange {
        key: key.to_string(),
        before,
        after,
        decision_before: decision_changed.then_some(old.decision),
        decision_after: decision_changed.then_some(new.decision),
        to,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::super::model::SAMPLE;
    use super::super::testing::{PAYROLL, csv, plan};
    use super::super::warnings::Checks;
    use super::*;

    #[test]
    fn added_removed_and_changed_items_by_key() {
        let old = plan(
            PAYROLL,
            &[(
                "payees",
                csv("id,amount,to\nE1,10.50,Ada\nE2,5,Bo\nE3,20,Cy\n"),
            )],
            &Checks::default(),
        );
        let new = plan(
            PAYROLL,
            &[(
                "payees",
                csv("id,amount,to\nE1,10.60,Ada\nE3,20,Cyd\nE4,1,Di\nE2,0,Bo\n"),
            )],
            &Checks::default(),
        );
        let d = diff(&old, &new);
        assert!(!d.workflow_changed);
        assert_eq!(d.inputs_changed, ["payees"]);
        assert!(d.providers_changed.is_empty());
        assert_eq!(d.steps.len(), 1, "{d:?}");
        let pay = &d.steps[0];
        assert_eq!((pay.id.as_str(), pay.change), ("pay", Change::Changed));
        assert_eq!(pay.added.len(), 1);
        assert_eq!(pay.added[0].key, "E4");
        assert_eq!(pay.added[0].after.as_deref(), Some("1 EURC"));
        assert!(pay.removed.is_empty());
        let keys: Vec<&str> = pay.changed.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["E1", "E3", "E2"]);
        assert_eq!(pay.changed[0].before.as_deref(), Some("10.50 EURC"));
        assert_eq!(pay.changed[0].after.as_deref(), Some("10.60 EURC"));
        assert_eq!(pay.changed[1].to, Some(("Cy".into(), "Cyd".into())));
        assert!(pay.changed[1].fields.is_empty(), "{:?}", pay.changed[1]);
        assert_eq!(pay.changed[2].decision_before, Some(Decision::Run));
        assert_eq!(pay.changed[2].decision_after, Some(Decision::Skip));

        let same = diff(&old, &old);
        assert!(same.is_empty(), "{same:?}");
    }

    #[test]
    fn items_beyond_the_sample_are_compared_by_digest() {
        let rows: String = (1..=SAMPLE + 5)
            .map(|i| format!("E{i},1.00,P{i}\n"))
            .collect();
        let payees = || csv(&format!("id,amount,to\n{rows}"));
        let old = plan(PAYROLL, &[("payees", payees())], &Checks::default());
        let new = plan(
            &PAYROLL.replace("network: SEPA", "network: STELLAR"),
            &[("payees", payees())],
            &Checks::default(),
        );
        let d = diff(&old, &new);
        assert!(d.workflow_changed);
        let pay = &d.steps[0];
        assert_eq!(pay.changed.len(), SAMPLE + 5);
        // Kept in full on both sides: the field is named; beyond: the digest tells.
        assert_eq!(pay.changed[0].fields, ["network"]);
        assert_eq!(pay.changed[SAMPLE - 1].fields, ["network"]);
        assert_eq!(pay.changed[SAMPLE].fields, ["(request)"]);
        assert_eq!(pay.changed[SAMPLE].key, format!("E{}", SAMPLE + 1));
        assert!(
            pay.changed
                .iter()
                .all(|c| c.before == c.after && c.to.is_none())
        );
    }
}
