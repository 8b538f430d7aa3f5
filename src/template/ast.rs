//! What a compiled template uses: every variable path and helper name, in source order,
//! with byte offsets.
//!
//! One walk over the handlebars AST serves both [`super::references`] (the paths) and
//! [`super::Templates::check`] (the helper names and the features sluice refuses). Paths are
//! resolved the way handlebars resolves them at render time: inside `{{#with x}}` a bare
//! `id` means `x.id`; inside `{{#each xs}}` a bare path, `this` or a block parameter points
//! into one element of `xs`, which no static path names, so it is left out; `../` climbs
//! back out of `each`/`with` and `@root.` starts from the top. Other blocks (`if`, `unless`)
//! keep the context they are in. Finding the text again is [`super::source`]'s job.

use std::ops::Range;

use handlebars::template::{BlockParam, HelperTemplate, Parameter, Subexpression, TemplateElement};
use handlebars::{Path, PathSeg, Template};

use super::helpers;
use super::source::TagMap;

/// One thing a template uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// A variable path. `path` is `None` when it points into something only known at
    /// render time (an `each` element, a block parameter, `@index`).
    Path {
        path: Option<Vec<String>>,
        offset: usize,
    },
    /// A helper call by name.
    Helper { name: String, offset: usize },
    /// A partial or decorator, which sluice templates do not support.
    Unsupported { what: &'static str, offset: usize },
}

/// Walks `template`, compiled from `source`, and lists what it uses in source order.
pub(crate) fn walk(source: &str, template: &Template) -> Vec<Node> {
    let mut walker = Walker {
        tags: TagMap::scan(source),
        next_tag: 0,
        scopes: vec![Scope {
            prefix: Some(Vec::new()),
            locals: Vec::new(),
        }],
        nodes: Vec::new(),
    };
    walker.template(template);
    walker.nodes
}

/// The text of a path as written (`steps.fund.output.id`, `../name`, `@index`).
pub(crate) fn path_raw(path: &Path) -> &str {
    match path {
        Path::Relative((_, raw)) | Path::Local((_, _, raw)) => raw,
    }
}

/// The context a block renders its body in.
struct Scope {
    /// The absolute path of the context, `None` when it is only known at render time.
    prefix: Option<Vec<String>>,
    /// Block parameter names (`as |payee i|`).
    locals: Vec<String>,
}

/// One tag being read, and the offsets inside it already attributed to a name.
struct Tag {
    span: Range<usize>,
    claimed: Vec<usize>,
}

struct Walker<'a> {
    tags: TagMap<'a>,
    next_tag: usize,
    scopes: Vec<Scope>,
    nodes: Vec<Node>,
}

