//! Exact decimal helpers: `add sub mul div sum min max round cmp gt gte lt lte eq ne`.
//!
//! Arguments are amounts as the context holds them, decimal strings or JSON numbers read
//! from their text, parsed with [`crate::money::parse_amount`]; anything else is an error
//! naming the helper and the value. Results are JSON strings in rust_decimal's natural
//! scale (`add "0.1" "0.2"` is `"0.3"`, `mul "1.10" "2"` is `"2.20"`). Comparisons return
//! JSON booleans and `cmp` returns -1, 0 or 1, so they compose in `{{#if (gt a b)}}`.
//!
//! Nothing here rounds except `round`, which rounds half away from zero (`2.345` to 2
//! digits is `2.35`, `-2.5` to 0 digits is `-3`) and pads to exactly the requested digits.
//! A `div` whose quotient does not terminate is carried to rust_decimal's 28 significant
//! digits; such a result has more decimals than any currency allows, so it is refused
//! wherever it would become an amount unless it went through `round` first.

use std::cmp::Ordering;

use handlebars::RenderError;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

use super::args::{Args, amount, decimal_of, scalar_text, shown};

/// The largest number of decimals a rust_decimal holds.
const MAX_DIGITS: u32 = 28;

/// `add A B …`: the sum of two or more amounts.
pub(crate) fn add(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    fold(args, "the sum", Decimal::checked_add)
}

/// `sub A B …`: A minus every following amount.
pub(crate) fn sub(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    fold(args, "the difference", Decimal::checked_sub)
}

/// `mul A B …`: the product of two or more amounts.
pub(crate) fn mul(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    fold(args, "the product", Decimal::checked_mul)
}

/// `div A B …`: A divided by every following amount; dividing by zero is an error.
pub(crate) fn div(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    args.arity(2, None)?;
    let mut quotient = args.decimal(0)?;
    for i in 1..args.len() {
        let divisor = args.decimal(i)?;
        if divisor.is_zero() {
            return Err(args.fail(format!("division of `{quotient}` by zero")));
        }
        quotient = quotient
            .checked_div(divisor)
            .ok_or_else(|| args.fail("the quotient is out of range"))?;
    }
    Ok(amount(quotient))
}

fn fold(
    args: &Args<'_, '_>,
    what: &str,
    op: fn(Decimal, Decimal) -> Option<Decimal>,
) -> Result<Value, RenderError> {
    args.arity(2, None)?;
    let mut total = args.decimal(0)?;
    for i in 1..args.len() {
        total = op(total, args.decimal(i)?)
            .ok_or_else(|| args.fail(format!("{what} is out of range")))?;
    }
    Ok(amount(total))
}

/// `sum LIST ['field']`: the exact sum of a list of amounts, or of one field of a list of
/// objects. An empty list sums to `"0"`.
pub(crate) fn sum(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    args.arity(1, Some(2))?;
    let mut total = Decimal::ZERO;
    for (i, item) in list_items(args)?.into_iter().enumerate() {
        total = total
            .checked_add(item)
            .ok_or_else(|| args.fail(format!("the sum is out of range at row {i}")))?;
    }
    Ok(amount(total))
}

/// `min A B …` or `min LIST ['field']`: the smallest amount, as given.
pub(crate) fn min(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    extreme(args, Ordering::Less)
}

/// `max A B …` or `max LIST ['field']`: the largest amount, as given.
pub(crate) fn max(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    extreme(args, Ordering::Greater)
}

fn extreme(args: &Args<'_, '_>, wanted: Ordering) -> Result<Value, RenderError> {
    args.arity(1, None)?;
    let items = if args.value(0)?.is_array() {
        args.arity(1, Some(2))?;
        list_items(args)?
    } else {
        (0..args.len())
            .map(|i| args.decimal(i))
            .collect::<Result<_, _>>()?
    };
    let best = items
        .into_iter()
        .reduce(|best, item| {
            if item.cmp(&best) == wanted {
                item
            } else {
                best
            }
        })
        .ok_or_else(|| args.fail("the list is empty"))?;
    Ok(amount(best))
}

