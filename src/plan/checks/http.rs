//! `http.request` checks: the request a step describes must be one that can be sent, and
//! its answer templates may read only what an answer gives them (E033).
//!
//! Literal values are checked here; values a template produces are checked by the adapter
//! once rendered, with the same words. The method must be written as it is: whether the
//! step is a read or a write is decided before anything runs.

use serde_json::{Map, Value};

use super::Checker;
use crate::catalog::{HTTP_METHODS, READ_METHODS};
use crate::spec::{Code, Diagnostic, Seg};
use crate::template::references;

/// What `success_when` may read: the answer, and the request that got it.
const ANSWER_ROOTS: &[&str] = &["output", "status", "body", "request", "key"];

/// What `lookup` may read: the recorded id (`output.id`), the request and its key.
const LOOKUP_ROOTS: &[&str] = &["output", "request", "key"];

/// Output names the common output shape already uses.
const RESERVED_OUTPUTS: &[&str] = &["provider_state", "fee", "raw", "asset", "currency"];

/// The fields a `lookup` takes.
const LOOKUP_FIELDS: &[&str] = &["method", "path", "url", "query", "headers", "output"];

/// Checks step `index`, an `http.request`, against provider block `provider`.
pub fn check(c: &mut Checker<'_>, index: usize, provider: Option<&str>) {
    let with = &c.cfg.steps[index].with;
    let mut problems: Vec<(Vec<&str>, String)> = Vec::new();
    let method = check_method(with, false, &mut problems, &[]);
    let has_base_url = provider
        .and_then(|p| c.cfg.providers.get(p))
        .is_some_and(|p| p.base_url.is_some());
    check_target(with, has_base_url, &mut problems, &[]);
    let bodies: Vec<&str> = ["json", "form", "body"]
        .into_iter()
        .filter(|f| with.contains_key(*f))
        .collect();
    if bodies.len() > 1 {
        problems.push((
            vec![bodies[1]],
            "give one body: `json`, `form` or `body`".into(),
        ));
    }
    if let (Some(m), Some(first)) = (method, bodies.first())
        && READ_METHODS.contains(&m)
    {
        problems.push((
            vec![first],
            format!("a `{m}` request sends no body; use `query`"),
        ));
    }
    check_output(with, &mut problems, &[]);
    check_templates(c, with, "success_when", ANSWER_ROOTS, &mut problems);
    if let Some(lookup) = with.get("lookup").and_then(Value::as_object) {
        check_lookup(lookup, has_base_url, &mut problems);
        check_templates(c, with, "lookup", LOOKUP_ROOTS, &mut problems);
    }
    for (path, message) in problems {
        let mut at = vec![Seg::Key("steps"), Seg::Index(index), Seg::Key("with")];
        at.extend(path.iter().map(|k| Seg::Key(k)));
        let span = c.src.span(&at).or_else(|| c.src.key_span(&at[..3]));
        c.report(Diagnostic::new(Code::E033, message).at(span));
    }
}

type Problems<'a> = Vec<(Vec<&'a str>, String)>;

/// `method`: written as it is, one of [`HTTP_METHODS`] (a read for a lookup).
fn check_method<'a>(
    map: &'a Map<String, Value>,
    lookup: bool,
    problems: &mut Problems<'a>,
    prefix: &[&'a str],
) -> Option<&'a str> {
    let at = |p: &[&'a str]| [p, &["method"]].concat();
    let name = if lookup { "lookup.method" } else { "method" };
    // A missing `method` is reported with the other required fields (E019).
    let value = map.get("method")?;
    let Some(m) = value.as_str().filter(|m| !m.contains("{{")) else {
        problems.push((
            at(prefix),
            format!("write `{name}` as it is (GET, POST, …): whether the step reads or writes is decided before it runs"),
        ));
        return None;
    };
    let allowed = if lookup { READ_METHODS } else { HTTP_METHODS };
    if !allowed.contains(&m) {
        let why = if lookup {
            "a lookup only reads"
        } else {
            "methods are written in capitals"
        };
        let one_of = allowed.join(", ");
        problems.push((
            at(prefix),
            format!("`{name}` must be one of {one_of}, not `{m}`: {why}"),
        ));
        return None;
    }
    Some(m)
}

