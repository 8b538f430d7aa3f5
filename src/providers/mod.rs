//! Payment-provider adapters (README, *Providers*): the [`Provider`] seam, the shared HTTP
//! client and failure classification, rate limiting, and one module per provider.
//!
//! An adapter turns a provider-neutral action (a step's rendered `with` map) into the
//! provider's exact wire format, signs it, classifies every failure ([`FailureClass`]),
//! normalises the answer ([`Output`]), and can find out what happened to a request whose
//! answer was lost ([`Provider::lookup`]). Durability itself (what is committed when) is
//! the engine's; [`Provider`] states the contract.

mod clock;
mod error;
mod fields;
mod folded;
mod http;
mod output;
mod paths;
mod preview;
mod ratelimit;
mod redact;
mod registry;
mod settings;
mod shape;
mod traits;
mod webhook;

pub mod generic_http;
pub mod whalestack;
pub mod white;
pub mod whitepay;
pub mod whitestones;

pub use clock::{Clock, SystemClock};
pub use error::{BoxError, FailureClass, ProviderError};
pub use http::{HttpClient, HttpClientError, USER_AGENT};
pub use output::{NormalizedState, Output, State, Unit};
pub use preview::{MASKED, WireRequest};
pub use ratelimit::{Limiter, Permit};
pub use registry::{answer_redactions, build, build_with_clock};
pub use traits::{Call, IdempotencyKey, InvalidKey, Lookup, Marked, Outcome, Provider};
pub use webhook::{Event, ParseError, VerifyError};
