//! The White Payments router (under `/white`) and its Basic-Auth layer: the secret key is
//! the user name. Paths are accepted with or without the trailing slash the seed sometimes
//! shows (`/charges/`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::error::WhiteError;
use super::{cards, charges, customers, refunds};
use crate::sandbox::auth::check_white;
use crate::sandbox::state::Shared;

/// Where the White Payments API is mounted; its base URL is `http://HOST:PORT/white`.
pub const PREFIX: &str = "/white";

/// The routes relative to [`PREFIX`]; `checked` adds the authentication layer.
pub fn router(shared: Arc<Shared>, checked: bool) -> Router {
    let routes = Router::new()
        .route("/charges", post(charges::create).get(charges::list))
        .route("/charges/", post(charges::create).get(charges::list))
        .route("/charges/{id}", get(charges::get_one))
        .route("/charges/{id}/capture", post(charges::capture))
        .route(
            "/charges/{id}/refunds",
            post(refunds::create).get(refunds::list),
        )
        .route("/customers", post(customers::create).get(customers::list))
        .route("/customers/", post(customers::create).get(customers::list))
        .route(
            "/customers/{id}",
            get(customers::get_one).put(customers::update),
        )
        .route("/tokens", post(cards::create_token))
        .route("/tokens/", post(cards::create_token));
    let routes = if checked {
        routes.route_layer(middleware::from_fn_with_state(shared.clone(), authenticate))
    } else {
        routes
    };
    routes
        .fallback(|| async {
            WhiteError::request("not_found", "No such endpoint.").with_status(StatusCode::NOT_FOUND)
        })
        .method_not_allowed_fallback(|| async {
            WhiteError::request("method_not_allowed", "Method not allowed on this endpoint.")
                .with_status(StatusCode::METHOD_NOT_ALLOWED)
        })
        .with_state(shared)
}

async fn authenticate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    match check_white(request.headers(), &shared.config.api_key) {
        Ok(()) => next.run(request).await,
        Err((_, provided)) => WhiteError::unauthorized(&provided).into_response(),
    }
}

impl WhiteError {
    /// The same error with another status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

/// The body of an error White would send for `status` (used by injected faults).
pub fn fault_body(status: StatusCode, message: &str) -> serde_json::Value {
    let kind = if status.is_server_error() {
        "processing"
    } else {
        "request"
    };
    json!({"error": {"type": kind, "code": "sandbox_fault", "message": message, "extras": {}}})
}
