//! Exact money: decimal amounts, currency and asset precision, minor units.
//!
//! Every amount in sluice is a [`Decimal`] parsed from text; nothing here (or anywhere else)
//! goes through a float. An amount with more decimals than its currency or asset allows is an
//! error, never rounded. Provider adapters that speak minor units (White Payments,
//! WHITESTONES) convert with [`to_minor`] and [`from_minor`] at their wire edge.

use rust_decimal::Decimal;

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The text is not a plain decimal number.
    #[error("`{text}` is not a decimal amount (expected digits with an optional `.` and sign)")]
    NotDecimal {
        /// The text as given.
        text: String,
    },
    /// More decimals than the currency or asset has.
    #[error("`{amount}` has {scale} decimals but `{code}` allows {allowed}")]
    ExcessPrecision {
        /// The amount as given.
        amount: Decimal,
        /// The currency or asset code.
        code: String,
        /// Decimals in the amount.
        scale: u32,
        /// Decimals the code allows.
        allowed: u32,
    },
    /// The code is neither an ISO 4217 currency nor a known asset.
    #[error("unknown currency or asset `{code}`")]
    UnknownCode {
        /// The code as given.
        code: String,
    },
    /// The amount does not fit in the minor-unit integer range.
    #[error("`{amount}` `{code}` is out of range in minor units")]
    OutOfRange {
        /// The amount as given.
        amount: Decimal,
        /// The currency or asset code.
        code: String,
    },
}

/// ISO 4217 currencies whose minor unit is not 2 decimals.
const ISO_EXPONENTS: &[(&str, u32)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// ISO 4217 currencies with the usual 2-decimal minor unit.
const ISO_TWO_DECIMALS: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
    "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR",
    "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS", "VES", "WST", "XCD", "YER", "ZAR",
    "ZMW", "ZWL",
];

/// Assets that are not ISO currencies. Whalestack settles on Stellar, where every asset
/// has 7 decimals ("7 decimals on Stellar", README, *Providers*). Providers with their own
/// precision table (Whitepay reports one per currency) check against theirs at run time.
const ASSET_PRECISIONS: &[(&str, u32)] = &[
    ("BTC", 7),
    ("BTCLN", 7),
    ("DOGE", 7),
    ("ETH", 7),
    ("EURC", 7),
    ("LTC", 7),
    ("USDC", 7),
    ("USDT", 7),
    ("XLM", 7),
];

/// The number of decimals `code` allows: the ISO 4217 exponent for a currency, the asset
/// precision for an asset. An asset id such as `USDC:GA5Z…` or `XLM:NATIVE` is looked up
/// by its code before the colon. Codes are case-insensitive.
pub fn precision(code: &str) -> Option<u32> {
    let code = code
        .split(':')
        .next()
        .unwrap_or(code)
        .trim()
        .to_ascii_uppercase();
    if let Some((_, e)) = ISO_EXPONENTS.iter().find(|(c, _)| *c == code) {
        return Some(*e);
    }
    if ISO_TWO_DECIMALS.contains(&code.as_str()) {
        return Some(2);
    }
    ASSET_PRECISIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, p)| *p)
}

/// Parses a plain decimal amount (`12`, `-0.50`, `1000.1234567`). Exponents, thousands
/// separators, spaces and anything a float would accept (`NaN`, `1e3`) are refused.
///
/// # Errors
/// [`MoneyError::NotDecimal`] when `text` is not a plain decimal.
pub fn parse_amount(text: &str) -> Result<Decimal, MoneyError> {
    let bad = || MoneyError::NotDecimal {
        text: text.to_string(),
    };
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty());
    if !plain {
        return Err(bad());
    }
    Decimal::from_str_exact(text).map_err(|_| bad())
}

/// Decimals actually used by `amount`: trailing zeros do not count (`1.50` uses 1).
pub fn scale_used(amount: Decimal) -> u32 {
    amount.normalize().scale()
}

/// Checks that `amount` fits the precision of `code`.
///
/// # Errors
/// [`MoneyError::UnknownCode`] for an unknown code, [`MoneyError::ExcessPrecision`] when the
/// amount has more decimals than the code allows.
pub fn check_precision(amount: Decimal, code: &str) -> Result<(), MoneyError> {
    let allowed = precision(code).ok_or_else(|| MoneyError::UnknownCode {
        code: code.to_string(),
    })?;
    check_scale(amount, code, allowed)
}

