//! The currencies the sandbox's Whitepay account holds: ticker, title, precision (the
//! decimals a conversion amount may have and a converted value is rounded down to), whether
//! fiat or stable, and the minimum conversion. Balance and currency ids are derived from the
//! ticker, so they are the same on every start.

use serde_json::{Value, json};

use crate::sandbox::ids::stable_uuid;

/// One currency.
#[derive(Debug)]
pub struct Currency {
    /// `USDT`, `BTC`, …
    pub ticker: &'static str,
    /// Display name.
    pub title: &'static str,
    /// Decimals of conversion amounts.
    pub precision: u32,
    /// Fiat money.
    pub fiat: bool,
    /// A stablecoin.
    pub stable: bool,
    /// The smallest amount that can be converted.
    pub min_exchange: &'static str,
}

/// Every currency, in a stable order.
pub const CURRENCIES: &[Currency] = &[
    Currency {
        ticker: "USDT",
        title: "Tether US",
        precision: 2,
        fiat: false,
        stable: true,
        min_exchange: "1.00",
    },
    Currency {
        ticker: "USDC",
        title: "USD Coin",
        precision: 2,
        fiat: false,
        stable: true,
        min_exchange: "1.00",
    },
    Currency {
        ticker: "EUR",
        title: "Euro",
        precision: 2,
        fiat: true,
        stable: false,
        min_exchange: "1.00",
    },
    Currency {
        ticker: "BTC",
        title: "Bitcoin",
        precision: 8,
        fiat: false,
        stable: false,
        min_exchange: "0.00010000",
    },
    Currency {
        ticker: "ETH",
        title: "Ethereum",
        precision: 8,
        fiat: false,
        stable: false,
        min_exchange: "0.00100000",
    },
    Currency {
        ticker: "DOGE",
        title: "Dogecoin",
        precision: 8,
        fiat: false,
        stable: false,
        min_exchange: "10.00000000",
    },
];

/// Decimals every balance value is written with.
pub const VALUE_DP: u32 = 8;

impl Currency {
    /// The currency's id.
    pub fn id(&self) -> String {
        stable_uuid(&format!("whitepay-currency-{}", self.ticker))
    }

    /// The id of the account's balance in this currency.
    pub fn balance_id(&self) -> String {
        stable_uuid(&format!("whitepay-balance-{}", self.ticker))
    }

    fn icon(&self) -> String {
        format!("https://media.whitepay.com/{}.svg", self.ticker)
    }

    /// The currency object of a balance.
    pub fn to_json(&self, detailed: bool) -> Value {
        let mut out = json!({
            "id": self.id(),
            "ticker": self.ticker,
            "is_fiat": self.fiat,
            "is_used_for_order_exchange": true,
            "icon": self.icon(),
            "crm_icon": self.icon(),
            "precision": self.precision,
            "title": self.title,
        });
        if detailed {
            out["is_stable"] = json!(self.stable);
            out["min_exchange_amount"] = json!(self.min_exchange);
        }
        out
    }

    /// The entry of `currencies[]` in a balance's rates.
    pub fn rate_json(&self, rate: String) -> Value {
        json!({
            "id": self.id(),
            "precision": self.precision,
            "exchange_rate": rate,
            "ticker": self.ticker,
            "name": self.title,
            "title": self.title,
            "icon": self.icon(),
        })
    }
}

/// The currency with `ticker` (case-insensitive).
pub fn by_ticker(ticker: &str) -> Option<&'static Currency> {
    CURRENCIES
        .iter()
        .find(|c| c.ticker.eq_ignore_ascii_case(ticker))
}

/// The currency whose balance has `id`.
pub fn by_balance_id(id: &str) -> Option<&'static Currency> {
    CURRENCIES.iter().find(|c| c.balance_id() == id)
}
