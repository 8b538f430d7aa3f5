//! The variable paths a template reads, for validation and the DAG.
//!
//! Validation uses [`references`] to report paths into unknown steps or inputs before
//! anything runs, and the planner adds an edge to every step a template reads from
//! (`steps.fund.output.id` makes the step depend on `fund`).

use handlebars::Template;

use super::ast::{self, Node};
use super::error::TemplateError;

/// One variable path a template reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The path from the top of the context: `["steps", "fund", "output", "id"]`. Paths
    /// inside `{{#with x}}` include `x`'s path; `@root.` and `../` are resolved.
    pub path: Vec<String>,
    /// Byte offset of the path's text in the template, for diagnostics.
    pub offset: usize,
}

/// Every variable path `template` reads, in source order, once per occurrence.
///
/// Paths come from expressions, helper arguments, named arguments, subexpressions and
/// block parameters, at any depth. Literals (`'0'`, `"x"`, `12`) are not references, nor
/// are paths that only exist at render time: inside `{{#each xs}}` a bare path, `this`
/// or a block parameter points into one element of `xs` (and `xs` itself is reported);
/// `@index`, `@key` and friends are not data.
///
/// # Errors
/// [`TemplateError::Syntax`] when the template does not parse.
pub fn references(template: &str) -> Result<Vec<Reference>, TemplateError> {
    let compiled = Template::compile(template).map_err(|e| TemplateError::syntax(template, e))?;
    let mut found: Vec<Reference> = ast::walk(template, &compiled)
        .into_iter()
        .filter_map(|node| match node {
            Node::Path {
                path: Some(path),
                offset,
            } => Some(Reference { path, offset }),
            _ => None,
        })
        .collect();
    found.sort_by_key(|r| r.offset);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(template: &str) -> Vec<(String, usize)> {
        references(template)
            .unwrap()
            .into_iter()
            .map(|r| (r.path.join("."), r.offset))
            .collect()
    }

    fn at(template: &str, needle: &str) -> usize {
        template.find(needle).unwrap()
    }

    #[test]
    fn plain_paths_and_helper_arguments() {
        let t = "Payroll {{run.scheduled_for}} {{payee.name}} {{steps.fund.output.id}}";
        assert_eq!(
            paths(t),
            [
                ("run.scheduled_for".to_owned(), 10),
                ("payee.name".to_owned(), at(t, "payee")),
                ("steps.fund.output.id".to_owned(), at(t, "steps")),
            ]
        );
        let t = "{{sum inputs.payees 'amount'}}";
        assert_eq!(paths(t), [("inputs.payees".to_owned(), 6)]);
        assert!(paths("{{add '1' 2 \"x.y\" true null}} text.only").is_empty());
        assert!(paths("{{! {{inputs.hidden}} }}").is_empty());
    }

    #[test]
    fn nested_subexpressions_named_arguments_and_repeats() {
        let t =
            "{{lte (sum inputs.payees 'amount') (add inputs.budget (mul inputs.budget '0.1'))}}";
        let found = paths(t);
        assert_eq!(
            found,
            [
                ("inputs.payees".to_owned(), at(t, "inputs.payees")),
                ("inputs.budget".to_owned(), at(t, "inputs.budget")),
                ("inputs.budget".to_owned(), at(t, "inputs.budget '")),
            ]
        );
        let t = "{{lookup steps.pay.items key=payee.employee_id}}";
        assert_eq!(
            paths(t),
            [
                ("steps.pay.items".to_owned(), at(t, "steps")),
                ("payee.employee_id".to_owned(), at(t, "payee")),
            ]
        );
    }

    #[test]
    fn block_helpers_and_their_scopes() {
        let t = "{{#if (gt payee.amount '0')}}pay {{payee.name}}{{else if steps.check.output.ok}}check{{else}}{{run.id}}{{/if}}";
        assert_eq!(
            paths(t),
            [
                ("payee.amount".to_owned(), at(t, "payee.amount")),
                ("payee.name".to_owned(), at(t, "payee.name")),
                ("steps.check.output.ok".to_owned(), at(t, "steps")),
                ("run.id".to_owned(), at(t, "run.id")),
            ]
        );
        let t = "{{#each steps.pay.outputs as |o|}}{{o.id}} {{id}} {{../run.id}} {{@index}}{{else}}{{inputs.empty}}{{/each}}";
        assert_eq!(
            paths(t),
            [
                ("steps.pay.outputs".to_owned(), at(t, "steps")),
                ("run.id".to_owned(), at(t, "../run.id")),
                ("inputs.empty".to_owned(), at(t, "inputs")),
            ]
        );
        let t = "{{#with steps.fund.output}}{{id}}-{{#if ok}}{{@root.inputs.a}}{{/if}}{{/with}}";
        assert_eq!(
            paths(t),
            [
                ("steps.fund.output".to_owned(), at(t, "steps")),
                ("steps.fund.output.id".to_owned(), at(t, "{{id}}") + 2),
                ("steps.fund.output.ok".to_owned(), at(t, "ok}}")),
                ("inputs.a".to_owned(), at(t, "@root")),
            ]
        );
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(matches!(
            references("{{#if a}}unclosed"),
            Err(TemplateError::Syntax { .. })
        ));
        assert!(matches!(
            references("{{a"),
            Err(TemplateError::Syntax {
                offset: Some(_),
                ..
            })
        ));
    }
}
