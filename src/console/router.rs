//! The console's routes, behind the access guard and the security headers every answer
//! carries (a strict Content-Security-Policy: this origin's stylesheet and script only, no
//! inline code, no framing).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware::{from_fn_with_state, map_response};
use axum::response::Response;
use axum::routing::{get, post};

use super::access::guard;
use super::pages::{events, inbox, items, login, notifications, run, runs, schedules, workers};
use super::state::Console;
use super::{actions, assets, live};

/// What every answer may load and do.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console as a router, to serve alone or merged beside the webhook receiver.
pub fn app(console: Console) -> Router {
    Router::new()
        .route("/", get(inbox::inbox))
        .route("/runs", get(runs::runs))
        .route("/runs/{run}", get(run::run))
        .route("/runs/{run}/retry", post(actions::retry))
        .route("/runs/{run}/cancel", post(actions::cancel))
        .route("/runs/{run}/resume", post(actions::resume))
        .route(
            "/runs/{run}/discrepancies/{id}/dismiss",
            post(actions::dismiss),
        )
        .route("/runs/{run}/steps/{step}/approve", post(actions::approve))
        .route("/runs/{run}/steps/{step}/deny", post(actions::deny))
        .route("/runs/{run}/steps/{step}/resolve", post(actions::resolve))
        .route("/runs/{run}/steps/{step}/items", get(items::items))
        .route("/runs/{run}/steps/{step}/items.csv", get(items::export))
        .route("/runs/{run}/steps/{step}/items/{item}", get(items::item))
        .route("/schedules", get(schedules::schedules))
        .route("/events", get(events::events))
        .route("/events/{id}/replay", post(actions::replay))
        .route("/notifications", get(notifications::notifications))
        .route("/workers", get(workers::workers))
        .route("/live", get(live::live))
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/assets/console.css", get(assets::css))
        .route("/assets/console.js", get(assets::js))
        .layer(from_fn_with_state(console.clone(), guard))
        .layer(map_response(secure_headers))
        .with_state(console)
}

async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
