//! Rendering a step's `with` for one call: what the engine sends and the plan shows, made
//! by one function so the two cannot differ.
//!
//! Two kinds of fields render differently from plain templates (the catalog says which):
//! - answer templates ([`Render::OnAnswer`], `http.request`'s `success_when` and `lookup`)
//!   are passed on as written: the adapter renders them against the provider's answer;
//! - JSON bodies ([`FieldType::Json`]): a value written as one template expression that
//!   renders a decimal (`"{{row.amount}}"` → `12.50`) becomes a JSON number with exactly
//!   its digits, never through a float; written between double quotes
//!   (`'"{{row.amount}}"'`) it stays a string (`"12.50"`).

use serde_json::{Map, Value};

use crate::catalog::{self, ActionSpec, FieldType};
use crate::template::{ScopeRef, TemplateError, Templates};

/// Renders `with` for `action` in `scope`, field by field.
///
/// # Errors
/// The first template that fails, as [`Templates::render_value`] reports it.
pub fn render_with<'c>(
    templates: &Templates,
    action: &ActionSpec,
    with: &Map<String, Value>,
    scope: impl Into<ScopeRef<'c>>,
) -> Result<Map<String, Value>, TemplateError> {
    let scope = scope.into();
    let mut out = Map::with_capacity(with.len());
    for (name, template) in with {
        let value = match field_type(action, name) {
            Some((_, catalog::Render::OnAnswer)) => template.clone(),
            Some((FieldType::Json, _)) => json(templates, template, &scope)?,
            _ => templates.render_value(template, &scope)?,
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// The type and render time of `action`'s field `name` with any provider that declares it.
fn field_type(action: &ActionSpec, name: &str) -> Option<(FieldType, catalog::Render)> {
    catalog::offers(action.name)
        .find_map(|o| o.field(name))
        .map(|f| (f.ty, f.render))
}

/// A JSON body, rendered with its whole-value decimals as numbers.
fn json(
    templates: &Templates,
    value: &Value,
    scope: &ScopeRef<'_>,
) -> Result<Value, TemplateError> {
    match value {
        Value::String(text) if text.contains("{{") => {
            if let Some(inner) = quoted_expression(text) {
                return templates.render(inner, scope).map(Value::String);
            }
            let rendered = templates.render_value(value, scope)?;
            Ok(match rendered {
                Value::String(s) if is_expression(text) && is_decimal(&s) => {
                    s.parse().map_or(Value::String(s), Value::Number)
                }
                other => other,
            })
        }
        Value::Array(items) => items
            .iter()
            .map(|v| json(templates, v, scope))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), json(templates, v, scope)?)))
            .collect::<Result<_, _>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

/// Whether `text` is one template expression and nothing else.
fn is_expression(text: &str) -> bool {
    text.starts_with("{{") && text.ends_with("}}") && text.matches("{{").count() == 1
}

/// The expression of `"{{…}}"`, written between double quotes.
fn quoted_expression(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    is_expression(inner).then_some(inner)
}

/// Whether `text` is a plain decimal as JSON writes numbers: `-`, digits without a leading
/// zero, and an optional fraction (`12.50`, `-3`, `0.001`; not `012`, `+1`, `1e3`, `.5`).
fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole)
        && (whole == "0" || !whole.starts_with('0'))
        && fraction.is_none_or(all_digits)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_bodies_keep_decimals_exact_and_answer_templates_wait() {
        let t = Templates::new();
        let scope = json!({"row": {"amount": "12.50", "ref": "0042", "n": "7"}});
        let with = json!({
            "method": "POST",
            "json": {
                "amount": "{{row.amount}}",
                "text": "{{row.amount}}",
                "ref": "{{row.ref}}",
                "kept": "\"{{row.n}}\"",
                "sum": "{{add row.amount '0.05'}}",
                "note": "paid {{row.amount}}",
                "list": ["{{row.n}}"],
                "literal": "12.50"
            },
            "success_when": "{{eq output.state 'OK'}}",
            "lookup": {"path": "/t/{{output.id}}"}
        });
        let with = with.as_object().unwrap();
        let out = render_with(&t, &catalog::HTTP_REQUEST, with, &scope).unwrap();
        let body = serde_json::to_string(&out["json"]).unwrap();
        assert_eq!(
            body,
            r#"{"amount":12.50,"text":12.50,"ref":"0042","kept":"7","sum":12.55,"note":"paid 12.50","list":[7],"literal":"12.50"}"#
        );
        assert_eq!(out["success_when"], with["success_when"]);
        assert_eq!(out["lookup"], with["lookup"]);
        for (text, decimal) in [
            ("12.50", true),
            ("-3", true),
            ("0.001", true),
            ("0", true),
            ("012", false),
            ("+1", false),
            ("1e3", false),
            (".5", false),
            ("1.", false),
            ("", false),
        ] {
            assert_eq!(is_decimal(text), decimal, "{text}");
        }
    }
}