/// The amounts of `LIST ['field']` in arguments 0 and 1.
fn list_items(args: &Args<'_, '_>) -> Result<Vec<Decimal>, RenderError> {
    let Value::Array(rows) = args.value(0)? else {
        return Err(args.fail(format!(
            "argument 1 `{}` is not a list",
            shown(args.value(0)?)
        )));
    };
    let field = if args.len() > 1 {
        match args.value(1)? {
            Value::String(field) => Some(field.as_str()),
            other => {
                return Err(args.fail(format!("argument 2 `{}` is not a field name", shown(other))));
            }
        }
    } else {
        None
    };
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let value = match field {
                Some(field) => row
                    .get(field)
                    .ok_or_else(|| args.fail(format!("row {i} has no field `{field}`")))?,
                None => row,
            };
            decimal_of(value).ok_or_else(|| {
                args.fail(format!(
                    "row {i}: `{}` is not a plain decimal",
                    shown(value)
                ))
            })
        })
        .collect()
}

/// `round X DIGITS`: X rounded half away from zero to DIGITS decimals (0 to 28), padded
/// to exactly DIGITS decimals. The only helper that rounds.
pub(crate) fn round(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    args.arity(2, Some(2))?;
    let value = args.decimal(0)?;
    let digits_value = args.value(1)?;
    let digits = scalar_text(digits_value)
        .and_then(|text| text.parse::<u32>().ok())
        .filter(|d| *d <= MAX_DIGITS)
        .ok_or_else(|| {
            args.fail(format!(
                "digits `{}` is not a whole number from 0 to {MAX_DIGITS}",
                shown(digits_value)
            ))
        })?;
    let mut rounded = value.round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(digits);
    Ok(amount(rounded))
}

/// `cmp A B`: -1, 0 or 1 as A is less than, equal to or greater than B.
pub(crate) fn cmp(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    let ordering = compare(args)?;
    Ok(Value::from(ordering as i8))
}

/// `gt A B`: A > B.
pub(crate) fn gt(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    Ok(Value::Bool(compare(args)?.is_gt()))
}

/// `gte A B`: A ≥ B.
pub(crate) fn gte(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    Ok(Value::Bool(compare(args)?.is_ge()))
}

/// `lt A B`: A < B.
pub(crate) fn lt(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    Ok(Value::Bool(compare(args)?.is_lt()))
}

/// `lte A B`: A ≤ B.
pub(crate) fn lte(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    Ok(Value::Bool(compare(args)?.is_le()))
}

fn compare(args: &Args<'_, '_>) -> Result<Ordering, RenderError> {
    args.arity(2, Some(2))?;
    Ok(args.decimal(0)?.cmp(&args.decimal(1)?))
}

/// `eq A B`: numeric equality when both are decimals (`"1.0"` equals `1`), JSON equality
/// otherwise (strings as strings).
pub(crate) fn eq(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    equal(args).map(Value::Bool)
}

/// `ne A B`: the negation of `eq`.
pub(crate) fn ne(args: &Args<'_, '_>) -> Result<Value, RenderError> {
    equal(args).map(|equal| Value::Bool(!equal))
}

