//! Strict `if` and `unless`.
//!
//! handlebars' own `if` treats an undefined condition as false even in strict mode, so a
//! misspelt path would silently skip a branch. These replace it under the same names with
//! the same truthiness (`includeZero=true` included), and refuse an undefined condition.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonTruthy, Output, RenderContext,
    Renderable,
};

use super::args::Args;

/// `{{#if X}}…{{else}}…{{/if}}` (`positive`) or `{{#unless X}}` that refuses undefined X.
pub(crate) struct StrictIf {
    pub(crate) name: &'static str,
    pub(crate) positive: bool,
}

impl HelperDef for StrictIf {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let args = Args::new(self.name, h.params());
        args.arity(1, Some(1))?;
        let condition = args.value(0)?;
        let include_zero = h
            .hash_get("includeZero")
            .and_then(|v| v.value().as_bool())
            .unwrap_or(false);
        let branch = if condition.is_truthy(include_zero) == self.positive {
            h.template()
        } else {
            h.inverse()
        };
        match branch {
            Some(t) => t.render(r, ctx, rc, out),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::template::Templates;

    #[test]
    fn if_and_unless_refuse_undefined_conditions() {
        let templates = Templates::new();
        let ctx = json!({"inputs": {"urgent": true, "count": 0, "note": ""}});
        let render = |t: &str| templates.render(t, &ctx);
        assert_eq!(
            render("{{#if inputs.urgent}}now{{else}}later{{/if}}").unwrap(),
            "now"
        );
        assert_eq!(
            render("{{#unless inputs.note}}empty{{/unless}}").unwrap(),
            "empty"
        );
        assert_eq!(
            render("{{#if inputs.count}}a{{else}}b{{/if}}").unwrap(),
            "b"
        );
        assert_eq!(
            render("{{#if inputs.count includeZero=true}}a{{/if}}").unwrap(),
            "a"
        );
        let err = render("{{#if inputs.urgnet}}now{{/if}}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`inputs.urgnet` is not defined (did you mean `inputs.urgent`?)"
        );
        let err = render("{{#unless inputs.nothing}}x{{/unless}}").unwrap_err();
        assert_eq!(err.to_string(), "`inputs.nothing` is not defined");
        // An undefined path inside a branch that runs is refused too.
        let err = render("{{#if inputs.urgent}}{{inputs.when}}{{/if}}").unwrap_err();
        assert_eq!(err.to_string(), "`inputs.when` is not defined");
        assert_eq!(
            render("{{#if inputs.count}}{{inputs.when}}{{/if}}").unwrap(),
            ""
        );
        let chain = "{{#if inputs.count}}a{{else if inputs.urgent}}b{{else}}c{{/if}}";
        assert_eq!(render(chain).unwrap(), "b");
        let err = render("{{#if inputs.count}}a{{else if inputs.late}}b{{/if}}").unwrap_err();
        assert_eq!(err.to_string(), "`inputs.late` is not defined");
    }
}
