//! Reading a workflow file: YAML with positions, then the serde model.
//!
//! Scalars reach the model as their source text (marked_yaml never turns `1.10` into a
//! float), so an amount written unquoted in YAML keeps every digit.

use std::path::Path;

use marked_yaml::{LoaderOptions, Node};

use super::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean};
use super::model::WorkflowConfig;
use super::source::{Seg, Source};

/// A workflow file that parsed into the model. It has not been validated yet: see
/// `plan::compile`.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file's text and YAML tree.
    pub source: Source,
    /// The model.
    pub config: WorkflowConfig,
}

/// A workflow file that could not be read into the model.
#[derive(Debug, Clone)]
pub struct LoadFailure {
    /// The file's text, for rendering the diagnostics.
    pub source: Source,
    /// What is wrong.
    pub diagnostics: Diagnostics,
}

/// Why a workflow could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read `{path}`")]
    Io {
        /// The path as given.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid workflow.
    #[error("`{}` is not a valid workflow", .0.source.name)]
    Invalid(Box<LoadFailure>),
}

/// Reads and parses the workflow file at `path`.
///
/// # Errors
/// [`LoadError::Io`] when unreadable, [`LoadError::Invalid`] with diagnostics otherwise.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: name.clone(),
        source,
    })?;
    parse(&name, &text).map_err(LoadError::Invalid)
}

/// Parses workflow text; `name` is used in messages.
///
/// # Errors
/// A [`LoadFailure`] holding the diagnostics: YAML syntax (E001), a wrong type or missing
/// field (E002), an unknown field with a "did you mean" hint (E003).
pub fn parse(name: &str, text: &str) -> Result<Loaded, Box<LoadFailure>> {
    parse_as(name, text).map(|(source, config)| Loaded { source, config })
}

/// Parses YAML text into any model of the language (a workflow, `serve`'s notify rules),
/// keeping the source for diagnostics; `name` is used in messages.
///
/// # Errors
/// As [`parse`].
pub fn parse_as<T: serde::de::DeserializeOwned>(
    name: &str,
    text: &str,
) -> Result<(Source, T), Box<LoadFailure>> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let root = match marked_yaml::parse_yaml_with_options(0, text, options) {
        Ok(root) => root,
        Err(e) => {
            let source = Source::new(name, text, None);
            let diagnostic = yaml_error(&source, &e);
            return Err(Box::new(LoadFailure {
                source,
                diagnostics: Diagnostics(vec![diagnostic]),
            }));
        }
    };
    let source = Source::new(name, text, Some(root));
    let root: &Node = source.root().expect("parsed above");
    match marked_yaml::from_node::<T>(root) {
        Ok(config) => Ok((source, config)),
        Err(e) => {
            let diagnostic = model_error(&source, &e);
            Err(Box::new(LoadFailure {
                source,
                diagnostics: Diagnostics(vec![diagnostic]),
            }))
        }
    }
}

fn yaml_error(source: &Source, e: &marked_yaml::LoadError) -> Diagnostic {
    use marked_yaml::LoadError as E;
    let (marker, message) = match e {
        E::TopLevelMustBeMapping(m) | E::TopLevelMustBeSequence(m) => {
            (*m, "the file must be a YAML mapping".to_string())
        }
        E::UnexpectedAnchor(m) => (*m, "YAML anchors and aliases are not supported".into()),
        E::MappingKeyMustBeScalar(m) => (*m, "mapping keys must be plain strings".into()),
        E::UnexpectedTag(m) => (*m, "YAML tags are not supported".into()),
        E::ScanError(m, scan) => (*m, format!("invalid YAML: {}", scan.info())),
        E::DuplicateKey(inner) => (
            *inner
                .key
                .span()
                .start()
                .unwrap_or(&marked_yaml::Marker::new(0, 0, 1, 1)),
            format!("duplicate key `{}`", inner.key.as_str()),
        ),
    };
    Diagnostic::new(Code::E001, message).at(source.marker_span(Some(marker)))
}

