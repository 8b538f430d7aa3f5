//! Approval policies: how many distinct people must release an `approval` step, whether the
//! person who started the run may be one of them, and who may at all.
//!
//! Pure on purpose. `plan` reads a policy from a step's literal `with` to check and show it,
//! the engine from the rendered `with` to write it into the waiting step's row, and the store
//! judges each `sluice approve` against that row inside the transaction that records it, so
//! two approvers racing are judged one after the other and never both counted as the last.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What an `approval` step asks for, read from its `with`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Distinct approvers needed.
    pub min_approvals: u32,
    /// Whether the run's starter may approve (the default, as before policies existed).
    pub allow_self_approval: bool,
    /// The only people who may approve or deny, when given: names, and `@group`s of the
    /// users file (a member of the group may).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<Vec<String>>,
    /// How long to wait for the approvals, as written (`4h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// What a timeout does.
    #[serde(default)]
    pub on_timeout: OnTimeout,
}

impl Default for Policy {
    /// One approval from anyone, the starter included, with no deadline.
    fn default() -> Self {
        Policy {
            min_approvals: 1,
            allow_self_approval: true,
            approvers: None,
            timeout: None,
            on_timeout: OnTimeout::Fail,
        }
    }
}

/// What an approval step does when its `timeout` passes without enough approvals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// The step fails, and with it the run.
    #[default]
    Fail,
    /// The step succeeds unapproved (`approved: false`) and the run goes on.
    Continue,
}

/// A `with` value that is not a valid policy field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` must be {expected}, got `{got}`")]
pub struct PolicyError {
    /// The field.
    pub field: &'static str,
    /// What it must be.
    pub expected: &'static str,
    /// What it was.
    pub got: String,
}

impl Policy {
    /// Reads the policy fields of an `approval` step's `with`; absent fields take their
    /// defaults. A field holding a template (`{{…}}`) is skipped, so that `plan` can check a
    /// workflow's literal values before anything is rendered.
    ///
    /// # Errors
    /// The first field that is not what it must be.
    pub fn from_with(with: &Map<String, Value>) -> Result<Policy, PolicyError> {
        let mut policy = Policy::default();
        let field = |name: &'static str| with.get(name).filter(|v| !v.is_null() && !templated(v));
        if let Some(v) = field("min_approvals") {
            policy.min_approvals = text(v)
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| wrong("min_approvals", "a whole number of at least 1", v))?;
        }
        if let Some(v) = field("allow_self_approval") {
            policy.allow_self_approval =
                boolean(v).ok_or_else(|| wrong("allow_self_approval", "`true` or `false`", v))?;
        }
        if let Some(v) = field("approvers") {
            let names: Option<Vec<String>> = v.as_array().and_then(|list| {
                list.iter()
                    .map(|n| n.as_str().map(|s| s.trim().to_owned()))
                    .filter(|n| n.as_ref().is_none_or(|n| !n.is_empty() && n != "@"))
                    .collect()
            });
            policy.approvers = Some(
                names
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| wrong("approvers", "a list of names and @groups", v))?,
            );
        }
        if let Some(v) = field("timeout") {
            let t = text(v);
            humantime::parse_duration(t.trim())
                .map_err(|_| wrong("timeout", "a duration such as `4h`", v))?;
            policy.timeout = Some(t.trim().to_owned());
        }
        if let Some(v) = field("on_timeout") {
            policy.on_timeout = match text(v).trim() {
                "fail" => OnTimeout::Fail,
                "continue" => OnTimeout::Continue,
                _ => return Err(wrong("on_timeout", "`fail` or `continue`", v)),
            };
        }
        Ok(policy)
    }

    /// Whether the step asks at all: its rendered `when` (absent means yes).
    ///
    /// # Errors
    /// A `when` that is neither `true` nor `false`.
    pub fn asked(with: &Map<String, Value>) -> Result<bool, PolicyError> {
        match with.get("when") {
            None | Some(Value::Null) => Ok(true),
            Some(v) => boolean(v).ok_or_else(|| wrong("when", "`true` or `false`", v)),
        }
    }

    /// The timeout as a duration (checked when the policy was read).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
            .as_deref()
            .and_then(|t| humantime::parse_duration(t).ok())
    }
}

