//! Compiling, caching and rendering templates.
//!
//! [`Templates`] owns a handlebars registry set up the sluice way: strict (an undefined
//! variable is an error, never an empty string), no HTML escaping (templates build JSON
//! fields and provider notes, not HTML), and the helpers of [`super::helpers`]. Each
//! distinct template string is parsed and checked once and kept, so a batch that renders
//! the same few templates for 10,000 items parses each of them once.
//!
//! The data a template sees is a JSON object (`inputs`, `steps`, `run`, the `for_each`
//! alias). Rendering from a `&serde_json::Value` copies it once per call, because
//! handlebars owns its data; a [`Scope`] holds the data ready for rendering so that the
//! per-item loop of a large batch copies nothing.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use handlebars::template::{Parameter, Subexpression, TemplateElement};
use handlebars::{Context, Handlebars, RenderContext, Renderable, StringOutput, Template};
use serde_json::{Map, Value};

use super::ast::{self, Node, path_raw};
use super::error::TemplateError;
use super::helpers;

/// Template data prepared for rendering: the JSON object templates see.
#[derive(Debug, Clone)]
pub struct Scope {
    context: Context,
}

impl Scope {
    /// Data for templates, usually an object with `inputs`, `steps` and `run`.
    pub fn new(data: Value) -> Self {
        Self {
            context: Context::from(data),
        }
    }

    /// The data.
    pub fn data(&self) -> &Value {
        self.context.data()
    }

    /// The data, to change in place between renders.
    pub fn data_mut(&mut self) -> &mut Value {
        self.context.data_mut()
    }

    /// Sets the top-level `key` (a `for_each` alias, say) and returns its previous value.
    /// Data that is not an object is replaced by an object holding only `key`.
    pub fn insert(&mut self, key: &str, value: Value) -> Option<Value> {
        let data = self.context.data_mut();
        if !data.is_object() {
            *data = Value::Object(Map::new());
        }
        data.as_object_mut()?.insert(key.to_owned(), value)
    }
}

impl From<Value> for Scope {
    fn from(data: Value) -> Self {
        Self::new(data)
    }
}

/// What a render call reads: a [`Scope`], borrowed as is, or a JSON value, copied into
/// one for the call. Built by `From`, so every rendering method takes `&value` or `&scope`.
pub struct ScopeRef<'a>(Cow<'a, Context>);

impl<'a> From<&'a Scope> for ScopeRef<'a> {
    fn from(scope: &'a Scope) -> Self {
        ScopeRef(Cow::Borrowed(&scope.context))
    }
}

impl<'a> From<&'a ScopeRef<'_>> for ScopeRef<'a> {
    fn from(scope: &'a ScopeRef<'_>) -> Self {
        ScopeRef(Cow::Borrowed(scope.0.as_ref()))
    }
}

impl<'a> From<&'a Value> for ScopeRef<'a> {
    fn from(data: &'a Value) -> Self {
        ScopeRef(Cow::Owned(Context::from(data.clone())))
    }
}

/// A parsed and checked template.
#[derive(Debug)]
struct Compiled {
    template: Template,
    /// For a template that is one expression and nothing else, that expression, to
    /// evaluate to a typed JSON value in [`Templates::render_value`].
    expression: Option<Parameter>,
}

/// The template engine: a strict handlebars registry with sluice's helpers and a cache of
/// parsed templates. Cheap to share (`Send + Sync`); the cache only grows, by one entry
/// per distinct template string, which a workflow file bounds.
#[derive(Debug)]
pub struct Templates {
    registry: Handlebars<'static>,
    cache: RwLock<HashMap<String, Arc<Compiled>>>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// A strict, non-escaping registry with every sluice helper.
    pub fn new() -> Self {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        helpers::register(&mut registry);
        Self {
            registry,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// Checks `template` without rendering it: syntax, helper names, and no partials or
    /// decorators. Validation calls this for every template of a workflow before anything
    /// runs; a checked template is kept, so rendering it later does not parse it again.
    ///
    /// # Errors
    /// [`TemplateError::Syntax`], [`TemplateError::UnknownHelper`] or
    /// [`TemplateError::Unsupported`].
    pub fn check(&self, template: &str) -> Result<(), TemplateError> {
        self.compiled(template).map(|_| ())
    }

    /// Renders `template` to text.
    ///
    /// # Errors
    /// Those of [`Templates::check`], then [`TemplateError::MissingVariable`] for an
    /// undefined path, [`TemplateError::Helper`] for a helper that refused its arguments,
    /// or another rendering error.
    pub fn render<'c>(
        &self,
        template: &str,
        data: impl Into<ScopeRef<'c>>,
    ) -> Result<String, TemplateError> {
        if !template.contains("{{") {
            return Ok(template.to_owned());
        }
        let compiled = self.compiled(template)?;
        self.render_compiled(&compiled, &data.into().0)
    }

    /// Renders every string inside `value`: objects keep their keys, lists their order,
    /// and numbers, booleans and null are left alone.
    ///
    /// A string that is exactly one expression (`"{{steps.fund.output}}"`,
    /// `"{{gt a b}}"`, nothing around it) becomes the JSON value of that expression,
    /// whatever its type: a boolean, a number, a list, an object, null. Any other string
    /// renders to a string, and a string value always stays a string. So
    /// `{amount: "{{sum xs 'amount'}}"}` gives a decimal string (decimal helpers return
    /// strings), while `{match: "{{steps.fund.output}}"}` passes the object itself.
    ///
    /// # Errors
    /// As [`Templates::render`], for the first string that fails.
    pub fn render_value<'c>(
        &self,
        value: &Value,
        data: impl Into<ScopeRef<'c>>,
    ) -> Result<Value, TemplateError> {
        self.value_in(value, &data.into().0)
    }

