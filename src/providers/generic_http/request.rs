//! A step's rendered `with` as the request it describes, and that request on the wire.
//!
//! The same reading serves the request itself and its `lookup` (a read with its own
//! `method`, `path` or `url`, `query`, `headers` and `output`), so the two are checked by
//! the same rules and name their fields the same way (`lookup.path`).

use serde_json::{Map, Value};

use super::config::Config;
use crate::catalog::{HTTP_METHODS, ProviderKind, READ_METHODS};
use crate::providers::fields::{With, merge};
use crate::providers::{IdempotencyKey, ProviderError, WireRequest};

/// The answer values `output` names and the pointers that find them.
pub(super) type Pointers = Vec<(String, String)>;

/// Fields of one request description: the step's `with`, or its `lookup`.
#[derive(Clone, Copy)]
pub(super) struct Fields<'a> {
    w: With<'a>,
    map: &'a Map<String, Value>,
    /// `""` for the step's own fields, `"lookup."` for the lookup's.
    prefix: &'static str,
}

impl<'a> Fields<'a> {
    /// The step's own fields.
    pub(super) fn of_step(w: With<'a>, with: &'a Map<String, Value>) -> Self {
        Fields {
            w,
            map: with,
            prefix: "",
        }
    }

    /// A rendered `lookup`.
    pub(super) fn of_lookup(w: With<'a>, lookup: &'a Map<String, Value>) -> Self {
        Fields {
            w,
            map: lookup,
            prefix: "lookup.",
        }
    }

