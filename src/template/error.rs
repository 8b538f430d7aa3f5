//! Why a template was refused or failed to render.
//!
//! handlebars reports in its own terms (line and column, `MissingVariable(Some("…"))`, a
//! nested helper error); this module turns that into [`TemplateError`], with byte offsets,
//! the missing path and a did-you-mean among the keys that do exist at that level.

use handlebars::{Path, PathSeg, RenderError, RenderErrorReason, TemplateErrorReason};
use serde_json::Value;

use super::helpers::HelperError;
use super::source::offset_of;

/// A template that does not parse, uses what sluice does not offer, or fails to render.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The template is not valid handlebars.
    #[error("invalid template syntax{}: {message}", at(*offset))]
    Syntax {
        /// Byte offset of the problem in the template, when handlebars reports one.
        offset: Option<usize>,
        /// What handlebars expected.
        message: String,
        /// The handlebars error.
        #[source]
        source: Box<handlebars::TemplateError>,
    },
    /// A helper name no helper has.
    #[error("unknown helper `{name}`{}", hint(suggestion))]
    UnknownHelper {
        /// The name as written.
        name: String,
        /// Byte offset of the name in the template, when known.
        offset: Option<usize>,
        /// The closest existing helper name, if one is close.
        suggestion: Option<String>,
    },
    /// Partials and decorators: workflow templates are single strings with no registry of
    /// partials, so both are refused.
    #[error("{what} are not supported in templates")]
    Unsupported {
        /// `partials` or `decorators`.
        what: &'static str,
        /// Byte offset of the tag in the template.
        offset: usize,
    },
    /// A variable path that is not in the context.
    #[error("`{path}` is not defined{}", hint(suggestion))]
    MissingVariable {
        /// The path as written in the template (`inputs.budgte`).
        path: String,
        /// The same path with the first unknown key replaced by the closest existing
        /// key at that level, if one is close (`inputs.budget`).
        suggestion: Option<String>,
    },
    /// `lookup` found nothing under the key it was given.
    #[error("`lookup` found no value under the given key")]
    MissingLookup,
    /// A path indexes a list with something that is not a position.
    #[error("a list cannot be indexed with `{segment}`")]
    NotAnIndex {
        /// The offending path segment.
        segment: String,
    },
    /// A helper refused its arguments.
    #[error("helper `{helper}`: {message}")]
    Helper {
        /// The helper's name.
        helper: String,
        /// What was wrong.
        message: String,
    },
    /// An `if:` template rendered something other than `true` or `false`.
    #[error("a condition must render `true` or `false`, got `{text}`")]
    NotBoolean {
        /// The rendered text, trimmed.
        text: String,
    },
    /// Any other rendering failure.
    #[error("cannot render template")]
    Render {
        /// The handlebars error.
        #[source]
        source: Box<RenderError>,
    },
}

