//! The Whalestack router (under `/whalestack/api/v1`) and its authentication layer.
//!
//! `ping` and `time` are public; every other route checks Digest-Auth or Basic-Auth over the
//! raw body before the handler runs, and answers 401 `{"errors": [...]}` otherwise. The
//! signed path is the request path relative to `/api/v1`, which is what the nested router
//! sees.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::customers::{self, PartyKind};
use super::error::WsError;
use super::{accounts, checkouts, deposits, misc, swaps, transfers, wallets};
use crate::sandbox::auth::check_whalestack;
use crate::sandbox::clock::Clock;
use crate::sandbox::state::Shared;

/// Where the Whalestack API is mounted; its base URL is `http://HOST:PORT/whalestack/api/v1`.
pub const PREFIX: &str = "/whalestack/api/v1";

/// The largest request body accepted.
const BODY_LIMIT: usize = 1 << 20;

type Q = Query<HashMap<String, String>>;
type S = State<Arc<Shared>>;

/// The routes relative to [`PREFIX`]; `checked` adds the authentication layer (the
/// `/__sandbox/seed/whalestack` copy has none).
pub fn router(shared: Arc<Shared>, checked: bool) -> Router {
    use PartyKind::{Beneficiary, Customer};
    let protected = Router::new()
        .route("/auth-test", get(misc::auth_test))
        .route("/assets", get(misc::assets))
        .route("/networks", get(misc::networks))
        .route("/currencies", get(misc::currencies))
        .route("/exchange-rate", get(misc::exchange_rate))
        .route(
            "/customer",
            post(|s: S, b: Bytes| customers::upsert(s, Customer, b))
                .get(|s: S, q: Q| customers::get_one(s, Customer, q))
                .put(|s: S, b: Bytes| customers::update(s, Customer, b))
                .delete(|s: S, b: Bytes| customers::delete(s, Customer, b)),
        )
        .route(
            "/customers",
            get(|s: S, q: Q| customers::list(s, Customer, q)),
        )
        .route(
            "/beneficiary",
            post(|s: S, b: Bytes| customers::upsert(s, Beneficiary, b))
                .get(|s: S, q: Q| customers::get_one(s, Beneficiary, q))
                .put(|s: S, b: Bytes| customers::update(s, Beneficiary, b))
                .delete(|s: S, b: Bytes| customers::delete(s, Beneficiary, b)),
        )
        .route(
            "/beneficiaries",
            get(|s: S, q: Q| customers::list(s, Beneficiary, q)),
        )
        .route("/target-account", post(accounts::create))
        .route("/target-accounts", get(accounts::list))
        .route("/wallets", get(wallets::list))
        .route("/wallet", get(wallets::get_one))
        .route("/deposit-address", post(wallets::deposit_address))
        .route("/deposit", get(deposits::get_one))
        .route("/deposits", get(deposits::list))
        .route(
            "/checkout",
            post(checkouts::create_self_hosted).get(checkouts::get_one),
        )
        .route("/checkout/commit", post(checkouts::commit))
        .route("/checkout/hosted", post(checkouts::create_hosted))
        .route("/checkouts", get(checkouts::list))
        .route("/swap", post(swaps::create).get(swaps::get_one))
        .route("/swap/commit", post(swaps::commit))
        .route("/swaps", get(swaps::list))
        .route("/transfer", post(transfers::create).get(transfers::get_one))
        .route("/transfer/commit", post(transfers::commit))
        .route("/transfers", get(transfers::list));
    let protected = if checked {
        protected.route_layer(middleware::from_fn_with_state(shared.clone(), authenticate))
    } else {
        protected
    };
    Router::new()
        .route("/ping", get(misc::ping))
        .route("/time", get(misc::time))
        .merge(protected)
        .fallback(|| async { WsError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            WsError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this endpoint",
            )
        })
        .with_state(shared)
}

/// Buffers the body, checks the credentials over it, and hands the request on.
async fn authenticate(State(shared): S, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return WsError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
            .into_response();
    };
    let config = &shared.config;
    let checked = check_whalestack(
        &parts.headers,
        &parts.method,
        parts.uri.path(),
        &bytes,
        &config.api_key,
        config.api_secret.expose(),
        Clock::wall_unix(),
    );
    match checked {
        Ok(()) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(failure) => WsError::new(StatusCode::UNAUTHORIZED, failure.to_string()).into_response(),
    }
}
