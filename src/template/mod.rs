//! Strict handlebars rendering with exact decimal helpers.
//!
//! Workflow files carry handlebars templates in step `with` values, `if:` and `key:`
//! (`"{{sum inputs.payees 'amount'}}"`, `"{{gt payee.amount '0'}}"`,
//! `"Payroll {{run.scheduled_for}} {{payee.name}}"`). This module owns how they are
//! checked ([`Templates::check`]), what they read ([`references`]) and how they render
//! ([`Templates::render`], [`Templates::render_value`], [`Templates::render_bool`]).
//!
//! Rendering is strict: an undefined variable is an error naming the path, with a
//! did-you-mean, never an empty string; that holds in helper arguments and in `if`
//! conditions too, and `default VALUE FALLBACK` is the one way to make a value optional.
//! There is no HTML escaping. Amounts are decimal strings (or JSON numbers read by their
//! exact text) and the helpers `add sub mul div sum min max round cmp gt gte lt lte eq ne`
//! compute on rust_decimal; only `round` rounds, half away from zero. Also available:
//! `len json upper lower default concat` and the handlebars built-ins `if unless each with
//! lookup and or not`. Partials and decorators are refused.
//!
//! What the context contains (`inputs`, `steps`, `run`, the `for_each` alias) is the
//! planner's and the engine's business; this module renders whatever JSON it is given.

mod ast;
mod engine;
mod error;
mod helpers;
mod references;
mod source;

pub use engine::{Scope, ScopeRef, Templates};
pub use error::TemplateError;
pub use references::{Reference, references};