    /// Renders an `if:` condition: the text, trimmed, must be `true` or `false`.
    ///
    /// # Errors
    /// As [`Templates::render`], and [`TemplateError::NotBoolean`] naming any other text.
    pub fn render_bool<'c>(
        &self,
        template: &str,
        data: impl Into<ScopeRef<'c>>,
    ) -> Result<bool, TemplateError> {
        let text = self.render(template, data)?;
        match text.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(TemplateError::NotBoolean {
                text: other.to_owned(),
            }),
        }
    }

    fn value_in(&self, value: &Value, context: &Context) -> Result<Value, TemplateError> {
        match value {
            Value::String(text) if text.contains("{{") => {
                let compiled = self.compiled(text)?;
                match &compiled.expression {
                    Some(expression) => self.evaluate(expression, context),
                    None => self.render_compiled(&compiled, context).map(Value::String),
                }
            }
            Value::Array(items) => items
                .iter()
                .map(|item| self.value_in(item, context))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Object(map) => map
                .iter()
                .map(|(key, item)| Ok((key.clone(), self.value_in(item, context)?)))
                .collect::<Result<_, _>>()
                .map(Value::Object),
            other => Ok(other.clone()),
        }
    }

    fn render_compiled(
        &self,
        compiled: &Compiled,
        context: &Context,
    ) -> Result<String, TemplateError> {
        let mut rc = RenderContext::new(None);
        let mut out = StringOutput::new();
        compiled
            .template
            .render(&self.registry, context, &mut rc, &mut out)
            .and_then(|()| out.into_string().map_err(Into::into))
            .map_err(|e| TemplateError::from_render(e, context.data()))
    }

    fn evaluate(&self, expression: &Parameter, context: &Context) -> Result<Value, TemplateError> {
        let mut rc = RenderContext::new(None);
        let result = expression
            .expand(&self.registry, context, &mut rc)
            .map_err(|e| TemplateError::from_render(e, context.data()))?;
        if result.is_value_missing() {
            let path = result.relative_path().map_or("", String::as_str);
            return Err(TemplateError::missing(path, context.data()));
        }
        Ok(result.value().clone())
    }

    fn compiled(&self, template: &str) -> Result<Arc<Compiled>, TemplateError> {
        let cached = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(template)
            .cloned();
        if let Some(compiled) = cached {
            return Ok(compiled);
        }
        let compiled = Arc::new(compile(template)?);
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        Ok(cache.entry(template.to_owned()).or_insert(compiled).clone())
    }
}

fn compile(source: &str) -> Result<Compiled, TemplateError> {
    let template = Template::compile(source).map_err(|e| TemplateError::syntax(source, e))?;
    for node in ast::walk(source, &template) {
        match node {
            Node::Helper { name, offset } if !helpers::is_known(&name) => {
                return Err(TemplateError::unknown_helper(&name, Some(offset)));
            }
            Node::Unsupported { what, offset } => {
                return Err(TemplateError::Unsupported { what, offset });
            }
            _ => {}
        }
    }
    let expression = single_expression(&template);
    Ok(Compiled {
        template,
        expression,
    })
}

