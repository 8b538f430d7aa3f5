//! How the providers write times and amounts on the wire.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;

/// W3C timestamp with an explicit UTC offset, as Whalestack writes it:
/// `2021-05-06T22:15:37+00:00`.
pub fn w3c(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// ISO 8601 with milliseconds and `Z`, as White Payments writes it:
/// `2015-01-10T15:17:13.902Z`.
pub fn iso_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// ISO 8601 seconds with `Z`, as WHITESTONES writes it: `2024-01-15T10:00:00Z`.
pub fn iso_secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2024-07-11 09:36:46`, as Whitepay writes it.
pub fn plain(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `amount` with exactly `dp` decimals. Callers pass amounts that already fit `dp`
/// (checked on input or rounded explicitly when computed), so this only pads.
pub fn fixed(amount: Decimal, dp: u32) -> String {
    let mut a = amount;
    a.rescale(dp);
    a.to_string()
}

/// A Stellar amount: 7 decimals (`100.0000000`).
pub fn stellar(amount: Decimal) -> String {
    fixed(amount, 7)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn provider_formats() {
        let t = Utc.with_ymd_and_hms(2021, 5, 6, 22, 15, 37).unwrap();
        assert_eq!(w3c(t), "2021-05-06T22:15:37+00:00");
        assert_eq!(iso_millis(t), "2021-05-06T22:15:37.000Z");
        assert_eq!(iso_secs(t), "2021-05-06T22:15:37Z");
        assert_eq!(plain(t), "2021-05-06 22:15:37");
        assert_eq!(stellar(dec!(100)), "100.0000000");
        assert_eq!(stellar(dec!(0.0043193)), "0.0043193");
        assert_eq!(fixed(dec!(40), 8), "40.00000000");
    }
}
