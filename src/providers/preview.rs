//! A request as it goes on the wire, credentials masked: what `sluice plan` shows and
//! what `execute` sends.
//!
//! Adapters build one [`WireRequest`] per HTTP request, and `execute` sends exactly that
//! method, path, query and body, adding only the authentication headers, which a preview
//! lists with the value [`MASKED`]. Showing and sending share one builder, so the plan
//! cannot drift from what runs.

use serde::Serialize;

/// What a credential-bearing header shows in a preview.
pub const MASKED: &str = "***";

/// One HTTP request an adapter sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WireRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path relative to the provider's base URL (`/swap/commit`).
    pub path: String,
    /// Query parameters, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<(String, String)>,
    /// Headers, in order; authentication headers carry [`MASKED`] in a preview.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The body exactly as sent (JSON or form-encoded text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Remarks for the reader (values resolved at run time); never sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl WireRequest {
    /// A request without query, headers or body.
    pub fn new(method: &str, path: impl Into<String>) -> Self {
        WireRequest {
            method: method.to_string(),
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            notes: Vec::new(),
        }
    }

    /// Whether the request may change state at the provider (anything but GET and HEAD).
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD")
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_string(), value.into()));
        self
    }

    /// Sets a query parameter, replacing one of the same name.
    pub fn set_query(mut self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.query.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.query.push((name.to_string(), value)),
        }
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.headers
            .push(("Content-Type".into(), "application/json".into()));
        self.body = Some(body.to_string());
        self
    }

    /// Sets a form-encoded body and its content type.
    pub fn form(mut self, body: String) -> Self {
        self.headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        self.body = Some(body);
        self
    }

    /// Adds a remark for the reader.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The same request with masked authentication headers, for a preview.
    pub fn masked(mut self, auth_headers: &[&str]) -> Self {
        for h in auth_headers {
            self.headers.push(((*h).to_string(), MASKED.to_string()));
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn builder_records_exact_body_and_masks_auth() {
        let w = WireRequest::new("POST", "/swap")
            .json(&json!({"sourceAmount": 100}))
            .masked(&["X-Digest-Signature"]);
        assert!(w.is_write());
        assert_eq!(w.body.as_deref(), Some(r#"{"sourceAmount":100}"#));
        assert_eq!(
            w.headers,
            vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Digest-Signature".into(), "***".into())
            ]
        );
        assert!(!WireRequest::new("GET", "/swap").query("id", "x").is_write());
    }
}
