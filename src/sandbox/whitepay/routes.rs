//! The Whitepay router (under `/whitepay`, the adapter appending `/private-api/…`) and its
//! Bearer-token layer.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::WpError;
use super::{balances, conversions};
use crate::sandbox::auth::check_bearer;
use crate::sandbox::state::Shared;

/// Where the Whitepay API is mounted; its base URL is `http://HOST:PORT/whitepay`.
pub const PREFIX: &str = "/whitepay";

/// The routes relative to [`PREFIX`]; `checked` adds the authentication layer.
pub fn router(shared: Arc<Shared>, checked: bool) -> Router {
    let routes = Router::new()
        .route("/private-api/balances", get(balances::list))
        .route("/private-api/balances/", get(balances::list))
        .route(
            "/private-api/balances/{id}",
            get(balances::show).post(conversions::create),
        )
        .route("/private-api/transactions/{id}", get(conversions::get_one));
    let routes = if checked {
        routes.route_layer(middleware::from_fn_with_state(shared.clone(), authenticate))
    } else {
        routes
    };
    routes
        .fallback(|| async { WpError::not_found() })
        .method_not_allowed_fallback(|| async {
            WpError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.")
        })
        .with_state(shared)
}

async fn authenticate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    match check_bearer(request.headers(), &shared.config.api_key) {
        Ok(()) => next.run(request).await,
        Err(_) => WpError::new(StatusCode::UNAUTHORIZED, "Unauthenticated.").into_response(),
    }
}
