//! Totals of a run's payments per asset (or currency) and state, in exact decimals.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::payment::{Payment, PaymentState};

/// The payments of one asset in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Total {
    /// The asset or currency as sluice sent it (`""` when the payment has none yet).
    pub unit: String,
    /// The state.
    pub state: PaymentState,
    /// How many payments.
    pub count: u64,
    /// Their amounts added up exactly (those without an amount count as zero).
    pub amount: Decimal,
}

/// One total per asset and state present, by asset then state.
pub fn totals(payments: &[Payment]) -> Vec<Total> {
    let mut sums: BTreeMap<(String, PaymentState), (u64, Decimal)> = BTreeMap::new();
    for p in payments {
        let unit = p.unit.clone().unwrap_or_default();
        let entry = sums.entry((unit, p.state)).or_default();
        entry.0 += 1;
        entry.1 += p.amount.unwrap_or_default();
    }
    sums.into_iter()
        .map(|((unit, state), (count, amount))| Total {
            unit,
            state,
            count,
            amount,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::Utc;

    use super::*;

    fn paid(unit: &str, amount: &str, state: PaymentState) -> Payment {
        Payment {
            run_id: "run_1".into(),
            step_id: "pay".into(),
            item_key: "k".into(),
            provider: "ws".into(),
            action: "transfer",
            amount: Some(Decimal::from_str(amount).unwrap()),
            unit: Some(unit.into()),
            provider_ref: None,
            idempotency_key: None,
            state,
            provider_state: None,
            reported_amount: None,
            reported_unit: None,
            fee: None,
            sent_at: None,
            updated_at: Utc::now(),
            operator_actions: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn totals_add_exactly_per_asset_and_state() {
        let rows = [
            paid("EURC", "0.10", PaymentState::Committed),
            paid("EURC", "0.20", PaymentState::Committed),
            paid("EURC", "5", PaymentState::Failed),
            paid("AED", "1.005", PaymentState::Committed),
        ];
        let t = totals(&rows);
        let shown: Vec<(String, &str, u64, String)> = t
            .iter()
            .map(|t| {
                (
                    t.unit.clone(),
                    t.state.as_str(),
                    t.count,
                    t.amount.to_string(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("AED".into(), "committed", 1, "1.005".into()),
                ("EURC".into(), "committed", 2, "0.30".into()),
                ("EURC".into(), "failed", 1, "5".into()),
            ]
        );
    }
}
