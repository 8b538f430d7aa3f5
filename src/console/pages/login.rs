//! `GET /login`, `POST /login`, `POST /logout`: signing in with a users-file password. A new
//! session (a new nonce, so a new CSRF token) is issued at every sign-in.

use axum::Extension;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::super::session::{Session, clear_cookie, set_cookie};
use super::super::state::Console;

/// The login form as posted.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

fn form(csrf: &str, failed: bool) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Sign in — sluice" }
                link rel="stylesheet" href="/assets/console.css";
            }
            body {
                main class="login" {
                    h1 { "sluice" }
                    @if failed { p class="message" { "Wrong name or password." } }
                    form method="post" action="/login" {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "Name " input type="text" name="name" autocomplete="username" required autofocus; }
                        label { "Password " input type="password" name="password" autocomplete="current-password" required; }
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    }
}

/// `GET /login`.
pub async fn show(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
) -> Markup {
    form(&console.keys().csrf(&session), false)
}

/// `POST /login`: a right password starts a session; a wrong one shows the form again (401).
pub async fn submit(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Form(login): Form<LoginForm>,
) -> Response {
    // Checking an argon2 hash is deliberately slow: off the async threads.
    let users = console.access().users.clone();
    let name = login.name.clone();
    let checked =
        tokio::task::spawn_blocking(move || users.verify(&name, &login.password).cloned()).await;
    let Ok(Some(user)) = checked else {
        tracing::warn!(user = %login.name, "Console sign-in refused.");
        return (
            StatusCode::UNAUTHORIZED,
            form(&console.keys().csrf(&session), true),
        )
            .into_response();
    };
    let session = Session::new(&user.name, user.role, Utc::now());
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = set_cookie(&console.keys().seal(&session), secure);
    tracing::info!(user = %user.name, role = %user.role, "Console sign-in.");
    let mut response = Redirect::to("/").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /logout`.
pub async fn logout() -> Response {
    let mut response = Redirect::to("/login").into_response();
    if let Ok(value) = HeaderValue::from_str(&clear_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
