//! Whitepay's error answer. The seed shows none; the sandbox answers as the Laravel API
//! behind it does: `{"message": "..."}` (401 `Unauthenticated.`, 404 `Not found.`), and 422
//! `{"message": "...", "errors": {"field": ["..."]}}` for invalid input.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error as the sandbox's Whitepay returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WpError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The message.
    pub message: String,
    /// The field at fault, for 422.
    pub field: Option<&'static str>,
}

impl WpError {
    /// 422 about `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        WpError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
            field: Some(field),
        }
    }

    /// An error with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        WpError {
            status,
            message: message.into(),
            field: None,
        }
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found.")
    }
}

/// The error body for `message` (and `field`).
pub fn body(message: &str, field: Option<&str>) -> Value {
    match field {
        Some(f) => json!({ "message": message, "errors": { f: [message] } }),
        None => json!({ "message": message }),
    }
}

impl IntoResponse for WpError {
    fn into_response(self) -> Response {
        (self.status, Json(body(&self.message, self.field))).into_response()
    }
}
