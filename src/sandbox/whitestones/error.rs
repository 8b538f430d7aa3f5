//! WHITESTONES' error answer. The seed lists the status codes (400, 401, 403, 429, 500) but
//! no body, so the sandbox answers `{"error": {"code": "...", "message": "..."}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error as the sandbox's WHITESTONES returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WstError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable code (`invalid_request`, `insufficient_funds`, …).
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

impl WstError {
    /// An error with `status` and `code`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        WstError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 404 `not_found`.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} `{id}`"),
        )
    }
}

/// The error body for `code` and `message`.
pub fn body(code: &str, message: &str) -> Value {
    json!({ "error": { "code": code, "message": message } })
}

impl IntoResponse for WstError {
    fn into_response(self) -> Response {
        (self.status, Json(body(self.code, &self.message))).into_response()
    }
}
