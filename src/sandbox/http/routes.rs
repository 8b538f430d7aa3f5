//! The generic API's routes, under `/http`:
//!
//! | route | what it does |
//! |---|---|
//! | `ANY /echo[/…]` | answers 200 with the request: `method`, `path`, `query`, `headers`, `body` (its JSON, or its text) |
//! | `POST /objects` | creates an object from the JSON body (`id`, `state` `PROCESSING` unless given); 201, or 200 with the same object for an `Idempotency-Key` seen before |
//! | `GET /objects` | every object, oldest first (the ledger) |
//! | `GET /objects/{id}` | the object, or 404 |
//! | `GET /objects/by-ref/{ref}` | the first object whose `ref` is `ref`, or 404 |
//! | `ANY /fail/{n}/…` | the first `n` requests with the same method, path and idempotency key (or body) answer `?status=` (default 503) and do nothing; later ones run the route `…` |
//! | `ANY /lose/{n}/…` | the first `n` such requests run the route `…`, then the connection is reset: applied, the answer lost |

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{
    ConnectInfo, FromRequest, FromRequestParts, OriginalUri, Path, Query, Request, State,
};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Router};
use serde_json::{Map, Value, json};

use crate::sandbox::listener::Connection;
use crate::sandbox::state::Shared;

/// Where the generic API is mounted; its base URL is `http://HOST:PORT/http`.
pub const PREFIX: &str = "/http";

/// The routes relative to [`PREFIX`].
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/echo", any(echo))
        .route("/echo/{*rest}", any(echo))
        .route("/objects", post(create).get(list))
        .route("/objects/{id}", get(show))
        .route("/objects/by-ref/{reference}", get(by_ref))
        .route("/fail/{times}/{*rest}", any(fail))
        .route("/lose/{times}/{*rest}", any(lose))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(shared)
}

/// `{"error": message}` with `status`.
pub fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// A request as the handlers read it.
struct Incoming {
    method: Method,
    /// The path as sent, with its query.
    path: String,
    query: Map<String, Value>,
    headers: HeaderMap,
    body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Incoming {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let OriginalUri(uri) = OriginalUri::from_request_parts(&mut parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let Query(query) = Query::<Map<String, Value>>::try_from_uri(&uri)
            .map_err(|e| error(StatusCode::BAD_REQUEST, &e.body_text()))?;
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .map_err(|e| error(StatusCode::BAD_REQUEST, &e.to_string()))?;
        Ok(Incoming {
            method: parts.method,
            path: uri.to_string(),
            query,
            headers: parts.headers,
            body,
        })
    }
}

impl Incoming {
    fn idempotency_key(&self) -> Option<&str> {
        self.headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, or as text when it is not JSON.
    fn body_json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into_owned()))
    }
}

async fn echo(r: Incoming) -> Response {
    answer_echo(&r)
}

fn answer_echo(r: &Incoming) -> Response {
    let headers: Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
        .collect();
    let body = json!({
        "method": r.method.as_str(),
        "path": r.path.split('?').next().unwrap_or_default(),
        "query": r.query,
        "headers": headers,
        "body": r.body_json(),
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

async fn create(State(shared): State<Arc<Shared>>, r: Incoming) -> Response {
    answer_create(&shared, &r)
}

fn answer_create(shared: &Shared, r: &Incoming) -> Response {
    let Value::Object(body) = r.body_json() else {
        return error(StatusCode::BAD_REQUEST, "the body must be a JSON object");
    };
    let (object, new) = shared.with_world(|world, _| world.http.create(body, r.idempotency_key()));
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, axum::Json(object)).into_response()
}

async fn list(State(shared): State<Arc<Shared>>) -> Response {
    let all = shared.with_world(|world, _| world.http.all().to_vec());
    axum::Json(json!({ "objects": all })).into_response()
}

async fn show(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    found(shared.with_world(|world, _| world.http.get(&id).cloned()))
}

async fn by_ref(State(shared): State<Arc<Shared>>, Path(reference): Path<String>) -> Response {
    found(shared.with_world(|world, _| world.http.by_ref(&reference).cloned()))
}

fn found(object: Option<Value>) -> Response {
    match object {
        Some(o) => axum::Json(o).into_response(),
        None => error(StatusCode::NOT_FOUND, "no such object"),
    }
}

/// Runs the route `rest` names (`echo…` or `objects`) for `r`.
fn route(shared: &Shared, rest: &str, r: &Incoming) -> Response {
    match (rest.split('/').next(), &r.method) {
        (Some("echo"), _) => answer_echo(r),
        (Some("objects"), &Method::POST) => answer_create(shared, r),
        _ => error(StatusCode::NOT_FOUND, "no such endpoint"),
    }
}

/// Which requests count as the same for `/fail` and `/lose`: method, path and query, and
/// the idempotency key (or, without one, the body).
fn counter(kind: &str, r: &Incoming) -> String {
    let same = r.idempotency_key().map_or_else(
        || String::from_utf8_lossy(&r.body).into_owned(),
        str::to_string,
    );
    format!("{kind} {} {} {same}", r.method, r.path)
}

async fn fail(
    State(shared): State<Arc<Shared>>,
    Path((times, rest)): Path<(u32, String)>,
    r: Incoming,
) -> Response {
    if shared.with_world(|world, _| world.http.fails(counter("fail", &r), times)) {
        let status = (r.query.get("status"))
            .and_then(|s| s.as_str()?.parse().ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return error(status, "failing on purpose (sandbox `/fail`)");
    }
    route(&shared, &rest, &r)
}

async fn lose(
    State(shared): State<Arc<Shared>>,
    Path((times, rest)): Path<(u32, String)>,
    connection: Option<Extension<ConnectInfo<Connection>>>,
    r: Incoming,
) -> Response {
    let response = route(&shared, &rest, &r);
    if shared.with_world(|world, _| world.http.fails(counter("lose", &r), times))
        && let Some(Extension(ConnectInfo(c))) = connection
    {
        c.reset();
    }
    response
}
