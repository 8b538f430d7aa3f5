//! An answer as the step's output: the values `output` names, and whether `success_when`
//! holds for them.
//!
//! The output templates see (`steps.<id>.output`) follows the common shape: `id` and
//! `amount` (exact) come from the values named so, `state` is `succeeded` or `failed` as
//! `success_when` decided and the API's own value named `state` is `provider_state`; every
//! other name is there as found, with `status` (the HTTP status) and `raw` (the answer).

use serde_json::{Map, Value, json};

use super::request::Pointers;
use crate::providers::fields::decimal;
use crate::providers::http::Answer;
use crate::providers::{Call, NormalizedState, Output, State};
use crate::template::Templates;

/// How to read the answers of one call.
pub(super) struct Reading<'a> {
    /// The templates `success_when` renders with.
    pub(super) templates: &'a Templates,
    /// `output`: what to keep of the answer.
    pub(super) pointers: Option<&'a Pointers>,
    /// `success_when`, as written.
    pub(super) success_when: Option<&'a str>,
    /// The call, whose rendered request and key the template may read.
    pub(super) call: &'a Call<'a>,
}

impl Reading<'_> {
    /// The output of `answer`.
    ///
    /// # Errors
    /// What could not be read, in words: a pointer that finds nothing, or a `success_when`
    /// that does not render to `true` or `false`. The caller classifies it (in doubt after
    /// a write: the request was applied, but its result is not known).
    pub(super) fn output(&self, answer: Answer) -> Result<Output, String> {
        let named = self.named(&answer.body)?;
        let succeeded = match self.success_when {
            None => true,
            Some(template) => {
                let scope = json!({
                    "output": named,
                    "status": answer.status,
                    "body": answer.body,
                    "request": self.call.with,
                    "key": self.call.key.as_str(),
                });
                (self.templates.render_bool(template, &scope))
                    .map_err(|e| format!("`success_when`: {e}"))?
            }
        };
        Ok(output(named, answer, succeeded))
    }

    fn named(&self, body: &Value) -> Result<Map<String, Value>, String> {
        let Some(pointers) = self.pointers else {
            return Ok(Map::new());
        };
        pointers
            .iter()
            .map(|(name, pointer)| match body.pointer(pointer) {
                Some(v) => Ok((name.clone(), v.clone())),
                None => Err(format!(
                    "`output.{name}`: the answer has nothing at `{pointer}`"
                )),
            })
            .collect()
    }
}

/// The common output shape of the named values.
fn output(mut named: Map<String, Value>, answer: Answer, succeeded: bool) -> Output {
    let text = |v: Value| match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let normalized = if succeeded {
        NormalizedState::Succeeded
    } else {
        NormalizedState::Failed
    };
    let id = named.remove("id").and_then(text);
    let state = State {
        raw: named.remove("state").and_then(text),
        normalized,
    };
    let amount = decimal(named.remove("amount").as_ref());
    let mut fields = Map::with_capacity(named.len() + 1);
    fields.insert("status".into(), answer.status.into());
    fields.extend(named);
    Output {
        id,
        state,
        amount,
        unit: None,
        fee: None,
        fields,
        raw: answer.body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::IdempotencyKey;

    #[test]
    fn named_values_and_success_when_make_the_output() {
        let templates = Templates::new();
        let with = json!({"json": {"ref": "A1"}});
        let with = with.as_object().unwrap();
        let key = IdempotencyKey::new("idk_1").unwrap();
        let call = Call {
            action: "http.request",
            with,
            key: &key,
            checkpoint: None,
        };
        let pointers = vec![
            ("id".to_string(), "/data/id".to_string()),
            ("state".to_string(), "/data/state".to_string()),
            ("amount".to_string(), "/data/amount".to_string()),
            ("echo".to_string(), "/data/ref".to_string()),
        ];
        let reading = Reading {
            templates: &templates,
            pointers: Some(&pointers),
            success_when: Some(
                "{{and (eq output.state 'PROCESSING') (eq request.json.ref output.echo)}}",
            ),
            call: &call,
        };
        let body: Value = serde_json::from_str(
            r#"{"data": {"id": 42, "state": "PROCESSING", "amount": 12.50, "ref": "A1"}}"#,
        )
        .unwrap();
        let out = reading
            .output(Answer {
                status: 201,
                body: body.clone(),
            })
            .unwrap();
        let j = out.to_json();
        assert_eq!(j["id"], "42");
        assert_eq!(j["state"], "succeeded");
        assert_eq!(j["provider_state"], "PROCESSING");
        assert_eq!(j["amount"], "12.50");
        assert_eq!(j["status"], 201);
        assert_eq!(j["echo"], "A1");

        let mut failed = body.clone();
        failed["data"]["state"] = "REJECTED".into();
        let out = reading
            .output(Answer {
                status: 200,
                body: failed,
            })
            .unwrap();
        assert_eq!(out.state.normalized, NormalizedState::Failed);

        let missing = reading.output(Answer {
            status: 200,
            body: json!({"data": {}}),
        });
        assert_eq!(
            missing.unwrap_err(),
            "`output.id`: the answer has nothing at `/data/id`"
        );
    }
}
