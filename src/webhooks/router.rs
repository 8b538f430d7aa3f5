//! The HTTP surface: `POST /webhooks/{provider}`, `GET /healthz`, `GET /metrics`, with a
//! 1 MiB body limit, and one error body `{"code", "detail"}` for every refusal.
//!
//! Handlers are thin: [`Receiver::receive`] does the work, so the router can be tested with
//! `oneshot` and served by `sluice run` and `sluice serve` alike.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::intake::{MAX_BODY, Received, Receiver, Rejection};
use crate::store::RunFilter;

/// The receiver's router.
pub fn app(receiver: Arc<Receiver>) -> Router {
    Router::new()
        .route("/webhooks/{provider}", post(webhook))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(receiver)
}

async fn webhook(
    State(receiver): State<Arc<Receiver>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match receiver.receive(&provider, &headers, body).await {
        Ok(Received::Stored { id, woken }) => (
            StatusCode::OK,
            Json(json!({ "status": "stored", "id": id, "woken": woken.len() })),
        )
            .into_response(),
        Ok(Received::Duplicate { id }) => (
            StatusCode::OK,
            Json(json!({ "status": "duplicate", "id": id })),
        )
            .into_response(),
        Err(rejection) => ApiError::from(rejection).into_response(),
    }
}

async fn healthz(State(receiver): State<Arc<Receiver>>) -> Response {
    let probe = RunFilter {
        limit: Some(1),
        ..RunFilter::default()
    };
    match receiver.store().list_runs(&probe).await {
        Ok(_) => Json(json!({ "status": "ok" })).into_response(),
        Err(error) => {
            tracing::error!(%error, "Health check: the store is unreachable.");
            ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "store_unavailable",
                detail: "the checkpoint store cannot be read".into(),
            }
            .into_response()
        }
    }
}

async fn metrics(State(receiver): State<Arc<Receiver>>) -> Response {
    match receiver.metrics().render(&**receiver.store()).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "Cannot read the store for metrics.");
            ApiError::internal().into_response()
        }
    }
}

/// Every refusal, as `{"code", "detail"}`. Internal errors are logged and answered with an
/// opaque message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
}

impl ApiError {
    fn internal() -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            detail: "internal error; try again".into(),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        if let Rejection::Store(error) = &rejection {
            tracing::error!(%error, "A webhook could not be stored; the sender will retry.");
            return ApiError::internal();
        }
        tracing::warn!(code = rejection.code(), error = %rejection, "Webhook refused.");
        ApiError {
            status: rejection.status(),
            code: rejection.code(),
            detail: rejection.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "code": self.code, "detail": self.detail })),
        )
            .into_response()
    }
}
