//! The sandbox's books: every account balance and the ledger of every movement.
//!
//! Balances only change through [`Books::post`], which appends the ledger entry in the same
//! step, so the two can never disagree. Each entry carries what the client sent to identify
//! its request (an idempotency key, a note, a description or metadata), so a test can
//! assert that each payment happened exactly once.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use crate::catalog::ProviderKind;

/// One money movement on a sandbox account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// Position in the ledger, from 1.
    pub seq: u64,
    /// Sandbox time of the movement.
    #[serde(serialize_with = "rfc3339")]
    pub time: DateTime<Utc>,
    /// The provider whose account moved.
    pub provider: ProviderKind,
    /// What moved it, e.g. `transfer.debit`, `swap.credit`, `charge.capture`, `payout.fee`.
    pub kind: String,
    /// The provider object responsible (transfer, swap, charge, payout, … id).
    pub object_id: String,
    /// The account: a Whalestack asset id, or a currency code for the other providers.
    pub asset: String,
    /// Signed amount: positive credits the merchant account, negative debits it.
    pub amount: Decimal,
    /// The account balance after the movement.
    pub balance_after: Decimal,
    /// The `Idempotency-Key` the client sent with the request, where the provider has one.
    pub idempotency_key: Option<String>,
    /// What the client attached to find the request again: a note, description or metadata.
    pub reference: Option<String>,
}

fn rfc3339<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A movement to record.
#[derive(Debug, Clone)]
pub struct Posting<'a> {
    /// The provider whose account moves.
    pub provider: ProviderKind,
    /// What moves it.
    pub kind: &'static str,
    /// The responsible object.
    pub object_id: &'a str,
    /// The account.
    pub asset: &'a str,
    /// Signed amount.
    pub amount: Decimal,
    /// The client's idempotency key, if any.
    pub idempotency_key: Option<&'a str>,
    /// The client's note, description or metadata, if any.
    pub reference: Option<&'a str>,
}

/// A debit larger than the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("insufficient funds: balance `{available}`, needed `{needed}`")]
pub struct Insufficient {
    /// The balance before the debit.
    pub available: Decimal,
    /// The amount the debit needed.
    pub needed: Decimal,
}

/// Balances and the ledger.
#[derive(Debug, Default)]
pub struct Books {
    entries: Vec<LedgerEntry>,
    balances: BTreeMap<(ProviderKind, String), Decimal>,
}

impl Books {
    /// Opening balances, recorded in the ledger as `opening` entries.
    pub fn opening(now: DateTime<Utc>, balances: &[(ProviderKind, String, Decimal)]) -> Self {
        let mut books = Books::default();
        for (provider, asset, amount) in balances {
            books.adjust(now, *provider, asset, *amount, "opening");
        }
        books
    }

    /// The balance of one account (zero when it never moved).
    pub fn balance(&self, provider: ProviderKind, asset: &str) -> Decimal {
        self.balances
            .get(&(provider, asset.to_string()))
            .copied()
            .unwrap_or_default()
    }

    /// Every account of `provider`, by asset.
    pub fn balances(&self, provider: ProviderKind) -> impl Iterator<Item = (&str, Decimal)> {
        self.balances
            .iter()
            .filter(move |((p, _), _)| *p == provider)
            .map(|((_, asset), amount)| (asset.as_str(), *amount))
    }

    /// Records a movement. A debit that would take the balance below zero is refused and
    /// nothing is recorded.
    ///
    /// # Errors
    /// [`Insufficient`] when the balance cannot cover a debit.
    pub fn post(&mut self, now: DateTime<Utc>, p: Posting<'_>) -> Result<(), Insufficient> {
        let key = (p.provider, p.asset.to_string());
        let available = self.balances.get(&key).copied().unwrap_or_default();
        let after = available + p.amount;
        if after.is_sign_negative() && !after.is_zero() {
            return Err(Insufficient {
                available,
                needed: -p.amount,
            });
        }
        self.balances.insert(key, after);
        self.entries.push(LedgerEntry {
            seq: self.entries.len() as u64 + 1,
            time: now,
            provider: p.provider,
            kind: p.kind.to_string(),
            object_id: p.object_id.to_string(),
            asset: p.asset.to_string(),
            amount: p.amount,
            balance_after: after,
            idempotency_key: p.idempotency_key.map(str::to_string),
            reference: p.reference.map(str::to_string),
        });
        Ok(())
    }

    /// Sets a balance outright (opening balances, `PUT /__sandbox/balances`), recording the
    /// difference as an entry of `kind`.
    pub fn adjust(
        &mut self,
        now: DateTime<Utc>,
        provider: ProviderKind,
        asset: &str,
        target: Decimal,
        kind: &'static str,
    ) {
        let delta = target - self.balance(provider, asset);
        // The target is never negative here (callers check), so posting cannot fail.
        let _ = self.post(
            now,
            Posting {
                provider,
                kind,
                object_id: "",
                asset,
                amount: delta,
                idempotency_key: None,
                reference: None,
            },
        );
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn debit(amount: Decimal) -> Posting<'static> {
        Posting {
            provider: ProviderKind::Whalestack,
            kind: "transfer.debit",
            object_id: "t1",
            asset: "USDC",
            amount: -amount,
            idempotency_key: None,
            reference: Some("payroll"),
        }
    }

    #[test]
    fn balances_move_only_with_a_ledger_entry() {
        let now = Utc::now();
        let mut books =
            Books::opening(now, &[(ProviderKind::Whalestack, "USDC".into(), dec!(100))]);
        assert_eq!(books.balance(ProviderKind::Whalestack, "USDC"), dec!(100));
        books.post(now, debit(dec!(40))).unwrap();
        let err = books.post(now, debit(dec!(60.0000001))).unwrap_err();
        assert_eq!(err.available, dec!(60));
        books.post(now, debit(dec!(60))).unwrap();
        assert_eq!(books.balance(ProviderKind::Whalestack, "USDC"), dec!(0));
        let kinds: Vec<_> = books.entries().iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["opening", "transfer.debit", "transfer.debit"]);
        assert_eq!(books.entries()[2].balance_after, dec!(0));
        assert_eq!(books.entries()[1].reference.as_deref(), Some("payroll"));
        assert_eq!(books.entries()[2].seq, 3);
    }
}