fn at(offset: Option<usize>) -> String {
    offset.map(|o| format!(" at byte {o}")).unwrap_or_default()
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

impl TemplateError {
    /// A parse error of `source`, with its line and column turned into a byte offset.
    pub(crate) fn syntax(source: &str, error: handlebars::TemplateError) -> Self {
        let mut offset = error
            .pos()
            .map(|(line, column)| offset_of(source, line, column));
        // The parser's own wording lists grammar rule names; say what a writer can act on
        // and keep the parser's error as the source.
        let message = match (error.reason(), offset) {
            (TemplateErrorReason::InvalidSyntax(_), Some(at)) if at >= source.len() => {
                match unclosed_tag(source) {
                    Some(open) => {
                        offset = Some(open);
                        "`{{` is never closed".to_owned()
                    }
                    None => "the template ends inside an open block".to_owned(),
                }
            }
            (TemplateErrorReason::InvalidSyntax(_), Some(at)) => {
                let next = source[at..].chars().next().unwrap_or(' ');
                format!("unexpected `{next}`")
            }
            (TemplateErrorReason::MismatchingClosedHelper(open, close), _) => {
                format!("block `{open}` is closed by `/{close}`")
            }
            (TemplateErrorReason::InvalidParam(param), _) => format!("invalid argument `{param}`"),
            (other, _) => other.to_string(),
        };
        TemplateError::Syntax {
            offset,
            message,
            source: Box::new(error),
        }
    }

    /// An unknown helper `name` at `offset`, with a did-you-mean.
    pub(crate) fn unknown_helper(name: &str, offset: Option<usize>) -> Self {
        TemplateError::UnknownHelper {
            name: name.to_owned(),
            offset,
            suggestion: closest(name, super::helpers::names()).map(str::to_owned),
        }
    }

    /// A missing `path`, with a did-you-mean found in `root`, the rendering context.
    pub(crate) fn missing(path: &str, root: &Value) -> Self {
        TemplateError::MissingVariable {
            path: path.to_owned(),
            suggestion: suggest_path(path, root),
        }
    }

    /// A rendering error, in sluice's terms; `root` is the rendering context.
    pub(crate) fn from_render(error: RenderError, root: &Value) -> Self {
        match error.reason() {
            RenderErrorReason::MissingVariable(Some(path)) => Self::missing(path, root),
            RenderErrorReason::MissingVariable(None) => TemplateError::MissingLookup,
            RenderErrorReason::InvalidJsonIndex(segment) => TemplateError::NotAnIndex {
                segment: segment.clone(),
            },
            RenderErrorReason::HelperNotFound(name) => Self::unknown_helper(name, None),
            RenderErrorReason::ParamNotFoundForIndex(helper, index) => TemplateError::Helper {
                helper: (*helper).to_owned(),
                message: format!("argument {} is missing", index + 1),
            },
            RenderErrorReason::NestedError(inner) => match inner.downcast_ref::<HelperError>() {
                Some(e) => TemplateError::Helper {
                    helper: e.helper.to_owned(),
                    message: e.message.clone(),
                },
                None => TemplateError::Render {
                    source: Box::new(error),
                },
            },
            _ => TemplateError::Render {
                source: Box::new(error),
            },
        }
    }
}

/// The last `{{` with no `}}` after it.
fn unclosed_tag(source: &str) -> Option<usize> {
    let open = source.rfind("{{")?;
    (!source[open..].contains("}}")).then_some(open)
}

/// `path` with its first key that is not in `root` replaced by the closest key present
/// at that level. Only plain dotted paths from the top are followed: inside an `each` a
/// path is relative to an element the error does not identify.
fn suggest_path(path: &str, root: &Value) -> Option<String> {
    let Ok(Path::Relative((segs, _))) = Path::parse(path) else {
        return None;
    };
    let names = segs
        .iter()
        .map(|seg| match seg {
            PathSeg::Named(name) => Some(name.as_str()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    let mut node = root;
    for (i, name) in names.iter().enumerate() {
        let Value::Object(map) = node else {
            return None;
        };
        match map.get(*name) {
            Some(next) => node = next,
            None => {
                let best = closest(name, map.keys().map(String::as_str))?;
                let mut fixed: Vec<&str> = names.clone();
                fixed[i] = best;
                return Some(fixed.join("."));
            }
        }
    }
    None
}

/// The candidate closest to `name` by edit distance, if it is close: at most one edit
/// per three characters, and at least one.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let allowed = (name.chars().count() / 3).max(1);
    candidates
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use handlebars::Template;
    use serde_json::json;

    use super::*;

    #[test]
    fn suggestions_follow_the_context() {
        let root = json!({"inputs": {"budget": "1", "payees": []}, "steps": {"fund": {"output": {"id": "x"}}}});
        assert_eq!(
            suggest_path("inputs.budgte", &root).as_deref(),
            Some("inputs.budget")
        );
        assert_eq!(
            suggest_path("steps.fnud.output.id", &root).as_deref(),
            Some("steps.fund.output.id")
        );
        assert_eq!(
            suggest_path("inptus.budget", &root).as_deref(),
            Some("inputs.budget")
        );
        assert_eq!(suggest_path("inputs.xyz", &root), None);
        assert_eq!(suggest_path("inputs.budget.cents", &root), None);
        assert_eq!(suggest_path("../inputs", &root), None);
        assert_eq!(
            TemplateError::missing("inputs.budgte", &root).to_string(),
            "`inputs.budgte` is not defined (did you mean `inputs.budget`?)"
        );
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let syntax = |source: &str| match Template::compile(source) {
            Err(e) => {
                let e = TemplateError::syntax(source, e);
                let TemplateError::Syntax { offset, .. } = &e else {
                    unreachable!()
                };
                (*offset, e.to_string())
            }
            Ok(_) => panic!("{source:?} parsed"),
        };
        assert_eq!(
            syntax("Hello {{name"),
            (
                Some(6),
                "invalid template syntax at byte 6: `{{` is never closed".to_owned()
            )
        );
        assert_eq!(
            syntax("{{#if a}}\nyes"),
            (
                Some(13),
                "invalid template syntax at byte 13: the template ends inside an open block"
                    .to_owned()
            )
        );
        assert_eq!(
            syntax("{{foo bar=}}"),
            (
                Some(10),
                "invalid template syntax at byte 10: unexpected `}`".to_owned()
            )
        );
        assert_eq!(
            syntax("{{#if a}}x{{/each}}"),
            (
                Some(10),
                "invalid template syntax at byte 10: block `if` is closed by `/each`".to_owned()
            )
        );
    }

    #[test]
    fn helper_names_get_a_did_you_mean() {
        assert_eq!(
            TemplateError::unknown_helper("sume", Some(2)).to_string(),
            "unknown helper `sume` (did you mean `sum`?)"
        );
        assert_eq!(
            TemplateError::unknown_helper("frobnicate", None).to_string(),
            "unknown helper `frobnicate`"
        );
        assert_eq!(
            closest("lenght", ["len", "length"].into_iter()),
            Some("length")
        );
    }
}
