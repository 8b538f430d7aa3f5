//! White Payments' error answer: `{"error": {"type", "code", "message", "extras"}}`, with the
//! status its type implies (request 400 or 404, authentication 401, banking 402,
//! processing 500).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error as White Payments returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct WhiteError {
    /// The HTTP status.
    pub status: StatusCode,
    /// `request`, `banking`, `authentication` or `processing`.
    pub kind: &'static str,
    /// A code for a switch statement (`card_declined`, `missing_param`, …).
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// Details, usually the params at fault (boxed: errors travel by value).
    pub extras: Box<Value>,
}

impl WhiteError {
    /// A `request` error about `param`.
    pub fn param(code: &'static str, param: &str, message: impl Into<String>) -> Self {
        WhiteError {
            status: StatusCode::BAD_REQUEST,
            kind: "request",
            code,
            message: message.into(),
            extras: Box::new(json!({ "params": [param] })),
        }
    }

    /// A `request` error without a particular param.
    pub fn request(code: &'static str, message: impl Into<String>) -> Self {
        WhiteError {
            status: StatusCode::BAD_REQUEST,
            kind: "request",
            code,
            message: message.into(),
            extras: Box::new(json!({})),
        }
    }

    /// 404: no such object.
    pub fn not_found(what: &str, id: &str) -> Self {
        WhiteError {
            status: StatusCode::NOT_FOUND,
            kind: "request",
            code: "not_found",
            message: format!("No {what} with id `{id}`."),
            extras: Box::new(json!({ "id": id })),
        }
    }

    /// 402: the bank said no.
    pub fn banking(code: &'static str, message: impl Into<String>, extras: Value) -> Self {
        WhiteError {
            status: StatusCode::PAYMENT_REQUIRED,
            kind: "banking",
            code,
            message: message.into(),
            extras: Box::new(extras),
        }
    }

    /// A `processing` error (White's side) with the given status.
    pub fn processing(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        extras: Value,
    ) -> Self {
        WhiteError {
            status,
            kind: "processing",
            code,
            message: message.into(),
            extras: Box::new(extras),
        }
    }

    /// 401 with the seed's wording. The key given is echoed masked, never in full.
    pub fn unauthorized(provided: &str) -> Self {
        let tail: String = provided
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        WhiteError {
            status: StatusCode::UNAUTHORIZED,
            kind: "authentication",
            code: "unauthorized",
            message: "Can't authenticate with provided API Key.".into(),
            extras: Box::new(json!({ "provided_api_key": format!("***{tail}") })),
        }
    }
}

impl IntoResponse for WhiteError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "type": self.kind,
                "code": self.code,
                "message": self.message,
                "extras": self.extras,
            }
        });
        (self.status, Json(body)).into_response()
    }
}
