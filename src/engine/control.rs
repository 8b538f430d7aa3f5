//! The control actions that run inside sluice: `assert`, `log`, `sleep`, `approval`.

use serde_json::{Map, Value, json};

use super::call::ItemEnd;
use crate::approval::{self, Policy};

/// What a control action decided, before it is recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlEnd {
    /// Done, with an output.
    Done(Value),
    /// Failed, with the message.
    Failed(String),
    /// Wait this long, then succeed (a `sleep`).
    Sleep(std::time::Duration),
    /// Wait for `sluice approve` under a policy: what the row records, and what to tell.
    AwaitApproval(Box<approval::Waiting>, String),
}

/// Runs `assert` or `log` on the rendered request, or tells the caller to wait (`sleep`,
/// `approval`).
pub fn run(action: &str, step: &str, run_id: &str, with: &Map<String, Value>) -> ControlEnd {
    match action {
        "assert" => {
            let holds = match with.get("that") {
                Some(Value::Bool(b)) => Some(*b),
                Some(Value::String(s)) if s.trim() == "true" => Some(true),
                Some(Value::String(s)) if s.trim() == "false" => Some(false),
                _ => None,
            };
            match holds {
                Some(true) => ControlEnd::Done(json!({ "passed": true })),
                Some(false) => {
                    ControlEnd::Failed(with.get("message").and_then(Value::as_str).map_or_else(
                        || "assertion failed".to_string(),
                        |m| format!("assertion failed: {m}"),
                    ))
                }
                None => ControlEnd::Failed(format!(
                    "`that` must render `true` or `false`, got `{}`",
                    with.get("that")
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )),
            }
        }
        "log" => {
            let message = with.get("message").map(text).unwrap_or_default();
            match with.get("level").and_then(Value::as_str).unwrap_or("info") {
                "warn" | "warning" => tracing::warn!(step, "{message}"),
                "error" => tracing::error!(step, "{message}"),
                _ => tracing::info!(step, "{message}"),
            }
            ControlEnd::Done(json!({ "message": message }))
        }
        "sleep" => {
            let text = with.get("duration").map(text).unwrap_or_default();
            match humantime::parse_duration(text.trim()) {
                Ok(d) => ControlEnd::Sleep(d),
                Err(e) => ControlEnd::Failed(format!("invalid `duration` `{text}`: {e}")),
            }
        }
        "approval" => ask(step, run_id, with),
        other => ControlEnd::Failed(format!("`{other}` is not a control action")),
    }
}

/// An `approval`: not asked when its `when` is false, else a wait under its policy.
fn ask(step: &str, run_id: &str, with: &Map<String, Value>) -> ControlEnd {
    let policy = match Policy::asked(with)
        .and_then(|asked| asked.then(|| Policy::from_with(with)).transpose())
    {
        Ok(Some(policy)) => policy,
        Ok(None) => return ControlEnd::Done(json!({ "approved": false, "asked": false })),
        Err(e) => return ControlEnd::Failed(e.to_string()),
    };
    let message = with.get("message").map(text);
    let mut why = message
        .as_ref()
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    if policy != Policy::default() {
        why.push_str(&format!(" [{policy}]"));
    }
    let tell = format!(
        "waiting for approval{why}: run `sluice approve {run_id} {step}`, then `sluice resume {run_id}`"
    );
    let waiting = approval::Waiting {
        approval: true,
        message,
        policy,
        approvals: Vec::new(),
    };
    ControlEnd::AwaitApproval(Box::new(waiting), tell)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl From<ControlEnd> for ItemEnd {
    fn from(end: ControlEnd) -> Self {
        match end {
            ControlEnd::Done(v) => ItemEnd::Succeeded(v),
            ControlEnd::Failed(m) => ItemEnd::Failed(m),
            ControlEnd::Sleep(d) => {
                ItemEnd::Succeeded(json!({ "slept": humantime::format_duration(d).to_string() }))
            }
            ControlEnd::AwaitApproval(_, m) => ItemEnd::Waiting(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn assert_passes_fails_and_refuses_non_booleans() {
        assert_eq!(
            run("assert", "s", "r", &with(json!({"that": true}))),
            ControlEnd::Done(json!({"passed": true}))
        );
        assert_eq!(
            run(
                "assert",
                "s",
                "r",
                &with(json!({"that": "false", "message": "over budget"}))
            ),
            ControlEnd::Failed("assertion failed: over budget".into())
        );
        assert!(matches!(
            run("assert", "s", "r", &with(json!({"that": "maybe"}))),
            ControlEnd::Failed(_)
        ));
    }

    #[test]
    fn sleep_and_approval_say_what_to_wait_for() {
        assert_eq!(
            run("sleep", "s", "r", &with(json!({"duration": "2s"}))),
            ControlEnd::Sleep(std::time::Duration::from_secs(2))
        );
        let ControlEnd::AwaitApproval(waiting, tell) = run(
            "approval",
            "sign_off",
            "run_1",
            &with(json!({"message": "CFO"})),
        ) else {
            panic!("an approval waits")
        };
        assert_eq!(
            tell,
            "waiting for approval (CFO): run `sluice approve run_1 sign_off`, then `sluice resume run_1`"
        );
        assert_eq!(waiting.policy, Policy::default());
        let ControlEnd::AwaitApproval(_, tell) = run(
            "approval",
            "sign_off",
            "run_1",
            &with(json!({"min_approvals": "2", "when": "true"})),
        ) else {
            panic!("an approval asked for waits")
        };
        assert!(tell.contains("[2 distinct approvals]"), "{tell}");
    }

    #[test]
    fn an_approval_below_its_threshold_is_not_asked() {
        assert_eq!(
            run("approval", "s", "r", &with(json!({"when": "false"}))),
            ControlEnd::Done(json!({ "approved": false, "asked": false }))
        );
        assert!(matches!(
            run("approval", "s", "r", &with(json!({"min_approvals": "0"}))),
            ControlEnd::Failed(_)
        ));
    }
}
