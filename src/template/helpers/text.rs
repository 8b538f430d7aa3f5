//! Text and value helpers: `len json upper lower default concat`.
//!
//! `default VALUE FALLBACK` is the one helper that accepts an undefined argument: it
//! gives FALLBACK when VALUE is undefined, null or the empty string, which is how a
//! template spells "optional" under strict rendering. FALLBACK itself must be defined.

use handlebars::RenderError;
use serde_json::Value;

use super::args::{Args, scalar_text, shown};

/// `len X`: the number of characters of a string, items of a list or keys of an object.
pub(crate) fn len(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    args.arity(1, Some(1))?;
    let n = match args.value(0)? {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        other => {
            return Err(args.fail(format!("`{}` has no length", shown(other))));
        }
    };
    Ok(Value::from(n))
}

/// `json X`: X as compact JSON text.
pub(crate) fn json(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    args.arity(1, Some(1))?;
    Ok(Value::String(args.value(0)?.to_string()))
}

/// `upper S`: S in upper case.
pub(crate) fn upper(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    string(args).map(|s| Value::String(s.to_uppercase()))
}

/// `lower S`: S in lower case.
pub(crate) fn lower(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    string(args).map(|s| Value::String(s.to_lowercase()))
}

fn string<'a>(args: &Args<'a, '_>) -> Result<&'a str, RenderError> {
    args.arity(1, Some(1))?;
    match args.value(0)? {
        Value::String(s) => Ok(s),
        other => Err(args.fail(format!("`{}` is not a string", shown(other)))),
    }
}

/// `default VALUE FALLBACK`: VALUE, or FALLBACK when VALUE is undefined, null or `""`.
pub(crate) fn default(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    args.arity(2, Some(2))?;
    let value = args.raw(0)?;
    let absent = value.is_value_missing()
        || matches!(value.value(), Value::Null)
        || value.value().as_str() == Some("");
    if absent {
        args.value(1).cloned()
    } else {
        Ok(value.value().clone())
    }
}

/// `concat A B …`: the text of strings, numbers and booleans joined together.
pub(crate) fn concat(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    args.arity(1, None)?;
    let mut out = String::new();
    for i in 0..args.len() {
        let value = args.value(i)?;
        let text = scalar_text(value).ok_or_else(|| {
            args.fail(format!(
                "argument {} `{}` is not a string, number or boolean",
                i + 1,
                shown(value)
            ))
        })?;
        out.push_str(&text);
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::template::Templates;

    #[test]
    fn default_fills_undefined_null_and_empty_values() {
        let templates = Templates::new();
        let ctx = json!({"inputs": {"note": "", "memo": null, "ref": "R1"}});
        let render = |t: &str| templates.render(t, &ctx);
        assert_eq!(render("{{default inputs.missing 'none'}}").unwrap(), "none");
        assert_eq!(render("{{default inputs.note 'n/a'}}").unwrap(), "n/a");
        assert_eq!(render("{{default inputs.memo inputs.ref}}").unwrap(), "R1");
        assert_eq!(render("{{default inputs.ref 'x'}}").unwrap(), "R1");
        assert_eq!(
            render("{{upper (default inputs.nope 'eur')}}").unwrap(),
            "EUR"
        );
        // The fallback itself is held to strict rules.
        let err = render("{{default inputs.missing inputs.other}}").unwrap_err();
        assert_eq!(err.to_string(), "`inputs.other` is not defined");
    }

    #[test]
    fn len_json_case_and_concat() {
        let templates = Templates::new();
        let ctx: serde_json::Value = serde_json::from_str(
            r#"{"name": "Zoë", "rows": [1, 2, 3], "obj": {"a": "1.10", "b": [true]}, "n": 1.50}"#,
        )
        .unwrap();
        let render = |t: &str| templates.render(t, &ctx);
        assert_eq!(
            render("{{len name}} {{len rows}} {{len obj}}").unwrap(),
            "3 3 2"
        );
        assert_eq!(
            render("{{json obj}}").unwrap(),
            r#"{"a":"1.10","b":[true]}"#
        );
        assert_eq!(render("{{json n}} {{json name}}").unwrap(), r#"1.50 "Zoë""#);
        assert_eq!(render("{{upper name}}/{{lower 'ABC'}}").unwrap(), "ZOË/abc");
        assert_eq!(
            render("{{concat 'INV-' n '-' true}}").unwrap(),
            "INV-1.50-true"
        );
        let err = render("{{len n}}").unwrap_err();
        assert_eq!(err.to_string(), "helper `len`: `1.50` has no length");
        let err = render("{{upper rows}}").unwrap_err();
        assert_eq!(err.to_string(), "helper `upper`: `[1,2,3]` is not a string");
        let err = render("{{concat 'a' obj}}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("helper `concat`: argument 2 `{"),
            "{err}"
        );
        let err = render("{{lower nope}}").unwrap_err();
        assert_eq!(err.to_string(), "`nope` is not defined");
    }
}