impl fmt::Display for Policy {
    /// `2 distinct approvals, not the starter, from alice, bob, carol; timeout 4h, then fail`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.min_approvals == 1 { "" } else { "s" };
        write!(f, "{} distinct approval{plural}", self.min_approvals)?;
        if !self.allow_self_approval {
            f.write_str(", not the starter")?;
        }
        if let Some(names) = &self.approvers {
            write!(f, ", from {}", names.join(", "))?;
        }
        if let Some(timeout) = &self.timeout {
            let then = match self.on_timeout {
                OnTimeout::Fail => "fail",
                OnTimeout::Continue => "continue",
            };
            write!(f, "; timeout {timeout}, then {then}")?;
        }
        Ok(())
    }
}

/// One approval given so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Who approved.
    pub by: String,
    /// Why, in their words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When, as the store writes times.
    pub at: String,
}

/// A waiting approval step as its row stores it (`request_json`): the message, the policy
/// and the approvals gathered so far. Rows written before policies existed hold only
/// `approval` and `message`, and read as the default policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// Marks the row as an approval's (`sluice status` tells it from other waits by it).
    pub approval: bool,
    /// The step's message, rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The policy it was asked under.
    #[serde(default)]
    pub policy: Policy,
    /// The approvals given so far, in order.
    #[serde(default)]
    pub approvals: Vec<Approval>,
}

/// Why an approval is not counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The run's starter may not approve it.
    #[error("`{actor}` started this run, and this approval does not allow self-approval")]
    SelfApproval {
        /// The starter.
        actor: String,
    },
    /// Not on the step's list of approvers.
    #[error("`{actor}` is not one of the approvers ({})", approvers.join(", "))]
    NotAnApprover {
        /// Who tried.
        actor: String,
        /// Who may.
        approvers: Vec<String>,
    },
    /// Approved already: approvals must come from distinct people.
    #[error("`{actor}` has already approved; the other approvals must come from someone else")]
    Twice {
        /// Who tried again.
        actor: String,
    },
}

/// Where the approvals stand after one more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// Enough: the step is released.
    Released,
    /// Still short.
    Short,
}

impl Waiting {
    /// Reads a waiting row's request; `None` if it is not an approval's.
    pub fn from_request(request: &Value) -> Option<Waiting> {
        serde_json::from_value(request.clone())
            .ok()
            .filter(|w: &Waiting| w.approval)
    }