impl Walker<'_> {
    fn template(&mut self, template: &Template) {
        for element in &template.elements {
            self.element(element);
        }
    }

    fn element(&mut self, element: &TemplateElement) {
        match element {
            TemplateElement::Expression(ht) | TemplateElement::HtmlExpression(ht) => {
                let mut tag = self.take_tag();
                self.expression(ht, &mut tag);
            }
            TemplateElement::HelperBlock(ht) => self.block(ht, true),
            TemplateElement::PartialExpression(_) | TemplateElement::DecoratorExpression(_) => {
                let tag = self.take_tag();
                self.unsupported(element, &tag);
            }
            TemplateElement::PartialBlock(dt) | TemplateElement::DecoratorBlock(dt) => {
                let tag = self.take_tag();
                self.unsupported(element, &tag);
                if let Some(body) = &dt.template {
                    self.template(body);
                }
                self.take_tag();
            }
            _ => {}
        }
    }

    fn unsupported(&mut self, element: &TemplateElement, tag: &Tag) {
        let what = match element {
            TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => "partials",
            _ => "decorators",
        };
        self.nodes.push(Node::Unsupported {
            what,
            offset: tag.span.start,
        });
    }

    /// `{{x}}`, `{{helper a b}}`: a name on its own is a variable unless a helper has it.
    fn expression(&mut self, ht: &HelperTemplate, tag: &mut Tag) {
        let name_only = ht.params.is_empty() && ht.hash.is_empty() && !ht.block;
        match &ht.name {
            Parameter::Path(path) if name_only && !helpers::is_known(path_raw(path)) => {
                self.path(path, tag);
            }
            Parameter::Subexpression(sub) if name_only => self.subexpression(sub, tag),
            name => self.call(name, &ht.params, ht.hash.iter(), tag),
        }
    }

    /// A subexpression always calls a helper, even `(x)`.
    fn subexpression(&mut self, sub: &Subexpression, tag: &mut Tag) {
        if let TemplateElement::Expression(ht) = sub.as_element() {
            self.call(&ht.name, &ht.params, ht.hash.iter(), tag);
        }
    }

    fn call<'p>(
        &mut self,
        name: &Parameter,
        params: &[Parameter],
        hash: impl Iterator<Item = (&'p String, &'p Parameter)>,
        tag: &mut Tag,
    ) {
        match name {
            Parameter::Name(name) => self.helper(name, tag),
            Parameter::Path(path) => self.helper(path_raw(path), tag),
            Parameter::Subexpression(sub) => self.subexpression(sub, tag),
            _ => {}
        }
        for param in params {
            self.param(param, tag);
        }
        let mut hash: Vec<_> = hash.collect();
        hash.sort_by_key(|(key, _)| *key);
        for (_, param) in hash {
            self.param(param, tag);
        }
    }

    fn param(&mut self, param: &Parameter, tag: &mut Tag) {
        match param {
            Parameter::Path(path) => self.path(path, tag),
            Parameter::Subexpression(sub) => self.subexpression(sub, tag),
            _ => {}
        }
    }

    fn helper(&mut self, name: &str, tag: &mut Tag) {
        let offset = self.locate(name, tag);
        self.nodes.push(Node::Helper {
            name: name.to_owned(),
            offset,
        });
    }

    fn path(&mut self, path: &Path, tag: &mut Tag) {
        let offset = self.locate(path_raw(path), tag);
        let path = self.resolve(path);
        self.nodes.push(Node::Path { path, offset });
    }

    /// A block, or one `{{else if …}}` link of a chain (`head` is false): its own tag,
    /// its body, its `else` part, and for the head the closing tag.
    fn block(&mut self, ht: &HelperTemplate, head: bool) {
        let mut tag = self.take_tag();
        self.call(&ht.name, &ht.params, ht.hash.iter(), &mut tag);
        let locals = match &ht.block_param {
            Some(BlockParam::Single(p)) => param_names(&[p]),
            Some(BlockParam::Pair((a, b))) => param_names(&[a, b]),
            _ => Vec::new(),
        };
        let scope = match name_of(&ht.name) {
            Some("each") => Some(Scope {
                prefix: None,
                locals,
            }),
            Some("with") => Some(Scope {
                prefix: match ht.params.first() {
                    Some(Parameter::Path(path)) => self.resolve(path),
                    _ => None,
                },
                locals,
            }),
            _ => None,
        };
        if let Some(body) = &ht.template {
            let pushed = scope.is_some();
            self.scopes.extend(scope);
            self.template(body);
            if pushed {
                self.scopes.pop();
            }
        }
        if let Some(inverse) = &ht.inverse {
            match chain_link(inverse) {
                Some(link) => self.block(link, false),
                None => {
                    self.take_tag();
                    self.template(inverse);
                }
            }
        }
        if head {
            self.take_tag();
        }
    }

    fn resolve(&self, path: &Path) -> Option<Vec<String>> {
        let Path::Relative((segs, raw)) = path else {
            return None;
        };
        let names: Vec<String> = segs
            .iter()
            .filter_map(|seg| match seg {
                PathSeg::Named(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        let bare = ["this.", "this/", "./"]
            .iter()
            .find_map(|prefix| raw.strip_prefix(prefix))
            .unwrap_or(raw);
        let from_root = bare.starts_with("@root");
        // Besides `@root`, the only rules kept in a relative path are `..` steps.
        let ups = segs.len() - names.len() - usize::from(from_root);
        let mut resolved = if from_root {
            Vec::new()
        } else {
            let first = names.first()?;
            if self.scopes.iter().any(|s| s.locals.contains(first)) {
                return None;
            }
            let at = self.scopes.len().saturating_sub(1 + ups);
            self.scopes[at].prefix.clone()?
        };
        resolved.extend(names);
        (!resolved.is_empty()).then_some(resolved)
    }

    fn take_tag(&mut self) -> Tag {
        let span = self.tags.tag(self.next_tag).unwrap_or(0..0);
        self.next_tag += 1;
        Tag {
            span,
            claimed: Vec::new(),
        }
    }

    fn locate(&self, needle: &str, tag: &mut Tag) -> usize {
        match self.tags.find(&tag.span, needle, &tag.claimed) {
            Some(at) => {
                tag.claimed.push(at);
                at
            }
            None => tag.span.start,
        }
    }
}

fn name_of(param: &Parameter) -> Option<&str> {
    match param {
        Parameter::Name(name) => Some(name),
        Parameter::Path(path) => Some(path_raw(path)),
        _ => None,
    }
}

fn param_names(params: &[&Parameter]) -> Vec<String> {
    params
        .iter()
        .filter_map(|p| name_of(p))
        .map(str::to_owned)
        .collect()
}

/// The next `{{else if …}}` link when `inverse` is one. handlebars stores a link as a
/// template it builds itself, holding the link alone and no source mapping; a parsed
/// `{{else}}` body always has a mapping entry per element.
fn chain_link(inverse: &Template) -> Option<&HelperTemplate> {
    match inverse.elements.as_slice() {
        [TemplateElement::HelperBlock(link)] if inverse.mapping.is_empty() && link.chain => {
            Some(link)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(source: &str) -> Vec<Node> {
        walk(source, &Template::compile(source).unwrap())
    }

    fn path(segments: &[&str], offset: usize) -> Node {
        Node::Path {
            path: Some(segments.iter().map(|s| s.to_string()).collect()),
            offset,
        }
    }

    fn helper(name: &str, offset: usize) -> Node {
        Node::Helper {
            name: name.to_owned(),
            offset,
        }
    }

    #[test]
    fn with_blocks_prefix_paths_and_each_elements_are_dynamic() {
        let source = "{{#with steps.fund.output}}{{id}} {{../run.id}}{{/with}}\
                      {{#each inputs.payees as |p|}}{{p.amount}}{{this}}{{amount}}{{@index}}{{@root.run.id}}{{/each}}";
        let found = nodes(source);
        let at = |needle: &str| source.find(needle).unwrap();
        assert_eq!(
            found,
            [
                helper("with", 3),
                path(&["steps", "fund", "output"], at("steps.fund")),
                path(&["steps", "fund", "output", "id"], at("{{id}}") + 2),
                path(&["run", "id"], at("../run.id")),
                helper("each", at("each")),
                path(&["inputs", "payees"], at("inputs.payees")),
                Node::Path {
                    path: None,
                    offset: at("p.amount")
                },
                Node::Path {
                    path: None,
                    offset: at("this")
                },
                Node::Path {
                    path: None,
                    offset: at("{{amount}}") + 2
                },
                Node::Path {
                    path: None,
                    offset: at("@index")
                },
                path(&["run", "id"], at("@root.run.id")),
            ]
        );
    }

    #[test]
    fn else_if_chains_are_walked_in_source_order() {
        let source = "{{#if a}}A{{else if (gt b '1')}}{{c}}{{else}}{{d}}{{/if}}{{e}}";
        let at = |needle: &str| source.find(needle).unwrap();
        assert_eq!(
            nodes(source),
            [
                helper("if", 3),
                path(&["a"], at("a}}")),
                helper("if", at("if (")),
                helper("gt", at("gt")),
                path(&["b"], at("b '")),
                path(&["c"], at("c}}")),
                path(&["d"], at("d}}")),
                path(&["e"], at("{{e}}") + 2),
            ]
        );
        // An `{{else}}` whose body is a chained block of its own is not a link.
        let nested = "{{#if a}}{{else}}{{#if b}}{{else if c}}{{/if}}{{/if}}{{z}}";
        let found = nodes(nested);
        assert_eq!(found.len(), 7);
        assert_eq!(found[6], path(&["z"], nested.find("z}}").unwrap()));
    }

    #[test]
    fn partials_and_decorators_are_reported() {
        let found = nodes("{{> header}}{{*inline}}");
        assert_eq!(
            found,
            [
                Node::Unsupported {
                    what: "partials",
                    offset: 0
                },
                Node::Unsupported {
                    what: "decorators",
                    offset: 12
                },
            ]
        );
    }
}
