//! The sandbox's price table and the exchange rates derived from it.
//!
//! Every rate is the ratio of two USD prices, so rates are consistent across providers and
//! a conversion there and back never creates money. Results are rounded to the target's
//! precision in the provider's favour (down for what the client receives, up for what it
//! pays), which is the only rounding the sandbox does.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use super::config::default_prices;

/// USD prices by currency or asset code.
#[derive(Debug, Clone)]
pub struct Prices {
    usd: BTreeMap<String, Decimal>,
}

/// Which way a converted amount is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Towards zero: an amount the client receives.
    Down,
    /// Away from zero: an amount the client pays.
    Up,
}

impl Prices {
    /// The default table with `overrides` applied (codes are case-insensitive).
    pub fn new(overrides: &BTreeMap<String, Decimal>) -> Self {
        let mut usd = default_prices();
        for (code, price) in overrides {
            usd.insert(code.to_ascii_uppercase(), *price);
        }
        Prices { usd }
    }

    /// The USD price of `code`; an asset id (`USDC:GA5Z…`) is looked up by its code.
    pub fn price(&self, code: &str) -> Option<Decimal> {
        let code = code.split(':').next().unwrap_or(code).to_ascii_uppercase();
        self.usd
            .get(&code)
            .copied()
            .filter(|p| p.is_sign_positive() && !p.is_zero())
    }

    /// Units of `to` one unit of `from` buys, unrounded.
    pub fn rate(&self, from: &str, to: &str) -> Option<Decimal> {
        self.price(from)?.checked_div(self.price(to)?)
    }

    /// `amount` of `from` expressed in `to`, rounded to `dp` decimals in direction `round`.
    /// `None` when a price is unknown or the result overflows.
    pub fn convert(
        &self,
        amount: Decimal,
        from: &str,
        to: &str,
        dp: u32,
        round: Round,
    ) -> Option<Decimal> {
        let exact = amount
            .checked_mul(self.price(from)?)?
            .checked_div(self.price(to)?)?;
        let strategy = match round {
            Round::Down => RoundingStrategy::ToZero,
            Round::Up => RoundingStrategy::AwayFromZero,
        };
        Some(exact.round_dp_with_strategy(dp, strategy))
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn conversions_use_price_ratios_and_round_for_the_provider() {
        let prices = Prices::new(&BTreeMap::from([("btc".to_string(), dec!(40000))]));
        assert_eq!(prices.price("BTC:GCQVEST7"), Some(dec!(40000)));
        assert_eq!(
            prices.convert(dec!(100), "USDC:GA5Z", "XLM:NATIVE", 7, Round::Down),
            Some(dec!(1000))
        );
        assert_eq!(
            prices.convert(dec!(1), "USD", "BTC", 7, Round::Down),
            Some(dec!(0.0000250))
        );
        assert_eq!(
            prices.convert(dec!(1), "EUR", "BTC", 7, Round::Down),
            Some(dec!(0.0000270))
        );
        assert_eq!(
            prices.convert(dec!(1), "EUR", "GBP", 2, Round::Down),
            Some(dec!(0.85))
        );
        assert_eq!(
            prices.convert(dec!(1), "EUR", "GBP", 2, Round::Up),
            Some(dec!(0.86))
        );
        assert_eq!(prices.convert(dec!(1), "EUR", "ZZZ", 2, Round::Up), None);
    }
}
