//! What a reviewer should look at twice: the same amount paid twice to one target, amounts
//! above `--threshold`, units a provider does not take, and more going out than a
//! `--balances` snapshot holds.
//!
//! Errors found while rendering (duplicate keys, refused requests, failing assertions) are
//! the builder's; these are warnings, computed from the finished steps. Unit checks use
//! sluice's own tables (`money::precision`): White Payments and WHITESTONES take ISO 4217
//! currencies (no ISO exponent exceeds 4, every asset sluice knows has 7 decimals);
//! Whalestack moves Stellar assets (a known asset code or a full `CODE:ISSUER` id) and bills
//! checkouts in ISO currencies; Whitepay takes any code sluice knows, its own list being
//! only available at run time. Each is reported once per step and unit, not per item.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::Value;

use super::model::{
    Decision, Direction, ItemPlan, Problem, ProblemKind, ProviderPlan, Severity, StepPlan,
};
use super::totals;
use crate::money::{MoneyError, parse_amount, precision};

/// Optional checks, from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checks {
    /// `--threshold AMOUNT` (every unit) and `--threshold UNIT=AMOUNT`.
    pub thresholds: Vec<Threshold>,
    /// `--balances FILE`: what each asset or currency has available.
    pub balances: Option<BTreeMap<String, Decimal>>,
}

/// An amount above which an item is flagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    /// The unit it applies to; every unit when None.
    pub unit: Option<String>,
    /// The limit.
    pub amount: Decimal,
}

/// A `--threshold` whose amount is not a plain decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--threshold: {0}")]
pub struct ThresholdError(#[source] pub MoneyError);

impl Threshold {
    /// Parses `5000` or `EURC=5000`.
    ///
    /// # Errors
    /// [`ThresholdError`] when the amount is not a plain decimal.
    pub fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        let (unit, amount) = match text.split_once('=') {
            Some((u, a)) => (Some(u.trim().to_ascii_uppercase()), a),
            None => (None, text),
        };
        let amount = parse_amount(amount.trim()).map_err(ThresholdError)?;
        Ok(Threshold { unit, amount })
    }
}

impl Checks {
    /// The threshold for `unit`: its own, or the general one.
    fn threshold(&self, unit: &str) -> Option<Decimal> {
        let own = self
            .thresholds
            .iter()
            .find(|t| t.unit.as_deref() == Some(unit));
        own.or_else(|| self.thresholds.iter().find(|t| t.unit.is_none()))
            .map(|t| t.amount)
    }
}

/// Why a balances snapshot was refused.
#[derive(Debug, thiserror::Error)]
pub enum BalancesError {
    /// The text is not JSON.
    #[error("not a JSON object: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The JSON is not an object.
    #[error("expected a JSON object of asset → amount")]
    NotObject,
    /// An entry is neither a string nor a number.
    #[error("`{unit}`: `{value}` is not an amount")]
    NotAmount {
        /// The entry's key.
        unit: String,
        /// Its value.
        value: Value,
    },
    /// An entry's text is not a plain decimal.
    #[error("`{unit}`: {source}")]
    Amount {
        /// The entry's key.
        unit: String,
        /// Why the amount was refused.
        #[source]
        source: MoneyError,
    },
}

/// Reads a balances snapshot: a JSON object of asset or currency → available amount, as
/// a decimal string or a number (`{"EURC": "20000.00", "USD": 150}`).
///
/// # Errors
/// [`BalancesError`], naming the entry that is not an amount.
pub fn parse_balances(text: &str) -> Result<BTreeMap<String, Decimal>, BalancesError> {
    let value: Value = serde_json::from_str(text).map_err(BalancesError::NotJson)?;
    let Value::Object(map) = value else {
        return Err(BalancesError::NotObject);
    };
    map.into_iter()
        .map(|(unit, v)| {
            let text = match &v {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                _ => return Err(BalancesError::NotAmount { unit, value: v }),
            };
            let amount = parse_amount(&text).map_err(|source| BalancesError::Amount {
                unit: unit.clone(),
                source,
            })?;
            Ok((unit.trim().to_ascii_uppercase(), amount))
        })
        .collect()
}

