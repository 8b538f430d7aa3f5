//! The helpers a template may call, by name.
//!
//! One table lists sluice's value helpers; [`register`] installs them, plus the strict
//! `if`/`unless`, into a registry, and [`is_known`] answers for them and for the
//! handlebars built-ins that stay as they are (`each`, `with`, `lookup`, …). Handlebars'
//! own `eq ne gt gte lt lte len` are replaced by the decimal-aware ones here.

use handlebars::Handlebars;

use super::args::{HelperFn, ValueHelper};
use super::control::StrictIf;
use super::{decimal, text};

/// Every value helper and its body.
const VALUE_HELPERS: &[(&str, HelperFn)] = &[
    ("add", decimal::add),
    ("sub", decimal::sub),
    ("mul", decimal::mul),
    ("div", decimal::div),
    ("sum", decimal::sum),
    ("min", decimal::min),
    ("max", decimal::max),
    ("round", decimal::round),
    ("cmp", decimal::cmp),
    ("gt", decimal::gt),
    ("gte", decimal::gte),
    ("lt", decimal::lt),
    ("lte", decimal::lte),
    ("eq", decimal::eq),
    ("ne", decimal::ne),
    ("len", text::len),
    ("json", text::json),
    ("upper", text::upper),
    ("lower", text::lower),
    ("default", text::default),
    ("concat", text::concat),
];

/// Block helpers replaced by strict versions.
const STRICT_BLOCKS: &[(&str, bool)] = &[("if", true), ("unless", false)];

/// handlebars built-ins kept unchanged.
const BUILTINS: &[&str] = &["each", "with", "lookup", "raw", "log", "and", "or", "not"];

/// Installs every sluice helper into `registry`, replacing same-named built-ins.
pub(crate) fn register(registry: &mut Handlebars<'static>) {
    for &(name, body) in VALUE_HELPERS {
        registry.register_helper(name, Box::new(ValueHelper { name, body }));
    }
    for &(name, positive) in STRICT_BLOCKS {
        registry.register_helper(name, Box::new(StrictIf { name, positive }));
    }
}

/// Every helper name a template may call.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    VALUE_HELPERS
        .iter()
        .map(|(name, _)| *name)
        .chain(STRICT_BLOCKS.iter().map(|(name, _)| *name))
        .chain(BUILTINS.iter().copied())
}

/// Whether a template may call `name`.
pub(crate) fn is_known(name: &str) -> bool {
    names().any(|known| known == name)
}
