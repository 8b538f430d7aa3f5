//! The WHITESTONES router (under `/whitestones/v1`): Bearer key plus `X-WS-Secret` checked
//! on every route, and, when a rate is configured, 429 with `Retry-After` past that many
//! requests per second (counted before authentication, as a gateway would).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::error::WstError;
use super::{intents, merchant, payouts};
use crate::sandbox::auth::{AuthFailure, check_whitestones};
use crate::sandbox::state::Shared;

/// Where the WHITESTONES API is mounted; its base URL is `http://HOST:PORT/whitestones/v1`.
pub const PREFIX: &str = "/whitestones/v1";

/// The routes relative to [`PREFIX`]; `checked` adds authentication and the rate limit.
pub fn router(shared: Arc<Shared>, checked: bool) -> Router {
    let routes = Router::new()
        .route("/merchant/profile", get(merchant::profile))
        .route("/payment_intents", post(intents::create).get(intents::list))
        .route("/payment_intents/{id}", get(intents::get_one))
        .route("/payouts", post(payouts::create).get(payouts::list))
        .route("/payouts/{id}", get(payouts::get_one));
    let routes = if checked {
        routes
            .route_layer(middleware::from_fn_with_state(shared.clone(), authenticate))
            .route_layer(middleware::from_fn_with_state(shared.clone(), rate_limit))
    } else {
        routes
    };
    routes
        .fallback(|| async {
            WstError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .method_not_allowed_fallback(|| async {
            WstError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this endpoint",
            )
        })
        .with_state(shared)
}

async fn authenticate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let config = &shared.config;
    match check_whitestones(
        request.headers(),
        &config.api_key,
        config.api_secret.expose(),
    ) {
        Ok(()) => next.run(request).await,
        Err(failure) => {
            let message = match failure {
                AuthFailure::Missing => {
                    "missing credentials: send `Authorization: Bearer KEY` and `X-WS-Secret`"
                }
                _ => "invalid API credentials",
            };
            WstError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response()
        }
    }
}

async fn rate_limit(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let Some(limit) = shared.config.rate_limit else {
        return next.run(request).await;
    };
    match shared.take_rate("whitestones", limit) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let mut response = WstError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests: at most {limit} per second"),
            )
            .into_response();
            response
                .headers_mut()
                .insert("retry-after", wait.to_string().parse().expect("digits"));
            response
        }
    }
}
