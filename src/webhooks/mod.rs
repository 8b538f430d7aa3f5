//! The webhook receiver (README, *Webhooks*): an axum router at `/webhooks/<provider-name>` that
//! verifies each delivery with the provider block's adapter in constant time, stores it
//! once (deduplicated) and wakes every waiting `webhook.await` it fits in the same
//! transaction, and only then answers 200; plus `/healthz` and Prometheus `/metrics`.
//!
//! - [`router`]: the [`app`] factory, the handlers and the `{code, detail}` error body;
//! - [`intake`]: one delivery from raw bytes to a stored event ([`Receiver`]);
//! - [`matcher`]: which waiting steps an event wakes, and operator redelivery ([`replay`]);
//! - [`registry`]: the provider blocks the receiver knows, by name ([`Providers`]);
//! - [`metrics`]: intake counters and the run and step gauges;
//! - [`server`]: binding with TCP_NODELAY and serving until shutdown.
//!
//! What an await accepts (event types, `match` paths, the read-back) is the engine's
//! ([`crate::engine::await_step`]); this module only finds the steps and wakes them.

pub mod intake;
pub mod matcher;
pub mod metrics;
pub mod registry;
pub mod router;
pub mod server;

pub use intake::{MAX_BODY, Notice, ObjectEvent, Received, Receiver, Rejection, UNPARSEABLE};
pub use matcher::{ReplayError, Replayed, replay, wake_keys};
pub use metrics::Metrics;
pub use registry::Providers;
pub use router::app;
pub use server::{Listening, bind};