/// Every warning about `steps`.
pub fn check(steps: &[StepPlan], providers: &[ProviderPlan], checks: &Checks) -> Vec<Problem> {
    let mut out = Vec::new();
    for step in steps {
        let kind = step
            .provider
            .as_deref()
            .and_then(|p| providers.iter().find(|d| d.name == p))
            .map(|d| d.kind.as_str());
        duplicate_payees(step, &mut out);
        units(step, kind, &mut out);
        if !checks.thresholds.is_empty() {
            for item in moving(step) {
                for a in &item.amounts {
                    let (Some(limit), Ok(amount)) =
                        (checks.threshold(&a.unit), parse_amount(&a.amount))
                    else {
                        continue;
                    };
                    if amount > limit {
                        out.push(warning(
                            ProblemKind::Threshold,
                            item.label(&step.id),
                            format!("{} {} is above the threshold of {limit}", a.amount, a.unit),
                        ));
                    }
                }
            }
        }
    }
    if let Some(balances) = &checks.balances {
        out.extend(balance_warnings(steps, balances));
    }
    out
}

fn moving(step: &StepPlan) -> impl Iterator<Item = &ItemPlan> {
    step.items
        .iter()
        .filter(|i| matches!(i.decision, Decision::Run | Decision::AtApply))
}

fn warning(kind: ProblemKind, subject: String, message: String) -> Problem {
    Problem {
        severity: Severity::Warning,
        kind,
        subject,
        message,
    }
}

