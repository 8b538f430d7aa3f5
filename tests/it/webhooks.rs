//! Webhook intake and `sluice serve` (issue 6): the receiver's refusals and durable intake,
//! the settlement sweep driven by signed sandbox webhooks (duplicated and reordered), the
//! polling fallback when every webhook is lost, and runs killed while awaiting that finish
//! after a restart without paying twice; payments settled from the providers' webhooks.

mod restart;
mod router;
mod settlement;
pub(crate) mod support;
mod sweep;
mod workers;
