//! A local emulator of the four payment providers (README, *Sandbox*): Whalestack, White
//! Payments, WHITESTONES and Whitepay on one HTTP server, for `sluice sandbox`, for
//! `sluice run --sandbox`, for the tests and for the benchmark.
//!
//! It checks credentials as each provider documents them, keeps state (customers,
//! checkouts, swaps, transfers, charges, payouts, conversions), holds real balances that
//! every movement goes through ([`LedgerEntry`]), moves objects through their documented
//! states on a clock that can be sped up, stopped and advanced, sends signed webhooks with
//! retries, and injects faults on demand. The start-up surface is [`start`] with a
//! [`SandboxConfig`]; the base URL of each provider is [`SandboxHandle::base_url`]. Test
//! hooks are documented in `hooks`.
//!
//! A small generic API (`/http`: echo, objects, failing and answer-losing routes) serves
//! `kind: http` blocks.
//!
//! This module owns the emulation only; the adapters that talk to it live in
//! `crate::providers`, the CLI wrapper in `crate::cli`.

mod auth;
mod clock;
mod config;
mod error;
mod faults;
mod format;
mod hooks;
mod http;
mod ids;
mod ledger;
mod listener;
mod pages;
mod prices;
mod server;
mod state;
mod table;
mod timers;
mod webhooks;
mod whalestack;
mod white;
mod whitepay;
mod whitestones;

pub use config::{
    AutoPay, DEFAULT_ADDR, DEFAULT_API_KEY, DEFAULT_API_SECRET, Delays, Fees, SandboxConfig,
    WebhookConfig, default_balances, default_prices,
};
pub use error::SandboxError;
pub use faults::{
    FaultKind, FaultParseError, FaultRule, Faults, WebhookFaultKind, WebhookFaultRule,
};
pub use ledger::LedgerEntry;
pub use server::{SandboxHandle, base_path, start};
pub use state::RequestSeen;
pub use webhooks::{Delivery, DeliveryOutcome};