fn model_error(source: &Source, e: &marked_yaml::FromNodeError) -> Diagnostic {
    use marked_yaml::Error as E;
    let path = parse_path(e.path().unwrap_or(""));
    let segs: Vec<Seg<'_>> = path
        .iter()
        .map(|p| match p {
            PathSeg::Key(k) => Seg::Key(k),
            PathSeg::Index(i) => Seg::Index(*i),
        })
        .collect();
    let located = |marker: Option<marked_yaml::Marker>| {
        source.marker_span(marker).or_else(|| source.span(&segs))
    };
    match &**e {
        E::UnknownFieldError(field, expected, span) => {
            let mut key_path = segs.clone();
            let mut parent = path.clone();
            if key_path.last() == Some(&Seg::Key(field)) {
                parent.pop();
            } else {
                key_path.push(Seg::Key(field));
            }
            let span = source
                .key_span(&key_path)
                .or_else(|| located(span.start().copied()));
            let hint = did_you_mean(field, expected.iter().copied()).or_else(|| {
                Some(format!(
                    "expected one of {}",
                    expected
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            });
            Diagnostic::new(
                Code::E003,
                format!("unknown field `{field}`{}", at_path(&parent)),
            )
            .at(span)
            .label("not a field here")
            .maybe_hint(hint)
        }
        other => {
            let message = match other {
                E::NotBoolean(_) => "expected `true` or `false`".to_string(),
                E::IntegerParseFailure(err, _) => format!("expected a whole number: {err}"),
                E::FloatParseFailure(err, _) => format!("expected a number: {err}"),
                E::Other(msg, _) => lowercase_first(msg),
                E::UnknownFieldError(..) => unreachable!("handled above"),
            };
            Diagnostic::new(Code::E002, format!("{message}{}", at_path(&path)))
                .at(located(other.start_mark()))
        }
    }
}

fn at_path(path: &[PathSeg]) -> String {
    if path.is_empty() {
        return String::new();
    }
    let mut out = String::from(" in `");
    for (i, seg) in path.iter().enumerate() {
        match seg {
            PathSeg::Key(k) if i == 0 => out.push_str(k),
            PathSeg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            PathSeg::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out.push('`');
    out
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathSeg {
    Key(String),
    Index(usize),
}

/// Parses serde_path_to_error's `steps[2].with.amount` form.
fn parse_path(path: &str) -> Vec<PathSeg> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty() && *p != "?") {
        let (key, indices) = part
            .split_once('[')
            .map_or((part, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            out.push(PathSeg::Key(key.to_string()));
        }
        for index in indices.split('[') {
            if let Ok(n) = index.trim_end_matches(']').parse() {
                out.push(PathSeg::Index(n));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> Diagnostic {
        let failure = parse("f.yaml", text).unwrap_err();
        assert_eq!(failure.diagnostics.0.len(), 1);
        failure.diagnostics.0[0].clone()
    }

    fn spanned<'a>(text: &'a str, d: &Diagnostic) -> &'a str {
        let s = d.span.expect("diagnostic has a span");
        &text[s.start..s.end]
    }

    #[test]
    fn keeps_unquoted_amounts_exact() {
        let loaded = parse(
            "f.yaml",
            "version: 1\nname: x\nsteps:\n  - id: a\n    uses: log\n    with: { message: m, amount: 1.10, big: 12345678901234567890.123456789 }\n",
        )
        .unwrap();
        let with = &loaded.config.steps[0].with;
        assert_eq!(with["amount"], serde_json::json!("1.10"));
        assert_eq!(
            with["big"],
            serde_json::json!("12345678901234567890.123456789")
        );
    }

    #[test]
    fn unknown_fields_point_at_the_key_with_a_hint() {
        let text = "version: 1\nname: x\nsteps:\n  - id: a\n    uses: log\n    nedds: [b]\n";
        let d = error(text);
        assert_eq!(d.code, Code::E003);
        assert_eq!(spanned(text, &d), "nedds");
        assert_eq!(d.hint.as_deref(), Some("did you mean `needs`?"));
        assert!(d.message.contains("unknown field `nedds`"), "{}", d.message);
    }

    #[test]
    fn wrong_types_and_missing_fields_are_located() {
        let text = "version: 1\nname: x\nconcurrency: lots\nsteps: []\n";
        let d = error(text);
        assert_eq!(d.code, Code::E002);
        assert_eq!(spanned(text, &d), "lots");
        let text = "version: 1\nname: x\nsteps:\n  - id: a\n";
        let d = error(text);
        assert_eq!(d.code, Code::E002);
        assert!(d.message.contains("missing field `uses`"), "{}", d.message);
        let text = "version: 1\nname: x\nsteps:\n  - id: a\n    uses: log\n    timeout: soon\n";
        let d = error(text);
        assert!(
            d.message.contains("invalid duration `soon`"),
            "{}",
            d.message
        );
        assert_eq!(spanned(text, &d), "soon");
    }

    #[test]
    fn yaml_syntax_errors_and_duplicate_keys_are_e001() {
        let d = error("version: 1\nname: [x\n");
        assert_eq!(d.code, Code::E001);
        assert!(d.span.is_some());
        let text = "version: 1\nname: x\nname: y\nsteps: []\n";
        let d = error(text);
        assert_eq!(d.code, Code::E001);
        assert!(d.message.contains("duplicate key `name`"), "{}", d.message);
    }

    #[test]
    fn path_parsing() {
        assert_eq!(
            parse_path("steps[2].with.amount"),
            vec![
                PathSeg::Key("steps".into()),
                PathSeg::Index(2),
                PathSeg::Key("with".into()),
                PathSeg::Key("amount".into())
            ]
        );
        assert_eq!(parse_path(""), vec![]);
    }
}
