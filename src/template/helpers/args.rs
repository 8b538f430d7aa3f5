//! The calling convention shared by sluice's value helpers.
//!
//! A helper is a plain function from its positional arguments to a JSON value. The adapter
//! here plugs such a function into handlebars and enforces what every helper owes strict
//! mode: an argument whose path is not defined is refused (as a missing variable naming
//! the path), a missing argument or a named (`key=value`) argument is refused, and amounts
//! are read from their text, never through a float. `default` is the one helper that may
//! look at an undefined argument, through [`Args::raw`].

use std::borrow::Cow;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, PathAndJson, RenderContext, RenderError,
    RenderErrorReason, ScopedJson,
};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::money::parse_amount;

/// A helper body: positional arguments in, a JSON value out.
pub(crate) type HelperFn = fn(&Args<'_, '_>) -> Result<Value, RenderError>;

/// Why a helper refused its arguments. It travels through handlebars as a nested error
/// and becomes [`super::super::TemplateError::Helper`].
#[derive(Debug, thiserror::Error)]
#[error("helper `{helper}`: {message}")]
pub(crate) struct HelperError {
    /// The helper's name.
    pub(crate) helper: &'static str,
    /// What was wrong, lowercase, values in backticks.
    pub(crate) message: String,
}

/// A [`HelperFn`] registered under a name.
pub(crate) struct ValueHelper {
    pub(crate) name: &'static str,
    pub(crate) body: HelperFn,
}

impl HelperDef for ValueHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let args = Args::new(self.name, h.params());
        if let Some(key) = h.hash().keys().next() {
            return Err(args.fail(format!("takes no named arguments, got `{key}`")));
        }
        (self.body)(&args).map(ScopedJson::Derived)
    }
}

/// The positional arguments of one helper call.
pub(crate) struct Args<'a, 'rc> {
    helper: &'static str,
    params: &'a [PathAndJson<'rc>],
}

impl<'a, 'rc> Args<'a, 'rc> {
    /// The arguments of a call to `helper`.
    pub(crate) fn new(helper: &'static str, params: &'a [PathAndJson<'rc>]) -> Self {
        Self { helper, params }
    }

    /// How many arguments were given.
    pub(crate) fn len(&self) -> usize {
        self.params.len()
    }

    /// Refuses fewer than `min` or more than `max` arguments.
    pub(crate) fn arity(&self, min: usize, max: Option<usize>) -> Result<(), RenderError> {
        let n = self.len();
        if n >= min && max.is_none_or(|max| n <= max) {
            return Ok(());
        }
        let expected = match max {
            Some(max) if max == min => format!("{min}"),
            Some(max) => format!("{min} to {max}"),
            None => format!("at least {min}"),
        };
        let plural = if expected == "1" { "" } else { "s" };
        Err(self.fail(format!("expects {expected} argument{plural}, got {n}")))
    }

    /// Argument `i` as given, possibly undefined.
    pub(crate) fn raw(&self, i: usize) -> Result<&'a PathAndJson<'rc>, RenderError> {
        self.params
            .get(i)
            .ok_or_else(|| self.fail(format!("argument {} is missing", i + 1)))
    }

    /// Argument `i`, which must be defined.
    pub(crate) fn value(&self, i: usize) -> Result<&'a Value, RenderError> {
        let param = self.raw(i)?;
        if param.is_value_missing() {
            return Err(RenderError::strict_error(param.relative_path()));
        }
        Ok(param.value())
    }

    /// Argument `i` as a plain decimal.
    pub(crate) fn decimal(&self, i: usize) -> Result<Decimal, RenderError> {
        let value = self.value(i)?;
        decimal_of(value).ok_or_else(|| {
            self.fail(format!(
                "argument {} `{}` is not a plain decimal",
                i + 1,
                shown(value)
            ))
        })
    }

    /// A [`HelperError`] from this helper.
    pub(crate) fn fail(&self, message: impl Into<String>) -> RenderError {
        RenderErrorReason::NestedError(Box::new(HelperError {
            helper: self.helper,
            message: message.into(),
        }))
        .into()
    }
}

/// The exact decimal a JSON string or number holds (`"1.10"`, `1.10`), read from its text.
pub(crate) fn decimal_of(value: &Value) -> Option<Decimal> {
    parse_amount(&scalar_text(value)?).ok()
}

/// The text of a string, number or boolean; `None` for null, lists and objects.
pub(crate) fn scalar_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        // With `arbitrary_precision` this is the number's exact source text.
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A value as an error message shows it: strings bare, anything else as compact JSON.
pub(crate) fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A decimal result as the JSON string the context uses for amounts. A zero never
/// carries a sign.
pub(crate) fn amount(mut value: Decimal) -> Value {
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    Value::String(value.to_string())
}