/// Two items of one step paying the same amount of the same unit to the same target.
fn duplicate_payees(step: &StepPlan, out: &mut Vec<Problem>) {
    let mut groups: BTreeMap<(String, String, Decimal), Vec<&ItemPlan>> = BTreeMap::new();
    let mut order: Vec<(String, String, Decimal)> = Vec::new();
    for item in moving(step) {
        let Some(target) = &item.target else { continue };
        for a in &item.amounts {
            let Ok(amount) = parse_amount(&a.amount) else {
                continue;
            };
            let key = (target.clone(), a.unit.clone(), amount.normalize());
            let group = groups.entry(key.clone()).or_default();
            if group.is_empty() {
                order.push(key);
            }
            group.push(item);
        }
    }
    for key in order {
        let items = &groups[&key];
        if items.len() < 2 {
            continue;
        }
        let (target, unit, _) = &key;
        let amount = items[0]
            .amounts
            .iter()
            .find(|a| &a.unit == unit)
            .map_or("", |a| a.amount.as_str());
        let names: Vec<String> = items
            .iter()
            .take(5)
            .map(|i| format!("`{}`", i.label(&step.id)))
            .collect();
        let more = items.len().saturating_sub(5);
        out.push(warning(
            ProblemKind::DuplicatePayee,
            step.id.clone(),
            format!(
                "{}{} pay {amount} {unit} to `{target}`: a duplicate row?",
                names.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        ));
    }
}

/// Units the step's provider does not take, once per unit.
fn units(step: &StepPlan, kind: Option<&str>, out: &mut Vec<Problem>) {
    let Some(kind) = kind else { return };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for item in moving(step) {
        for a in &item.amounts {
            *seen.entry(a.unit.clone()).or_default() += 1;
        }
    }
    for (unit, count) in seen {
        if let Some(why) = unit_problem(kind, &step.action, &unit) {
            out.push(warning(
                ProblemKind::UnsupportedAsset,
                step.id.clone(),
                format!("{why} ({count} item{})", if count == 1 { "" } else { "s" }),
            ));
        }
    }
}

/// Why provider `kind` may not take `unit` in `action`, if it may not.
fn unit_problem(kind: &str, action: &str, unit: &str) -> Option<String> {
    let known = precision(unit);
    let iso = unit.len() == 3
        && unit.bytes().all(|b| b.is_ascii_alphabetic())
        && known.is_some_and(|p| p <= 4);
    let stellar = known == Some(7) || unit.contains(':');
    match kind {
        "white" | "whitestones" if !iso => Some(format!(
            "`{kind}` takes ISO 4217 currencies; `{unit}` is not one"
        )),
        "whalestack" if action == "checkout.create" && !iso => Some(format!(
            "`whalestack` bills checkouts in ISO 4217 currencies; `{unit}` is not one"
        )),
        "whalestack" if action != "checkout.create" && !stellar => Some(format!(
            "`whalestack` moves Stellar assets (USDC, EURC, XLM, … or `CODE:ISSUER`); `{unit}` is not one"
        )),
        _ if known.is_none() && !unit.contains(':') => {
            Some(format!("unknown currency or asset `{unit}`"))
        }
        _ => None,
    }
}

/// Units whose outgoing total exceeds the snapshot.
fn balance_warnings(steps: &[StepPlan], balances: &BTreeMap<String, Decimal>) -> Vec<Problem> {
    let all = totals::totals(steps);
    let mut units: Vec<&str> = all
        .iter()
        .filter(|t| t.direction == Direction::Out)
        .map(|t| t.unit.as_str())
        .collect();
    units.dedup();
    units
        .into_iter()
        .filter_map(|unit| {
            let needed = totals::sum(&all, Direction::Out, unit);
            match balances.get(unit) {
                Some(available) if needed > *available => Some(warning(
                    ProblemKind::Balance,
                    unit.to_string(),
                    format!(
                        "the plan sends {needed} {unit} but the balances snapshot has {available} available (short by {})",
                        needed - available
                    ),
                )),
                Some(_) => None,
                None => Some(warning(
                    ProblemKind::Balance,
                    unit.to_string(),
                    format!("the plan sends {needed} {unit} and the balances snapshot has no `{unit}`"),
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_and_balances_parse_exactly() {
        assert_eq!(
            Threshold::parse("eurc=1000.50").unwrap(),
            Threshold {
                unit: Some("EURC".into()),
                amount: Decimal::new(100050, 2)
            }
        );
        assert!(Threshold::parse("1e3").is_err());
        let checks = Checks {
            thresholds: vec![
                Threshold::parse("10").unwrap(),
                Threshold::parse("EURC=20").unwrap(),
            ],
            balances: None,
        };
        assert_eq!(checks.threshold("EURC"), Some(Decimal::new(20, 0)));
        assert_eq!(checks.threshold("USD"), Some(Decimal::new(10, 0)));
        let b = parse_balances(r#"{"eurc": "20000.00", "USD": 150.25}"#).unwrap();
        assert_eq!(b["EURC"].to_string(), "20000.00");
        assert_eq!(b["USD"].to_string(), "150.25");
        assert!(parse_balances(r#"{"USD": "lots"}"#).is_err());
        assert!(parse_balances("[1]").is_err());
    }

    #[test]
    fn units_each_provider_takes() {
        assert_eq!(unit_problem("white", "charge.create", "AED"), None);
        assert!(unit_problem("white", "charge.create", "EURC").is_some());
        assert!(unit_problem("whitestones", "transfer", "BTC").is_some());
        assert_eq!(unit_problem("whalestack", "transfer", "EURC"), None);
        assert_eq!(unit_problem("whalestack", "transfer", "USDC:GA5Z"), None);
        assert!(unit_problem("whalestack", "transfer", "EUR").is_some());
        assert_eq!(unit_problem("whalestack", "checkout.create", "USD"), None);
        assert!(unit_problem("whalestack", "checkout.create", "USDC").is_some());
        assert_eq!(unit_problem("whitepay", "swap", "USDT"), None);
        assert_eq!(
            unit_problem("whitepay", "swap", "ZZZ").as_deref(),
            Some("unknown currency or asset `ZZZ`")
        );
    }
}