/// The expression of a template that is one `{{…}}` and nothing else, as a parameter
/// whose expansion gives its JSON value: a path for `{{a.b}}`, a helper call otherwise.
fn single_expression(template: &Template) -> Option<Parameter> {
    let [TemplateElement::Expression(ht) | TemplateElement::HtmlExpression(ht)] =
        template.elements.as_slice()
    else {
        return None;
    };
    let name_only = ht.params.is_empty() && ht.hash.is_empty();
    Some(match &ht.name {
        Parameter::Path(path) if name_only && !helpers::is_known(path_raw(path)) => ht.name.clone(),
        Parameter::Subexpression(_) if name_only => ht.name.clone(),
        name => Parameter::Subexpression(Subexpression::new(
            name.clone(),
            ht.params.clone(),
            ht.hash.clone(),
        )),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn context() -> Value {
        json!({
            "inputs": {"budget": "25000.00", "payees": [{"name": "Ana", "amount": "10.50"}, {"name": "Bo", "amount": "0"}]},
            "steps": {"fund": {"output": {"id": "swp_1", "ok": true, "fee": 0.25}}},
            "run": {"id": "run_1", "started_at": "2024-05-03T09:00:00Z", "scheduled_for": "2024-05-03"},
            "payee": {"name": "Ana <&>", "amount": "10.50"}
        })
    }

    #[test]
    fn renders_text_without_escaping_and_reuses_the_parse() {
        let templates = Templates::new();
        let ctx = context();
        let note = "Payroll {{run.scheduled_for}} {{payee.name}}";
        assert_eq!(
            templates.render(note, &ctx).unwrap(),
            "Payroll 2024-05-03 Ana <&>"
        );
        assert_eq!(
            templates.render(note, &ctx).unwrap(),
            "Payroll 2024-05-03 Ana <&>"
        );
        assert_eq!(templates.cache.read().unwrap().len(), 1);
        assert_eq!(
            templates.render("no tags here", &ctx).unwrap(),
            "no tags here"
        );
        assert_eq!(
            templates.render(r"\{{literal}}", &ctx).unwrap(),
            "{{literal}}"
        );
        assert_eq!(
            templates.render("{{steps.fund.output.id}}", &ctx).unwrap(),
            "swp_1"
        );
        let each = "{{#each inputs.payees}}{{name}}={{amount}};{{/each}}";
        assert_eq!(templates.render(each, &ctx).unwrap(), "Ana=10.50;Bo=0;");
    }

    #[test]
    fn undefined_variables_are_errors_everywhere() {
        let templates = Templates::new();
        let ctx = context();
        let message = |t: &str| templates.render(t, &ctx).unwrap_err().to_string();
        assert_eq!(
            message("{{inputs.budgte}}"),
            "`inputs.budgte` is not defined (did you mean `inputs.budget`?)"
        );
        assert_eq!(
            message("x {{add inputs.budgte '1'}}"),
            "`inputs.budgte` is not defined (did you mean `inputs.budget`?)"
        );
        assert_eq!(
            message("{{#if (gt payee.amout '0')}}y{{/if}}"),
            "`payee.amout` is not defined (did you mean `payee.amount`?)"
        );
        assert_eq!(
            message("{{#if payee.ok}}y{{/if}}"),
            "`payee.ok` is not defined"
        );
        assert_eq!(
            message("{{#each inputs.payes}}{{/each}}"),
            "`inputs.payes` is not defined (did you mean `inputs.payees`?)"
        );
        assert_eq!(
            message("{{#each inputs.payees}}{{iban}}{{/each}}"),
            "`iban` is not defined"
        );
        assert_eq!(
            message("{{steps.fund.outputs.id}}"),
            "`steps.fund.outputs.id` is not defined (did you mean `steps.fund.output.id`?)"
        );
        assert!(matches!(
            templates.render("{{steps.nope}}", &ctx),
            Err(TemplateError::MissingVariable { path, suggestion: None }) if path == "steps.nope"
        ));
        assert_eq!(
            message("{{inputs.payees.name}}"),
            "a list cannot be indexed with `name`"
        );
    }

    #[test]
    fn render_value_keeps_structure_and_types() {
        let templates = Templates::new();
        let ctx = context();
        let with = json!({
            "amount": "{{payee.amount}}",
            "total": "{{sum inputs.payees 'amount'}}",
            "note": "Payroll {{payee.name}}",
            "match": {"id": "{{steps.fund.output.id}}", "output": "{{steps.fund.output}}"},
            "flags": ["{{steps.fund.output.ok}}", "{{gt payee.amount '10'}}", "{{len inputs.payees}}", "ok {{steps.fund.output.ok}}"],
            "fee": "{{steps.fund.output.fee}}",
            "count": 3,
            "plain": "text",
            "nothing": null,
        });
        let rendered = templates.render_value(&with, &ctx).unwrap();
        assert_eq!(
            rendered,
            json!({
                "amount": "10.50",
                "total": "10.50",
                "note": "Payroll Ana <&>",
                "match": {"id": "swp_1", "output": {"id": "swp_1", "ok": true, "fee": 0.25}},
                "flags": [true, true, 2, "ok true"],
                "fee": 0.25,
                "count": 3,
                "plain": "text",
                "nothing": null,
            })
        );
        // Key order is the order of the file.
        let keys: Vec<&String> = rendered.as_object().unwrap().keys().collect();
        assert_eq!(keys[..3], ["amount", "total", "note"]);
        // A number stays exact text.
        assert_eq!(rendered["fee"].to_string(), "0.25");
        let err = templates
            .render_value(&json!({"a": ["{{inputs.nope}}"]}), &ctx)
            .unwrap_err();
        assert_eq!(err.to_string(), "`inputs.nope` is not defined");
    }

    #[test]
    fn render_bool_accepts_only_true_or_false() {
        let templates = Templates::new();
        let ctx = context();
        assert!(
            templates
                .render_bool("{{gt payee.amount '0'}}", &ctx)
                .unwrap()
        );
        assert!(
            !templates
                .render_bool(" {{lt payee.amount '0'}}\n", &ctx)
                .unwrap()
        );
        assert!(
            templates
                .render_bool("{{steps.fund.output.ok}}", &ctx)
                .unwrap()
        );
        let err = templates.render_bool("{{payee.amount}}", &ctx).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a condition must render `true` or `false`, got `10.50`"
        );
        assert!(matches!(
            templates.render_bool("{{payee.nope}}", &ctx),
            Err(TemplateError::MissingVariable { .. })
        ));
    }

    #[test]
    fn check_catches_syntax_unknown_helpers_and_partials() {
        let templates = Templates::new();
        assert!(templates.check("{{sum inputs.payees 'amount'}}").is_ok());
        assert!(
            templates
                .check("{{#each xs as |x|}}{{x}}{{else}}none{{/each}}")
                .is_ok()
        );
        match templates.check("Hello {{name").unwrap_err() {
            TemplateError::Syntax { offset, .. } => assert_eq!(offset, Some(6)),
            other => panic!("unexpected {other:?}"),
        }
        match templates.check("ok\n{{#if a}}x").unwrap_err() {
            TemplateError::Syntax {
                offset, message, ..
            } => {
                assert!(offset.is_some());
                assert!(!message.is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = templates
            .check("a {{sume inputs.payees 'amount'}}")
            .unwrap_err();
        assert!(
            matches!(
                &err,
                TemplateError::UnknownHelper {
                    offset: Some(4),
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "unknown helper `sume` (did you mean `sum`?)"
        );
        let err = templates.check("{{gt (frob a) '1'}}").unwrap_err();
        assert!(
            matches!(
                &err,
                TemplateError::UnknownHelper {
                    offset: Some(6),
                    ..
                }
            ),
            "{err:?}"
        );
        let err = templates.check("{{#frob a}}{{/frob}}").unwrap_err();
        assert_eq!(err.to_string(), "unknown helper `frob`");
        let err = templates.check("x {{> header}}").unwrap_err();
        assert_eq!(err.to_string(), "partials are not supported in templates");
        // Unknown helpers are refused before rendering ever starts.
        let ctx = context();
        assert!(matches!(
            templates.render("{{frob 1}}", &ctx),
            Err(TemplateError::UnknownHelper { .. })
        ));
    }

    #[test]
    fn a_scope_renders_item_after_item_without_copying() {
        let templates = Templates::new();
        let mut scope = Scope::new(context());
        let amount = "{{payee.amount}}";
        let mut seen = Vec::new();
        for row in context()["inputs"]["payees"].as_array().unwrap() {
            scope.insert("payee", row.clone());
            if templates
                .render_bool("{{gt payee.amount '0'}}", &scope)
                .unwrap()
            {
                seen.push(templates.render(amount, &scope).unwrap());
            }
        }
        assert_eq!(seen, ["10.50"]);
        assert_eq!(scope.data()["payee"]["name"], "Bo");
        scope.data_mut()["run"]["id"] = json!("run_2");
        assert_eq!(templates.render("{{run.id}}", &scope).unwrap(), "run_2");
    }

    #[test]
    fn templates_are_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Templates>();
        assert_send_sync::<Scope>();
    }
}