    /// Whether `actor`, a member of `groups`, may approve or deny here at all: on the list
    /// by name or by one of their groups (`@treasury`), when there is a list.
    ///
    /// # Errors
    /// [`Refusal::NotAnApprover`].
    pub fn may_decide(&self, actor: &str, groups: &[String]) -> Result<(), Refusal> {
        let listed = |entry: &String| match entry.strip_prefix('@') {
            Some(group) => groups.iter().any(|g| g == group),
            None => entry == actor,
        };
        match &self.policy.approvers {
            Some(list) if !list.iter().any(listed) => Err(Refusal::NotAnApprover {
                actor: actor.to_owned(),
                approvers: list.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Counts `approval` if the policy lets its author (a member of `groups`) approve: on the
    /// list, not the run's `starter` unless self-approval is allowed, and not twice.
    ///
    /// # Errors
    /// Why it does not count; nothing is added.
    pub fn approve(
        &mut self,
        starter: Option<&str>,
        approval: Approval,
        groups: &[String],
    ) -> Result<Tally, Refusal> {
        let actor = approval.by.as_str();
        if !self.policy.allow_self_approval && starter == Some(actor) {
            return Err(Refusal::SelfApproval {
                actor: actor.to_owned(),
            });
        }
        self.may_decide(actor, groups)?;
        if self.approvals.iter().any(|a| a.by == actor) {
            return Err(Refusal::Twice {
                actor: actor.to_owned(),
            });
        }
        self.approvals.push(approval);
        Ok(
            if self.approvals.len() >= self.policy.min_approvals as usize {
                Tally::Released
            } else {
                Tally::Short
            },
        )
    }

    /// Where it stands, for `status` and `approve`: `1 of 2 approvals: alice; waiting for
    /// one more, not bob` (the starter, when self-approval is not allowed).
    pub fn progress(&self, starter: Option<&str>) -> String {
        let need = self.policy.min_approvals as usize;
        let have = self.approvals.len();
        let plural = if need == 1 { "" } else { "s" };
        let mut text = format!("{have} of {need} approval{plural}");
        if have > 0 {
            let names: Vec<&str> = self.approvals.iter().map(|a| a.by.as_str()).collect();
            text.push_str(&format!(": {}", names.join(", ")));
        }
        let more = need.saturating_sub(have);
        let more = match more {
            1 if have > 0 => "one more".to_owned(),
            1 => "one".to_owned(),
            n if have > 0 => format!("{n} more"),
            n => n.to_string(),
        };
        text.push_str(&format!("; waiting for {more}"));
        if let (false, Some(starter)) = (self.policy.allow_self_approval, starter) {
            text.push_str(&format!(", not {starter}"));
        }
        text
    }
}

fn templated(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.contains("{{"))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn wrong(field: &'static str, expected: &'static str, got: &Value) -> PolicyError {
    PolicyError {
        field,
        expected,
        got: text(got),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn with(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn by(name: &str) -> Approval {
        Approval {
            by: name.to_owned(),
            reason: None,
            at: "2026-01-01T00:00:00.000000Z".to_owned(),
        }
    }

    fn waiting(policy: Value) -> Waiting {
        Waiting {
            approval: true,
            message: None,
            policy: Policy::from_with(&with(policy)).unwrap(),
            approvals: vec![],
        }
    }

    #[test]
    fn policies_read_their_fields_and_refuse_bad_ones() {
        let policy = Policy::from_with(&with(json!({
            "message": "x", "min_approvals": "2", "allow_self_approval": false,
            "approvers": ["alice", "bob"], "timeout": "4h", "on_timeout": "continue",
        })))
        .unwrap();
        assert_eq!(policy.min_approvals, 2);
        assert_eq!(policy.timeout(), Some(Duration::from_secs(4 * 3600)));
        assert_eq!(
            policy.to_string(),
            "2 distinct approvals, not the starter, from alice, bob; timeout 4h, then continue"
        );
        assert_eq!(Policy::from_with(&Map::new()).unwrap(), Policy::default());
        for bad in [
            json!({"min_approvals": 0}),
            json!({"min_approvals": "two"}),
            json!({"approvers": "alice"}),
            json!({"approvers": []}),
            json!({"timeout": "soon"}),
            json!({"on_timeout": "retry"}),
            json!({"allow_self_approval": "no"}),
        ] {
            assert!(Policy::from_with(&with(bad.clone())).is_err(), "{bad}");
        }
        assert!(Policy::from_with(&with(json!({"min_approvals": "{{inputs.n}}"}))).is_ok());
        assert_eq!(Policy::asked(&with(json!({"when": "false"}))), Ok(false));
        assert!(Policy::asked(&with(json!({"when": "maybe"}))).is_err());
    }

    #[test]
    fn four_eyes_needs_two_people_neither_the_starter() {
        let mut w = waiting(json!({"min_approvals": 2, "allow_self_approval": false}));
        assert_eq!(
            w.approve(Some("bob"), by("bob"), &[]),
            Err(Refusal::SelfApproval {
                actor: "bob".into()
            })
        );
        assert_eq!(w.approve(Some("bob"), by("alice"), &[]), Ok(Tally::Short));
        assert_eq!(
            w.progress(Some("bob")),
            "1 of 2 approvals: alice; waiting for one more, not bob"
        );
        assert_eq!(
            w.approve(Some("bob"), by("alice"), &[]),
            Err(Refusal::Twice {
                actor: "alice".into()
            })
        );
        assert_eq!(
            w.approve(Some("bob"), by("carol"), &[]),
            Ok(Tally::Released)
        );
    }

    #[test]
    fn an_allow_list_refuses_everyone_else() {
        let mut w = waiting(json!({"approvers": ["alice"]}));
        assert!(matches!(
            w.approve(None, by("mallory"), &[]),
            Err(Refusal::NotAnApprover { .. })
        ));
        assert_eq!(w.approve(None, by("alice"), &[]), Ok(Tally::Released));
    }

    #[test]
    fn a_group_on_the_list_admits_its_members_only() {
        let mut w = waiting(json!({"approvers": ["@treasury", "carol"]}));
        let treasury = ["treasury".to_string()];
        assert!(matches!(
            w.approve(None, by("mallory"), &["sales".to_string()]),
            Err(Refusal::NotAnApprover { .. })
        ));
        assert_eq!(w.approve(None, by("ana"), &treasury), Ok(Tally::Released));
        assert_eq!(w.may_decide("carol", &[]), Ok(()));
    }

    #[test]
    fn rows_from_before_policies_read_as_one_approval_from_anyone() {
        let w = Waiting::from_request(&json!({"approval": true, "message": "CFO"})).unwrap();
        assert_eq!(w.policy, Policy::default());
        assert_eq!(w.progress(None), "0 of 1 approval; waiting for one");
        assert!(Waiting::from_request(&json!({"event": "x"})).is_none());
    }
}