/// Checks that `amount` has at most `allowed` decimals; `code` only names the unit in the error.
///
/// # Errors
/// [`MoneyError::ExcessPrecision`] when it has more.
pub fn check_scale(amount: Decimal, code: &str, allowed: u32) -> Result<(), MoneyError> {
    let scale = scale_used(amount);
    if scale > allowed {
        return Err(MoneyError::ExcessPrecision {
            amount,
            code: code.to_string(),
            scale,
            allowed,
        });
    }
    Ok(())
}

/// Converts `amount` of `code` to an integer count of minor units (`12.34 USD` → `1234`,
/// `1.234 KWD` → `1234`, `500 JPY` → `500`).
///
/// # Errors
/// An unknown code, excess precision (never rounded), or a result outside `i64`.
pub fn to_minor(amount: Decimal, code: &str) -> Result<i64, MoneyError> {
    check_precision(amount, code)?;
    let exponent = precision(code).unwrap_or_default();
    let out_of_range = || MoneyError::OutOfRange {
        amount,
        code: code.to_string(),
    };
    let factor = Decimal::from(10_i64.pow(exponent));
    let minor = amount.checked_mul(factor).ok_or_else(out_of_range)?;
    i64::try_from(minor.normalize()).map_err(|_| out_of_range())
}

/// Converts an integer count of minor units of `code` back to a decimal amount with exactly
/// the code's number of decimals (`1234 USD` → `12.34`).
///
/// # Errors
/// [`MoneyError::UnknownCode`] for an unknown code.
pub fn from_minor(minor: i64, code: &str) -> Result<Decimal, MoneyError> {
    let exponent = precision(code).ok_or_else(|| MoneyError::UnknownCode {
        code: code.to_string(),
    })?;
    Ok(Decimal::from_i128_with_scale(i128::from(minor), exponent))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn precision_follows_iso_4217_and_stellar() {
        assert_eq!(precision("USD"), Some(2));
        assert_eq!(precision("aed"), Some(2));
        assert_eq!(precision("KWD"), Some(3));
        assert_eq!(precision("BHD"), Some(3));
        assert_eq!(precision("JPY"), Some(0));
        assert_eq!(precision("KRW"), Some(0));
        assert_eq!(precision("USDC"), Some(7));
        assert_eq!(precision("XLM:NATIVE"), Some(7));
        assert_eq!(precision("ZZZ"), None);
    }

    #[test]
    fn parse_amount_refuses_what_a_float_would_accept() {
        assert_eq!(parse_amount("12.50").unwrap(), dec!(12.50));
        assert_eq!(parse_amount("-0.1").unwrap(), dec!(-0.1));
        for bad in [
            "", "1e3", "NaN", "1,000", " 1", "1.", ".5", "+1", "inf", "1.2.3",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn minor_units_are_exact_and_never_rounded() {
        assert_eq!(to_minor(dec!(12.34), "USD").unwrap(), 1234);
        assert_eq!(to_minor(dec!(12.3), "USD").unwrap(), 1230);
        assert_eq!(to_minor(dec!(1.234), "KWD").unwrap(), 1234);
        assert_eq!(to_minor(dec!(500), "JPY").unwrap(), 500);
        assert_eq!(to_minor(dec!(500.00), "JPY").unwrap(), 500);
        assert!(matches!(
            to_minor(dec!(12.345), "USD"),
            Err(MoneyError::ExcessPrecision {
                scale: 3,
                allowed: 2,
                ..
            })
        ));
        assert!(to_minor(dec!(0.5), "JPY").is_err());
        assert_eq!(from_minor(1234, "USD").unwrap().to_string(), "12.34");
        assert_eq!(from_minor(1234, "BHD").unwrap().to_string(), "1.234");
        assert_eq!(from_minor(7, "JPY").unwrap().to_string(), "7");
    }

    const CODES: &[&str] = &["USD", "KWD", "JPY", "USDC", "CLF"];

    proptest! {
        #[test]
        fn from_minor_then_to_minor_is_identity(minor in any::<i64>(), i in 0..CODES.len()) {
            let code = CODES[i];
            let amount = from_minor(minor, code).unwrap();
            prop_assert_eq!(to_minor(amount, code).unwrap(), minor);
        }

        #[test]
        fn sums_are_exact(parts in proptest::collection::vec(-1_000_000_000_i64..1_000_000_000, 1..200)) {
            let total: Decimal = parts.iter().map(|m| from_minor(*m, "USD").unwrap()).sum();
            let expected: i64 = parts.iter().sum();
            prop_assert_eq!(to_minor(total, "USD").unwrap(), expected);
        }
    }
}
