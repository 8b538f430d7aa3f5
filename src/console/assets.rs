//! The stylesheet and the script, compiled into the binary: the console needs no files
//! beside it and loads nothing from elsewhere (the Content-Security-Policy says `'self'`).

use axum::http::header;
use axum::response::IntoResponse;

/// `GET /assets/console.css`.
pub async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../assets/console.css"),
    )
}

/// `GET /assets/console.js`.
pub async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../assets/console.js"),
    )
}