/// Exactly one of `path` (starting with `/`, with a `base_url`) and `url` (absolute).
fn check_target<'a>(
    map: &'a Map<String, Value>,
    has_base_url: bool,
    problems: &mut Problems<'a>,
    prefix: &[&'a str],
) {
    let dotted = prefix.iter().map(|p| format!("{p}.")).collect::<String>();
    let literal = |f: &str| {
        map.get(f)
            .and_then(Value::as_str)
            .filter(|s| !s.starts_with("{{"))
    };
    match (map.get("path"), map.get("url")) {
        (Some(_), Some(_)) | (None, None) => problems.push((
            prefix.to_vec(),
            format!("give one of `{dotted}path` or `{dotted}url`"),
        )),
        (Some(_), None) => {
            if let Some(p) = literal("path").filter(|p| !p.starts_with('/')) {
                problems.push((
                    [prefix, &["path"]].concat(),
                    format!("`{dotted}path` must start with `/`, not `{p}`"),
                ));
            } else if !has_base_url {
                problems.push((
                    [prefix, &["path"]].concat(),
                    format!("`{dotted}path` needs the provider block's `base_url`; give an absolute `url` instead"),
                ));
            }
        }
        (None, Some(_)) => {
            if let Some(u) =
                literal("url").filter(|u| !u.starts_with("http://") && !u.starts_with("https://"))
            {
                problems.push((
                    [prefix, &["url"]].concat(),
                    format!(
                        "`{dotted}url` must be an absolute `http://` or `https://` URL, not `{u}`"
                    ),
                ));
            }
        }
    }
}

/// `output`: names, not reserved, each a JSON pointer written as it is.
fn check_output<'a>(map: &'a Map<String, Value>, problems: &mut Problems<'a>, prefix: &[&'a str]) {
    let Some(output) = map.get("output").and_then(Value::as_object) else {
        return;
    };
    for (name, pointer) in output {
        let at = [prefix, &["output", name.as_str()]].concat();
        let pointer_ok = pointer
            .as_str()
            .is_some_and(|p| p.is_empty() || p.starts_with('/'));
        if RESERVED_OUTPUTS.contains(&name.as_str()) {
            problems.push((
                at,
                format!("`output.{name}` is a name the step's output already has; choose another"),
            ));
        } else if !pointer_ok {
            problems.push((
                at,
                format!("`output.{name}` must be a JSON pointer such as `/id` (or `` for the whole answer)"),
            ));
        }
    }
}

/// `lookup`: a read with a target, and only the fields a lookup takes.
fn check_lookup<'a>(
    lookup: &'a Map<String, Value>,
    has_base_url: bool,
    problems: &mut Problems<'a>,
) {
    for field in lookup
        .keys()
        .filter(|k| !LOOKUP_FIELDS.contains(&k.as_str()))
    {
        problems.push((
            vec!["lookup", field.as_str()],
            format!(
                "`lookup` takes no field `{field}`; it takes `{}`",
                LOOKUP_FIELDS.join("`, `")
            ),
        ));
    }
    check_method(lookup, true, problems, &["lookup"]);
    check_target(lookup, has_base_url, problems, &["lookup"]);
    check_output(lookup, problems, &["lookup"]);
}

/// The answer templates under `field` read only `roots`.
fn check_templates<'a>(
    c: &Checker<'_>,
    with: &'a Map<String, Value>,
    field: &'a str,
    roots: &[&str],
    problems: &mut Problems<'a>,
) {
    let mut texts = Vec::new();
    strings(with.get(field), &mut texts);
    for text in texts {
        if c.templates.check(text).is_err() {
            continue; // reported as E021 with the template checks
        }
        let Ok(refs) = references(text) else {
            continue;
        };
        for r in refs {
            let root = r.path.first().map_or("", String::as_str);
            if !roots.contains(&root) {
                problems.push((
                    vec![field],
                    format!(
                        "`{field}` is rendered against the answer, so it cannot read `{}`; it may use `{}` (pass other values through the request and read them as `request.…`)",
                        r.path.join("."),
                        roots.join("`, `")
                    ),
                ));
            }
        }
    }
}

fn strings<'v>(value: Option<&'v Value>, out: &mut Vec<&'v str>) {
    match value {
        Some(Value::String(s)) => out.push(s),
        Some(Value::Array(items)) => items.iter().for_each(|v| strings(Some(v), out)),
        Some(Value::Object(map)) => map.values().for_each(|v| strings(Some(v), out)),
        _ => {}
    }
}
