//! Contract tests: each adapter against the real sandbox over HTTP on 127.0.0.1. Every
//! action of a provider's capability row is executed, looked up and polled; the normalised
//! output is checked exactly and the raw answer against the seed's example shape; every
//! failure class is produced by sandbox fault injection; and signed requests are checked
//! byte for byte against vectors computed here, independently of sluice's signing code.

mod classes;
mod http;
mod signing;
mod support;
mod whalestack;
mod white;
mod whitepay;
mod whitestones;
