//! What a console request can fail with, and the page each failure answers. Store refusals
//! an operator can act on (a step no longer in doubt, an approval the policy refuses) are
//! shown with the store's reason; anything else is logged and answered with an opaque page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::runner::RunnerError;
use super::users::Role;
use crate::ids::RunId;
use crate::store::StoreError;
use crate::webhooks::ReplayError;

/// A console request that cannot be answered with its page.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An event cannot be replayed.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The user's role may not do this.
    #[error("this needs the `{needed}` role; you are `{has}`")]
    Forbidden {
        /// The role the action needs.
        needed: Role,
        /// The user's role.
        has: Role,
    },
    /// A form field is missing or malformed.
    #[error("{0}")]
    BadForm(&'static str),
    /// A run could not be resumed.
    #[error(transparent)]
    Resume(#[from] RunnerError),
    /// This console was given no way to continue runs.
    #[error(
        "this console does not continue runs; continue run `{0}` with `sluice resume {0}`, \
         or from a `sluice serve` console"
    )]
    NoRunner(RunId),
    /// An export could not be written.
    #[error("cannot write the CSV export")]
    Export(#[source] csv::Error),
}

impl ConsoleError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Store(StoreError::RunNotFound { .. } | StoreError::StepNotFound { .. })
            | Self::Replay(ReplayError::Store(StoreError::EventNotFound { .. })) => {
                StatusCode::NOT_FOUND
            }
            Self::Store(
                StoreError::InvalidTransition { .. }
                | StoreError::InvalidAction { .. }
                | StoreError::ApprovalRefused { .. }
                | StoreError::DiscrepancyNotOpen { .. }
                | StoreError::Leased { .. },
            )
            | Self::Replay(ReplayError::Unparseable(_))
            | Self::Resume(
                RunnerError::Held { .. }
                | RunnerError::Unusable { .. }
                | RunnerError::Store(StoreError::InvalidAction { .. } | StoreError::Leased { .. }),
            )
            | Self::NoRunner(_) => StatusCode::CONFLICT,
            Self::Resume(RunnerError::Store(StoreError::RunNotFound { .. })) => {
                StatusCode::NOT_FOUND
            }
            Self::Store(_) | Self::Replay(_) | Self::Export(_) | Self::Resume(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::BadForm(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "Console request failed.");
            "internal error; try again".to_owned()
        } else {
            self.to_string()
        };
        (status, refusal(status, &detail)).into_response()
    }
}

/// A bare page for a refusal: what went wrong and the way home. No user data, so the same
/// page serves requests that are not signed in.
pub fn refusal(status: StatusCode, detail: &str) -> maud::Markup {
    html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "sluice — " (status.as_u16()) }
                link rel="stylesheet" href="/assets/console.css";
            }
            body {
                main class="refusal" {
                    h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                    p { (detail) }
                    p { a href="/" { "Back to the console" } }
                }
            }
        }
    }
}