fn equal(args: &Args<'_, '_>) -> Result<bool, RenderError> {
    args.arity(2, Some(2))?;
    let (a, b) = (args.value(0)?, args.value(1)?);
    Ok(match (decimal_of(a), decimal_of(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::money::{parse_amount, to_minor};
    use crate::template::{TemplateError, Templates};

    fn render(template: &str, ctx: &Value) -> Result<String, TemplateError> {
        Templates::new().render(template, ctx)
    }

    #[test]
    fn arithmetic_is_exact_and_keeps_natural_scale() {
        let ctx = json!({"a": "0.1", "b": "0.2", "price": "1.10"});
        assert_eq!(render("{{add a b}}", &ctx).unwrap(), "0.3");
        assert_eq!(render("{{add a b '0.7' '-1'}}", &ctx).unwrap(), "0.0");
        assert_eq!(render("{{sub a b}}", &ctx).unwrap(), "-0.1");
        assert_eq!(render("{{mul price '2'}}", &ctx).unwrap(), "2.20");
        assert_eq!(render("{{mul '-1' '0'}}", &ctx).unwrap(), "0");
        assert_eq!(render("{{div '10' '4'}}", &ctx).unwrap(), "2.50");
        assert_eq!(render("{{div '7.50' '2.5'}}", &ctx).unwrap(), "3.0");
        assert_eq!(
            render("{{div '1' '3'}}", &ctx).unwrap(),
            "0.3333333333333333333333333333"
        );
        assert_eq!(render("{{round (div '1' '3') 2}}", &ctx).unwrap(), "0.33");
        assert_eq!(render("{{add (mul price 3) a}}", &ctx).unwrap(), "3.40");
    }

    #[test]
    fn numbers_keep_their_source_text() {
        let ctx: Value =
            serde_json::from_str(r#"{"a": 1.10, "big": 12345678901234567890.123456789}"#).unwrap();
        assert_eq!(render("{{add a '0'}}", &ctx).unwrap(), "1.10");
        assert_eq!(
            render("{{add big '0.000000001'}}", &ctx).unwrap(),
            "12345678901234567890.123456790"
        );
        assert_eq!(render("{{add 1.10 2}}", &ctx).unwrap(), "3.10");
        assert_eq!(render("{{a}}", &ctx).unwrap(), "1.10");
    }

    #[test]
    fn sum_over_ten_thousand_rows_is_exact() {
        let rows: Vec<Value> = (0..10_000_i64)
            .map(|i| json!({"name": format!("p{i}"), "amount": format!("{}.{:02}", i % 997, (i * 37) % 100)}))
            .collect();
        let expected_cents: i64 = (0..10_000_i64)
            .map(|i| (i % 997) * 100 + (i * 37) % 100)
            .sum();
        let expected = format!("{}.{:02}", expected_cents / 100, expected_cents % 100);
        let ctx = json!({"inputs": {"payees": rows, "plain": ["0.1", "0.2", 3], "none": []}});
        let templates = Templates::new();
        assert_eq!(
            templates
                .render("{{sum inputs.payees 'amount'}}", &ctx)
                .unwrap(),
            expected
        );
        assert_eq!(
            templates.render("{{sum inputs.plain}}", &ctx).unwrap(),
            "3.3"
        );
        assert_eq!(templates.render("{{sum inputs.none}}", &ctx).unwrap(), "0");
        let err = templates
            .render("{{sum inputs.payees 'amout'}}", &ctx)
            .unwrap_err();
        assert_eq!(err.to_string(), "helper `sum`: row 0 has no field `amout`");
        let err = templates.render("{{sum inputs.payees}}", &ctx).unwrap_err();
        assert!(
            err.to_string().starts_with("helper `sum`: row 0: `{"),
            "{err}"
        );
    }

    #[test]
    fn min_max_and_round() {
        let ctx = json!({"xs": [{"v": "3"}, {"v": "-1.5"}, {"v": "2"}], "empty": []});
        assert_eq!(render("{{min '3' '1.50' '2'}}", &ctx).unwrap(), "1.50");
        assert_eq!(render("{{max '3' '10' '2'}}", &ctx).unwrap(), "10");
        assert_eq!(render("{{min xs 'v'}}", &ctx).unwrap(), "-1.5");
        assert_eq!(render("{{max xs 'v'}}", &ctx).unwrap(), "3");
        assert!(
            render("{{max empty}}", &ctx)
                .unwrap_err()
                .to_string()
                .contains("the list is empty")
        );
        assert_eq!(render("{{round '2.345' 2}}", &ctx).unwrap(), "2.35");
        assert_eq!(render("{{round '2.5' 0}}", &ctx).unwrap(), "3");
        assert_eq!(render("{{round '-2.5' 0}}", &ctx).unwrap(), "-3");
        assert_eq!(render("{{round '2.3' 2}}", &ctx).unwrap(), "2.30");
        assert_eq!(render("{{round '2.3' '1'}}", &ctx).unwrap(), "2.3");
        let err = render("{{round '2.3' '-1'}}", &ctx).unwrap_err();
        assert_eq!(
            err.to_string(),
            "helper `round`: digits `-1` is not a whole number from 0 to 28"
        );
    }

    #[test]
    fn comparisons_are_numeric_and_compose() {
        let ctx = json!({"amount": "10.00", "budget": "9.5", "status": "paid"});
        assert_eq!(render("{{gt amount budget}}", &ctx).unwrap(), "true");
        assert_eq!(render("{{gte amount '10'}}", &ctx).unwrap(), "true");
        assert_eq!(render("{{lt amount '9.99'}}", &ctx).unwrap(), "false");
        assert_eq!(render("{{lte amount '10.0'}}", &ctx).unwrap(), "true");
        assert_eq!(
            render(
                "{{cmp budget amount}}/{{cmp amount '10'}}/{{cmp amount budget}}",
                &ctx
            )
            .unwrap(),
            "-1/0/1"
        );
        assert_eq!(render("{{eq amount 10}}", &ctx).unwrap(), "true");
        assert_eq!(
            render(
                "{{eq status 'paid'}} {{ne status 'paid'}} {{eq status amount}}",
                &ctx
            )
            .unwrap(),
            "true false false"
        );
        assert_eq!(
            render("{{#if (gt amount budget)}}over{{else}}ok{{/if}}", &ctx).unwrap(),
            "over"
        );
        assert_eq!(
            render("{{#if (lte (add budget '0.5') amount)}}fits{{/if}}", &ctx).unwrap(),
            "fits"
        );
        // String order is never used: "10.00" < "9.5" as text.
        assert_eq!(render("{{max amount budget}}", &ctx).unwrap(), "10.00");
    }

    #[test]
    fn bad_arguments_are_errors_naming_helper_and_value() {
        let ctx = json!({"a": "1", "word": "abc", "flag": true, "f": "1e3"});
        let message = |t: &str| render(t, &ctx).unwrap_err().to_string();
        assert_eq!(
            message("{{div a '0.00'}}"),
            "helper `div`: division of `1` by zero"
        );
        assert_eq!(
            message("{{add a word}}"),
            "helper `add`: argument 2 `abc` is not a plain decimal"
        );
        assert_eq!(
            message("{{gt flag a}}"),
            "helper `gt`: argument 1 `true` is not a plain decimal"
        );
        assert_eq!(
            message("{{mul f a}}"),
            "helper `mul`: argument 1 `1e3` is not a plain decimal"
        );
        assert_eq!(
            message("{{add a}}"),
            "helper `add`: expects at least 2 arguments, got 1"
        );
        assert_eq!(
            message("{{cmp a a a}}"),
            "helper `cmp`: expects 2 arguments, got 3"
        );
        assert_eq!(
            message("{{add a a x=a}}"),
            "helper `add`: takes no named arguments, got `x`"
        );
        assert_eq!(message("{{add a missing}}"), "`missing` is not defined");
        assert_eq!(
            message("{{sum a}}"),
            "helper `sum`: argument 1 `1` is not a list"
        );
    }

    proptest! {
        #[test]
        fn add_of_cents_equals_the_integer_sum(a in -10_000_000_000_i64..10_000_000_000, b in -10_000_000_000_i64..10_000_000_000) {
            let cents = |c: i64| format!("{}{}.{:02}", if c < 0 { "-" } else { "" }, c.abs() / 100, c.abs() % 100);
            let ctx = json!({"a": cents(a), "b": cents(b)});
            let rendered = render("{{add a b}}", &ctx).unwrap();
            let total = parse_amount_cents(&rendered);
            prop_assert_eq!(total, a + b);
        }
    }

    /// Cents from a rendered amount with at most two decimals.
    fn parse_amount_cents(text: &str) -> i64 {
        to_minor(parse_amount(text).unwrap(), "USD").unwrap()
    }
}
