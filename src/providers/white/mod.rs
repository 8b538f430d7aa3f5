//! The White Payments adapter (seed 001): charges, captures, refunds and customers.
//!
//! Choices where the docs are silent (also in the README's provider section):
//! - Bodies are form-encoded with bracket notation for nested fields; HTTP Basic auth with
//!   the secret key as user name and an empty password.
//! - Amounts are integers in the currency's smallest unit, converted exactly by `money`
//!   (AED 2 decimals, BHD/KWD 3, JPY 0); excess precision is refused before sending.
//!   The currency is sent in lower case, as in the docs' examples.
//! - Errors `{"error": {type, code, message, extras}}` become typed failures by HTTP
//!   status: a 4xx (including `banking`/`card_declined` on 402) is `rejected` with the
//!   provider's message and code; `extras` are never kept (they can echo the API key).
//! - No idempotency keys, no metadata: the charge's and the customer's `description` carry
//!   `[sluice:KEY]` and `lookup` searches `GET /charges` / `GET /customers` for it.
//!   Refunds carry nothing searchable: a refund this step could have made is reported
//!   as unknown, for an operator.
//! - No webhooks: `webhook.await` polls `GET /charges/{id}` (`poll` objects: `charge`,
//!   `customer`).

mod charge;
mod client;
mod config;
mod convert;
mod customer;
mod provider;
mod wire;

pub use provider::White;
