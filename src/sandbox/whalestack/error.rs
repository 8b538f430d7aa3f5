//! Whalestack's error answer: `{"errors": ["..."]}` with the HTTP status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error as Whalestack returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The messages of the `errors` array.
    pub errors: Vec<String>,
}

impl WsError {
    /// An error with one message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        WsError {
            status,
            errors: vec![message.into()],
        }
    }

    /// 400: the request is invalid.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: no such object.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} `{id}` not found"))
    }
}

impl IntoResponse for WsError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "errors": self.errors }))).into_response()
    }
}
