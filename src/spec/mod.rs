//! The workflow language: the serde model of a workflow file, loading with source spans,
//! diagnostics, and `${VAR}` resolution in provider blocks (README, *The workflow language*).
//!
//! Semantic validation (references, cycles, capabilities) needs templates and the DAG, so it
//! lives in `plan::compile`.

pub mod auth;
pub mod diagnostic;
pub mod duration;
pub mod env;
pub mod load;
pub mod model;
pub mod notify;
pub mod schema;
pub mod secret;
pub mod source;

pub use auth::{AuthConfig, HmacConfig, HmacEncoding, HmacOver, HttpAuthConfig};
pub use diagnostic::{Code, Diagnostic, Diagnostics, Span};
pub use duration::HumanDuration;
pub use load::{LoadError, LoadFailure, Loaded, load_file, parse, parse_as};
pub use model::*;
pub use notify::{EmailTarget, NotifyEvent, NotifyRule, ServeNotifyConfig, WebhookTarget};
pub use secret::Secret;
pub use source::{Seg, Source};
