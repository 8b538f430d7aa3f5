//! Who is asking, before any console page answers: a trusted reverse proxy's header, a
//! session cookie, or, on loopback with no users configured, the local operator. Every POST
//! must carry its session's CSRF token, or it is refused with 403 before any handler runs.
//!
//! Bound off loopback with no users file and no proxy, nobody is anybody: every page is 401.

use std::net::{IpAddr, SocketAddr};

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use super::error::refusal;
use super::session::{COOKIE, Keys, Session, set_cookie};
use super::state::Console;
use super::users::{Role, Users};

/// The largest form the console accepts (a reason, a provider reference, a token).
const MAX_FORM: usize = 64 * 1024;

/// A reverse proxy that authenticates users and names them in a header.
#[derive(Debug, Clone)]
pub struct TrustedProxy {
    /// The header carrying the user's name (`X-Forwarded-User`).
    pub header: HeaderName,
    /// The proxy's addresses: the header is believed from these peers only.
    pub from: Vec<IpAddr>,
}

/// How users are known.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The users file: names, roles, password hashes.
    pub users: Users,
    /// A trusted proxy's header, if one is configured.
    pub proxy: Option<TrustedProxy>,
    /// The operator everybody is, with no users file on loopback.
    pub local: Option<String>,
}

impl Access {
    /// Access for a console bound to `listen`: the local operator `local_name` stands in
    /// for users only when nothing else is configured and the address is loopback.
    pub fn new(
        users: Users,
        proxy: Option<TrustedProxy>,
        listen: SocketAddr,
        local_name: &str,
    ) -> Access {
        let open_locally = users.is_empty() && proxy.is_none() && listen.ip().is_loopback();
        Access {
            users,
            proxy,
            local: open_locally.then(|| local_name.to_owned()),
        }
    }

    /// Whether nobody can sign in: no users, no proxy, not loopback. Every page is 401.
    pub fn is_closed(&self) -> bool {
        self.users.is_empty() && self.proxy.is_none() && self.local.is_none()
    }

    /// The user a trusted proxy names, with the role the users file gives them (`viewer`
    /// if it does not list them).
    fn proxied(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<(String, Role)> {
        let proxy = self.proxy.as_ref()?;
        if !peer.is_some_and(|ip| proxy.from.contains(&ip)) {
            return None;
        }
        let name = headers.get(&proxy.header)?.to_str().ok()?.trim();
        if name.is_empty() {
            return None;
        }
        let role = self.users.get(name).map_or(Role::Viewer, |u| u.role);
        Some((name.to_owned(), role))
    }
}

/// The session a request's cookie carries, if valid.
fn cookie_session(keys: &Keys, headers: &HeaderMap) -> Option<Session> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .find_map(|(_, value)| keys.open(value, Utc::now()))
}

/// Whether the browser reached us over TLS (as the proxy in front says).
fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// The session of a request, and whether it is new (its cookie must be set).
struct Found {
    session: Session,
    new: bool,
}

fn find_session(console: &Console, request: &Request) -> Option<Found> {
    let access = console.access();
    let keys = console.keys();
    let headers = request.headers();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let cookie = cookie_session(keys, headers);
    if let Some((name, role)) = access.proxied(peer, headers) {
        return Some(match cookie {
            Some(s) if s.user == name && s.role == role => Found {
                session: s,
                new: false,
            },
            _ => Found {
                session: Session::new(&name, role, Utc::now()),
                new: true,
            },
        });
    }
    if let Some(session) = cookie {
        return Some(Found {
            session,
            new: false,
        });
    }
    if let Some(local) = &access.local {
        return Some(Found {
            session: Session::new(local, Role::Operator, Utc::now()),
            new: true,
        });
    }
    None
}

/// The middleware in front of every console route: finds the session (starting an
/// anonymous one for the login page), refuses a POST without its CSRF token (403), and a
/// page without a signed-in user (401, or the login page for a browser that can log in).
pub async fn guard(State(console): State<Console>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let public = path == "/login" || path.starts_with("/assets/");
    let found = find_session(&console, &request).or_else(|| {
        (path == "/login").then(|| Found {
            session: Session::anonymous(Utc::now()),
            new: true,
        })
    });
    if console.access().is_closed() && !path.starts_with("/assets/") {
        return closed();
    }
    let Some(Found { session, new }) = found else {
        if public {
            return next.run(request).await;
        }
        return not_signed_in(&request, &path);
    };
    if !public && !session.is_signed_in() {
        return not_signed_in(&request, &path);
    }
    let secure = behind_tls(request.headers());
    let request = match checked_form(&console, &session, request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let mut request = request;
    request.extensions_mut().insert(session.clone());
    let mut response = next.run(request).await;
    if new && !response.headers().contains_key(header::SET_COOKIE) {
        let sealed = console.keys().seal(&session);
        if let Ok(value) = HeaderValue::from_str(&set_cookie(&sealed, secure)) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A POST's form with its CSRF token checked and its body put back for the handler.
async fn checked_form(
    console: &Console,
    session: &Session,
    request: Request,
) -> Result<Request, Response> {
    if request.method() != Method::POST {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_FORM)
        .await
        .map_err(|_| refused(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large"))?;
    let token = form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == "csrf")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if !console.keys().csrf_matches(session, &token) {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "this form's security token is missing or stale: reload the page and try again",
        ));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn refused(status: StatusCode, detail: &str) -> Response {
    (status, refusal(status, detail)).into_response()
}

/// 401 for every page of a console nobody can sign in to, saying how to open it.
fn closed() -> Response {
    refused(
        StatusCode::UNAUTHORIZED,
        "this console listens beyond loopback and has no users: start it with `--users FILE` \
         (README, *Operator console*) or behind a trusted proxy (`--proxy-user-header`, `--trusted-proxy`)",
    )
}

/// A browser is sent to the login page; anything else (a POST, a script) gets 401.
fn not_signed_in(request: &Request, path: &str) -> Response {
    if request.method() == Method::GET && path != "/live" {
        return Redirect::to("/login").into_response();
    }
    refused(StatusCode::UNAUTHORIZED, "sign in first")
}