    /// An [`ProviderError::Invalid`] naming `field` as written.
    pub(super) fn invalid(&self, field: &str, reason: &str) -> ProviderError {
        self.w.invalid(format!("`{}{field}` {reason}", self.prefix))
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// A text field.
    pub(super) fn text(&self, field: &str) -> Result<Option<String>, ProviderError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Some(_) => Err(self.invalid(field, "must be text")),
        }
    }

    /// A mapping field.
    pub(super) fn object(
        &self,
        field: &str,
    ) -> Result<Option<&'a Map<String, Value>>, ProviderError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(self.invalid(field, "must be a mapping")),
        }
    }

    /// `method`, one of [`HTTP_METHODS`] (`default` when absent).
    pub(super) fn method(&self, default: Option<&'static str>) -> Result<String, ProviderError> {
        let method = match self.text("method")? {
            Some(m) => m,
            None => default
                .ok_or_else(|| self.invalid("method", "is required"))?
                .to_string(),
        };
        if HTTP_METHODS.contains(&method.as_str()) {
            Ok(method)
        } else {
            let known = HTTP_METHODS.join(", ");
            Err(self.invalid("method", &format!("must be one of {known}, not `{method}`")))
        }
    }

    /// `path` (joined to the block's `base_url`) or `url` (absolute), exactly one.
    pub(super) fn target(&self, config: &Config) -> Result<String, ProviderError> {
        match (self.text("path")?, self.text("url")?) {
            (Some(path), None) if !path.starts_with('/') => {
                Err(self.invalid("path", &format!("must start with `/`, not `{path}`")))
            }
            (Some(_), None) if !config.has_base_url => Err(self.invalid(
                "path",
                "needs the provider block's `base_url`; give an absolute `url` instead",
            )),
            (Some(path), None) => Ok(path),
            (None, Some(url)) if url.starts_with("http://") || url.starts_with("https://") => {
                Ok(url)
            }
            (None, Some(url)) => Err(self.invalid(
                "url",
                &format!("must be an absolute `http://` or `https://` URL, not `{url}`"),
            )),
            _ => Err(self
                .w
                .invalid(format!("give one of `{0}path` or `{0}url`", self.prefix))),
        }
    }

    /// A mapping of text values (`query`, `headers`, `form`), numbers and booleans as their
    /// exact text.
    pub(super) fn pairs(&self, field: &str) -> Result<Vec<(String, String)>, ProviderError> {
        let Some(map) = self.object(field)? else {
            return Ok(Vec::new());
        };
        map.iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(_) | Value::Bool(_) => Ok((k.clone(), v.to_string())),
                _ => Err(self.invalid(&format!("{field}.{k}"), "must be text")),
            })
            .collect()
    }

    /// `output`: names and the JSON pointers finding them in the answer.
    pub(super) fn pointers(&self) -> Result<Option<Pointers>, ProviderError> {
        let Some(map) = self.object("output")? else {
            return Ok(None);
        };
        map.iter()
            .map(|(name, p)| match p {
                Value::String(p) if p.is_empty() || p.starts_with('/') => {
                    Ok((name.clone(), p.clone()))
                }
                _ => Err(self.invalid(
                    &format!("output.{name}"),
                    "must be a JSON pointer such as `/id` (or `` for the whole answer)",
                )),
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }
}

/// The step's request as it goes on the wire (credentials excepted).
///
/// # Errors
/// [`ProviderError::Invalid`] for fields `validate` would refuse too (they may come from
/// templates) and for an idempotency key the API cannot be sent.
pub(super) fn build(
    config: &Config,
    w: &With<'_>,
    with: &Map<String, Value>,
    key: &IdempotencyKey,
) -> Result<WireRequest, ProviderError> {
    w.only(ProviderKind::Http)?;
    let f = Fields::of_step(*w, with);
    let method = f.method(None)?;
    let mut wire = WireRequest::new(&method, f.target(config)?);
    wire.query = f.pairs("query")?;
    for (name, value) in &config.headers {
        wire = wire.header(name, value.clone());
    }
    for (name, value) in f.pairs("headers")? {
        wire = wire.header(&name, value);
    }
    if wire.is_write()
        && let Some(header) = &config.idempotency_header
    {
        wire = wire.header(header, key.as_str());
    }
    body(&f, w, wire)
}

/// A lookup's request: a read, without a body.
///
/// # Errors
/// [`ProviderError::Invalid`] for a lookup that is not a read or names no target.
pub(super) fn build_lookup(config: &Config, f: &Fields<'_>) -> Result<WireRequest, ProviderError> {
    let method = f.method(Some("GET"))?;
    if !READ_METHODS.contains(&method.as_str()) {
        return Err(f.invalid("method", "must be `GET` or `HEAD`: a lookup only reads"));
    }
    let mut wire = WireRequest::new(&method, f.target(config)?);
    wire.query = f.pairs("query")?;
    for (name, value) in config.headers.iter().cloned().chain(f.pairs("headers")?) {
        wire = wire.header(&name, value);
    }
    Ok(wire)
}

/// Sets the one body the step gives, and its content type unless the step sets one.
fn body(f: &Fields<'_>, w: &With<'_>, mut wire: WireRequest) -> Result<WireRequest, ProviderError> {
    let json = f.get("json");
    let form = f.get("form");
    let text = f.text("body")?;
    let extra = w.extra()?;
    let given = [json.is_some(), form.is_some(), text.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(w.invalid("give one body: `json`, `form` or `body`"));
    }
    let (content_type, body) = if let Some(json) = json {
        let mut json = json.clone();
        if let Some(extra) = extra {
            let Value::Object(map) = &mut json else {
                return Err(w.invalid("`extra` merges into `json`, which must then be a mapping"));
            };
            merge(map, extra);
        }
        ("application/json", json.to_string())
    } else if let Some(extra) = extra.filter(|_| form.is_none() && text.is_none()) {
        ("application/json", Value::Object(extra.clone()).to_string())
    } else if form.is_some() {
        if extra.is_some() {
            return Err(
                w.invalid("`extra` merges into `json`; with `form`, write the fields there")
            );
        }
        (
            "application/x-www-form-urlencoded",
            form_encode(&f.pairs("form")?),
        )
    } else if let Some(text) = text {
        if extra.is_some() {
            return Err(w.invalid("`extra` merges into `json`; with `body`, write the text there"));
        }
        ("text/plain; charset=utf-8", text)
    } else {
        return Ok(wire);
    };
    if !wire.is_write() {
        return Err(w.invalid(format!(
            "a `{}` request sends no body; use `query`",
            wire.method
        )));
    }
    let has_type = (wire.headers.iter()).any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    if !has_type {
        wire = wire.header("Content-Type", content_type);
    }
    wire.body = Some(body);
    Ok(wire)
}

/// `application/x-www-form-urlencoded`, as URL query strings are written.
fn form_encode(pairs: &[(String, String)]) -> String {
    let mut url = reqwest::Url::parse("http://form.invalid/").expect("a valid URL");
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::Call;

    fn config() -> Config {
        Config {
            auth: None,
            headers: vec![("X-Tenant".into(), "acme".into())],
            secret_headers: Vec::new(),
            idempotency_header: Some("Idempotency-Key".into()),
            has_base_url: true,
        }
    }

    fn wire(with: Value) -> Result<WireRequest, ProviderError> {
        let with = with.as_object().unwrap().clone();
        let key = IdempotencyKey::new("idk_1").unwrap();
        let call = Call {
            action: "http.request",
            with: &with,
            key: &key,
            checkpoint: None,
        };
        let w = With::new("erp", &call);
        build(&config(), &w, &with, &key)
    }

    #[test]
    fn requests_are_built_exactly_and_refused_clearly() {
        let amount: Value = serde_json::from_str("12.50").unwrap();
        let w = wire(json!({
            "method": "POST", "path": "/transfer", "query": {"dry": false},
            "json": {"ref": "A1", "amount": amount}, "extra": {"meta": {"k": 1}}
        }))
        .unwrap();
        assert_eq!(w.method, "POST");
        assert_eq!(w.path, "/transfer");
        assert_eq!(w.query, vec![("dry".to_string(), "false".to_string())]);
        assert_eq!(
            w.body.as_deref(),
            Some(r#"{"ref":"A1","amount":12.50,"meta":{"k":1}}"#)
        );
        let names: Vec<&str> = w.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["X-Tenant", "Idempotency-Key", "Content-Type"]);

        let w = wire(json!({"method": "PUT", "url": "https://x.example/a",
            "form": {"amount": "1.10", "note": "a b&c"}, "headers": {"content-type": "text/x"}}))
        .unwrap();
        assert_eq!(w.body.as_deref(), Some("amount=1.10&note=a+b%26c"));
        let types: Vec<_> = (w.headers.iter())
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .collect();
        assert_eq!(types, [&("content-type".to_string(), "text/x".to_string())]);
        let get = wire(json!({"method": "GET", "path": "/t/1"})).unwrap();
        assert!(!get.is_write() && get.body.is_none());
        assert!(get.headers.iter().all(|(n, _)| n != "Idempotency-Key"));

        for (with, words) in [
            (
                json!({"method": "FETCH", "path": "/"}),
                "must be one of GET",
            ),
            (json!({"method": "GET", "path": "t"}), "must start with `/`"),
            (json!({"method": "GET"}), "give one of `path` or `url`"),
            (
                json!({"method": "GET", "path": "/", "url": "http://x"}),
                "give one of",
            ),
            (json!({"method": "GET", "url": "ftp://x"}), "absolute"),
            (
                json!({"method": "POST", "path": "/", "json": {}, "body": "x"}),
                "give one body",
            ),
            (
                json!({"method": "GET", "path": "/", "json": {"a": 1}}),
                "sends no body",
            ),
            (
                json!({"method": "POST", "path": "/", "form": {"a": {"b": 1}}}),
                "`form.a` must be text",
            ),
            (
                json!({"method": "POST", "path": "/", "amount": "1"}),
                "no equivalent of `amount`",
            ),
        ] {
            let e = wire(with.clone()).unwrap_err().to_string();
            assert!(e.contains(words), "{with}: {e}");
        }
    }
}
