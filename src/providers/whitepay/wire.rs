//! Whitepay answers: balances (with per-currency precision and exchange rates) and
//! transactions. Amounts are decimal strings, read exactly from their text.

use serde::Deserialize;
use serde_json::Value;

/// A currency as a balance describes it.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct CurrencyWire {
    pub(super) ticker: String,
    pub(super) precision: Option<u32>,
    pub(super) min_exchange_amount: Option<Value>,
}

/// One balance of `GET /private-api/balances`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct BalanceWire {
    pub(super) id: String,
    pub(super) currency: CurrencyWire,
    pub(super) value: Option<Value>,
}

/// `GET /private-api/balances`.
#[derive(Debug, Deserialize)]
pub(super) struct BalancesWire {
    pub(super) balances: Vec<BalanceWire>,
}

/// A conversion target of `GET /private-api/balances/{id}`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct RateWire {
    pub(super) ticker: String,
    pub(super) exchange_rate: Option<Value>,
    pub(super) precision: Option<u32>,
}

/// The `balance` of `GET /private-api/balances/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct BalanceRatesWire {
    pub(super) id: String,
    pub(super) currency: CurrencyWire,
    #[serde(default)]
    pub(super) currencies: Vec<RateWire>,
}

/// A transaction's `status`. The seed shows only `INIT` (a conversion just created); the
/// others are sluice's reading of the lifecycle and are mapped explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TransactionStatus {
    Init,
    Pending,
    Processing,
    Complete,
    Failed,
    Declined,
    Canceled,
    /// A string sluice does not know.
    Unknown(String),
}

impl TransactionStatus {
    pub(super) fn parse(s: &str) -> Self {
        match s {
            "INIT" => Self::Init,
            "PENDING" => Self::Pending,
            "PROCESSING" => Self::Processing,
            "COMPLETE" | "COMPLETED" => Self::Complete,
            "FAILED" => Self::Failed,
            "DECLINED" => Self::Declined,
            "CANCELED" | "CANCELLED" => Self::Canceled,
            other => Self::Unknown(other.to_string()),
        }
    }
}

/// A transaction (`{"transaction": {...}}`).
#[derive(Debug, Deserialize)]
pub(super) struct TransactionWire {
    pub(super) id: String,
    pub(super) status: String,
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) currency: Option<String>,
    pub(super) value: Option<Value>,
    pub(super) currency_from: Option<String>,
    pub(super) value_from: Option<Value>,
    pub(super) currency_to: Option<String>,
    pub(super) value_to: Option<Value>,
    pub(super) created_at: Option<String>,
    pub(super) completed_at: Option<String>,
}
