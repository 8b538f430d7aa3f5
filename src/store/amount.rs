//! A step's amount: the asset (or currency) and the decimal amount of its stored request,
//! as the totals by state and asset count it, and the columns the store keeps beside the
//! request so that a database can add them up without reading any request.
//!
//! The amount is kept as an integer and a scale (`1592.36` is 159236 at scale 2), which
//! both databases sum exactly; SQLite has no decimal type, and its `SUM` of text is a float.
//! An amount whose digits do not fit 64 bits keeps only its asset (its units stay `NULL`),
//! and the totals read its request instead.

use rust_decimal::Decimal;
use serde_json::Value;

use crate::money::parse_amount;

/// The asset and the amount a request names (`asset` or `currency`, and `amount`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAmount {
    /// The asset or currency code.
    pub asset: String,
    /// The amount, exactly as the request has it.
    pub amount: Decimal,
}

impl RequestAmount {
    /// The amount `request` names, if it names an asset and a plain decimal amount.
    pub fn of(request: &Value) -> Option<RequestAmount> {
        let asset = asset_of(request)?;
        let amount = match request.get("amount")? {
            Value::String(text) => parse_amount(text).ok()?,
            Value::Number(n) => parse_amount(&n.to_string()).ok()?,
            _ => return None,
        };
        Some(RequestAmount {
            asset: asset.to_owned(),
            amount,
        })
    }
}

/// The request's asset or currency, when it also has an amount.
fn asset_of(request: &Value) -> Option<&str> {
    request.get("amount")?;
    let text = |field: &str| request.get(field).and_then(Value::as_str);
    text("asset").or_else(|| text("currency"))
}

/// What the columns `asset`, `amount_units` and `amount_scale` hold for a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AmountColumns {
    /// The asset, when the request has one and an amount (`NULL` otherwise).
    pub asset: Option<String>,
    /// The amount's digits as an integer, when they fit.
    pub units: Option<i64>,
    /// How many of those digits are decimals.
    pub scale: Option<i64>,
}

impl AmountColumns {
    /// The columns of `request` (all `NULL` without one).
    pub fn of(request: Option<&Value>) -> AmountColumns {
        let Some(request) = request else {
            return AmountColumns::default();
        };
        let Some(asset) = asset_of(request) else {
            return AmountColumns::default();
        };
        let exact = RequestAmount::of(request)
            .and_then(|a| Some((i64::try_from(a.amount.mantissa()).ok()?, a.amount.scale())));
        AmountColumns {
            asset: Some(asset.to_owned()),
            units: exact.map(|(units, _)| units),
            scale: exact.map(|(_, scale)| i64::from(scale)),
        }
    }
}

/// The divisor that splits summed units in two halves the databases add without overflow:
/// 64-bit sums of the quotients and of the remainders hold for a billion rows.
pub(crate) const UNITS_SPLIT: i64 = 1_000_000_000;

/// The exact total of units whose quotients by [`UNITS_SPLIT`] sum to `high` and whose
/// remainders sum to `low`, at `scale`; `None` past what a [`Decimal`] holds.
pub(crate) fn total_of(high: i64, low: i64, scale: i64) -> Option<Decimal> {
    let units = i128::from(high) * i128::from(UNITS_SPLIT) + i128::from(low);
    Decimal::try_from_i128_with_scale(units, u32::try_from(scale).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_request_amount_is_its_asset_or_currency_and_its_plain_decimal() {
        let eurc = RequestAmount::of(&json!({"asset": "EURC", "amount": "1592.36"})).unwrap();
        assert_eq!((eurc.asset.as_str(), eurc.amount), ("EURC", dec!(1592.36)));
        let eur = RequestAmount::of(&json!({"currency": "EUR", "amount": 12})).unwrap();
        assert_eq!((eur.asset.as_str(), eur.amount), ("EUR", dec!(12)));
        assert_eq!(RequestAmount::of(&json!({"asset": "EURC"})), None);
        assert_eq!(RequestAmount::of(&json!({"amount": "1"})), None);
        assert_eq!(
            RequestAmount::of(&json!({"asset": "X", "amount": "1e3"})),
            None
        );
    }

    #[test]
    fn columns_keep_the_digits_and_scale_or_only_the_asset_when_they_do_not_fit() {
        let cols = AmountColumns::of(Some(&json!({"asset": "EURC", "amount": "-0.50"})));
        assert_eq!(
            cols,
            AmountColumns {
                asset: Some("EURC".into()),
                units: Some(-50),
                scale: Some(2)
            }
        );
        let huge = AmountColumns::of(Some(
            &json!({"asset": "ETH", "amount": "12345678901.123456789012345678"}),
        ));
        assert_eq!(
            (huge.asset.as_deref(), huge.units, huge.scale),
            (Some("ETH"), None, None)
        );
        let odd = AmountColumns::of(Some(&json!({"asset": "EURC", "amount": "lots"})));
        assert_eq!((odd.asset.as_deref(), odd.units), (Some("EURC"), None));
        assert_eq!(
            AmountColumns::of(Some(&json!({"url": "x"}))),
            AmountColumns::default()
        );
        assert_eq!(AmountColumns::of(None), AmountColumns::default());
    }

    #[test]
    fn split_sums_give_the_exact_total_negative_units_included() {
        let units = [159_236_i64, -50, 9_000_000_000_123, i64::MAX];
        let high: i64 = units.iter().map(|u| u / UNITS_SPLIT).sum();
        let low: i64 = units.iter().map(|u| u % UNITS_SPLIT).sum();
        let exact: i128 = units.iter().map(|&u| i128::from(u)).sum();
        assert_eq!(
            total_of(high, low, 2),
            Some(Decimal::from_i128_with_scale(exact, 2))
        );
        assert_eq!(total_of(0, 5, -1), None);
    }
}
