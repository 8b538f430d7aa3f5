//! What `run --plan` checks: a plan made again from the recorded workflow path and inputs
//! must be the reviewed plan. Each difference is named, so the refusal says what to look
//! at: the workflow file, an input (with its file), a provider block, or (when all of
//! those match) the steps whose requests differ, found by comparing every item's digest.

use std::collections::BTreeMap;
use std::fmt;

use super::hash::item_hash;
use super::model::{DryRun, ItemPlan};

/// One way a fresh plan differs from the reviewed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The workflow file's text changed.
    Workflow {
        /// Its path.
        path: String,
    },
    /// An input's value (or file) changed, or it was given differently.
    Input {
        /// The input.
        name: String,
        /// Its file, when it came from one.
        path: Option<String>,
    },
    /// A provider block's settings changed, or the block was added or removed.
    Provider {
        /// The block.
        name: String,
        /// `changed`, `was added` or `was removed`.
        what: &'static str,
    },
    /// Everything above matches, but these steps render different requests (another
    /// sluice version, say).
    Requests {
        /// The steps.
        steps: Vec<String>,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Workflow { path } => write!(f, "the workflow file changed (`{path}`)"),
            Difference::Input {
                name,
                path: Some(path),
            } => write!(f, "input `{name}` changed (`{path}`)"),
            Difference::Input { name, path: None } => write!(f, "input `{name}` changed"),
            Difference::Provider { name, what } => write!(f, "provider `{name}` {what}"),
            Difference::Requests { steps } => write!(
                f,
                "the requests of {} changed",
                steps
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// How `fresh` differs from `reviewed`; empty when it is the same plan.
pub fn differences(reviewed: &DryRun, fresh: &DryRun) -> Vec<Difference> {
    if reviewed.plan_hash == fresh.plan_hash {
        return Vec::new();
    }
    let mut out = Vec::new();
    if reviewed.workflow.hash != fresh.workflow.hash {
        out.push(Difference::Workflow {
            path: fresh.workflow.path.clone(),
        });
    }
    let old: BTreeMap<&str, _> = reviewed
        .inputs
        .values
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    let new: BTreeMap<&str, _> = fresh
        .inputs
        .values
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    let names: std::collections::BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    for name in names {
        let (a, b) = (old.get(name), new.get(name));
        let same = matches!((a, b), (Some(a), Some(b))
            if a.hash == b.hash && a.file_sha256 == b.file_sha256 && a.source == b.source);
        if !same {
            out.push(Difference::Input {
                name: name.to_string(),
                path: b.or(a).and_then(|i| i.path.clone()),
            });
        }
    }
    let old: BTreeMap<&str, &str> = reviewed
        .providers
        .iter()
        .map(|p| (p.name.as_str(), p.fingerprint.as_str()))
        .collect();
    let new: BTreeMap<&str, &str> = fresh
        .providers
        .iter()
        .map(|p| (p.name.as_str(), p.fingerprint.as_str()))
        .collect();
    for (name, fp) in &old {
        match new.get(name) {
            Some(f) if f == fp => {}
            Some(_) => out.push(Difference::Provider {
                name: (*name).to_string(),
                what: "config changed",
            }),
            None => out.push(Difference::Provider {
                name: (*name).to_string(),
                what: "was removed",
            }),
        }
    }
    for name in new.keys().filter(|n| !old.contains_key(*n)) {
        out.push(Difference::Provider {
            name: (*name).to_string(),
            what: "was added",
        });
    }
    if out.is_empty() {
        out.push(Difference::Requests {
            steps: changed_steps(reviewed, fresh),
        });
    }
    out
}

/// The steps whose items differ in what the hash covers, item by item: the request digest
/// binds each item's exact requests.
fn changed_steps(reviewed: &DryRun, fresh: &DryRun) -> Vec<String> {
    let same = |a: &ItemPlan, b: &ItemPlan| item_hash(a) == item_hash(b);
    let mut ids: Vec<String> = Vec::new();
    for step in &fresh.steps {
        let old = reviewed.steps.iter().find(|s| s.id == step.id);
        let equal = old.is_some_and(|o| {
            o.action == step.action
                && o.provider == step.provider
                && o.items.len() == step.items.len()
                && o.items.iter().zip(&step.items).all(|(a, b)| same(a, b))
        });
        if !equal {
            ids.push(step.id.clone());
        }
    }
    ids.extend(
        reviewed
            .steps
            .iter()
            .filter(|s| !fresh.steps.iter().any(|f| f.id == s.id))
            .map(|s| s.id.clone()),
    );
    ids
}

#[cfg(test)]
mod tests {
    use super::super::hash::request_digest;
    use super::super::model::SAMPLE;
    use super::super::testing::{PAYROLL, csv, plan};
    use super::super::warnings::Checks;
    use super::*;

    #[test]
    fn names_what_changed() {
        let reviewed = plan(
            PAYROLL,
            &[("payees", csv("id,amount,to\nE1,10.50,Ada\n"))],
            &Checks::default(),
        );
        assert!(differences(&reviewed, &reviewed.clone()).is_empty());

        let amount = plan(
            PAYROLL,
            &[("payees", csv("id,amount,to\nE1,10.51,Ada\n"))],
            &Checks::default(),
        );
        let found = differences(&reviewed, &amount);
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["input `payees` changed (`payees.csv`)"]
        );

        let edited = plan(
            &PAYROLL.replace("network: SEPA", "network: STELLAR"),
            &[("payees", csv("id,amount,to\nE1,10.50,Ada\n"))],
            &Checks::default(),
        );
        assert_eq!(
            differences(&reviewed, &edited),
            [Difference::Workflow {
                path: "t.yaml".into()
            }]
        );

        let moved = plan(
            &PAYROLL.replace("127.0.0.1:9", "127.0.0.1:10"),
            &[("payees", csv("id,amount,to\nE1,10.50,Ada\n"))],
            &Checks::default(),
        );
        let found: Vec<String> = differences(&reviewed, &moved)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            found.contains(&"provider `ws` config changed".to_string()),
            "{found:?}"
        );

        // Same inputs and settings but other requests: named by step.
        let mut other = reviewed.clone();
        let item = &mut other.steps[1].items[0];
        let mut detail = item.detail.take().unwrap();
        detail.requests[0].path = "/v2/transfer".into();
        item.digest = request_digest(&detail);
        item.detail = Some(detail);
        other.plan_hash = super::super::hash::plan_hash(&other);
        assert_eq!(
            differences(&reviewed, &other),
            [Difference::Requests {
                steps: vec!["pay".into()]
            }]
        );

        // Past the sample, where the file keeps only the request digest: the same.
        let rows: String = (1..=SAMPLE + 2)
            .map(|i| format!("E{i},1.00,P{i}\n"))
            .collect();
        let payees = csv(&format!("id,amount,to\n{rows}"));
        let reviewed = plan(PAYROLL, &[("payees", payees)], &Checks::default());
        let mut other = reviewed.clone();
        let last = other.steps[1].items.last_mut().unwrap();
        assert!(last.detail.is_none());
        last.digest = "0".repeat(64);
        other.plan_hash = super::super::hash::plan_hash(&other);
        assert_ne!(other.plan_hash, reviewed.plan_hash);
        assert_eq!(
            differences(&reviewed, &other),
            [Difference::Requests {
                steps: vec!["pay".into()]
            }]
        );
    }
}
