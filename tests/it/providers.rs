//! Provider adapters against a scripted fake provider on loopback: the exact requests they
//! send (method, path, headers, body bytes, with signatures recomputed from what arrived),
//! how they read answers, and the failure class of every kind of failure.

mod fake;
mod registry;
mod whalestack;
mod white;
mod whitepay;
mod whitestones;
