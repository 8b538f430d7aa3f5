//! What an item moves and to whom, read from its rendered `with`: the amounts of the
//! action's money fields (`catalog`), which way each moves, and the target.
//!
//! Directions are from the account the provider block names: a transfer, payout, refund
//! or the source side of a swap goes out; a charge, checkout or the target side of a swap
//! comes in. Reads (`rate.get` takes an amount too) move nothing.

use serde_json::{Map, Value};

use super::model::{Amount, Direction, KNOWN_AFTER_APPLY};
use crate::catalog::{ActionKind, ActionSpec};
use crate::money::parse_amount;

/// The fields naming who receives a payment, the first present wins.
const TARGET_FIELDS: &[&str] = &[
    "target_account",
    "recipient",
    "customer_id",
    "customer_email",
    "email",
    "charge_id",
    "source",
];

/// Which way `field` of `action` moves money, if it does.
pub fn direction(action: &str, field: &str) -> Option<Direction> {
    match (action, field) {
        ("transfer" | "refund.create", "amount") | ("swap", "source_amount") => {
            Some(Direction::Out)
        }
        ("charge.create" | "charge.capture" | "checkout.create", "amount")
        | ("swap", "target_amount") => Some(Direction::In),
        _ => None,
    }
}

/// The known amounts in `with` (an amount known only after apply is left out, and so is
/// text that is not a decimal: the adapter refuses that request, and says why).
pub fn amounts(action: &ActionSpec, with: &Map<String, Value>) -> Vec<Amount> {
    if action.kind != ActionKind::Write {
        return Vec::new();
    }
    action
        .money
        .iter()
        .filter_map(|m| {
            let direction = direction(action.name, m.amount)?;
            let amount = text(with.get(m.amount)?)?;
            let unit = m.units.iter().find_map(|u| with.get(*u).and_then(text))?;
            if amount == KNOWN_AFTER_APPLY || unit == KNOWN_AFTER_APPLY {
                return None;
            }
            parse_amount(amount.trim()).ok()?;
            Some(Amount {
                field: m.amount.to_string(),
                unit: unit.trim().to_ascii_uppercase(),
                amount: amount.trim().to_string(),
                direction,
            })
        })
        .collect()
}

/// Whether any amount of the action is only known after apply.
pub fn has_unknown_amount(action: &ActionSpec, with: &Map<String, Value>) -> bool {
    action.kind == ActionKind::Write
        && action.money.iter().any(|m| {
            with.get(m.amount)
                .and_then(text)
                .is_some_and(|t| t == KNOWN_AFTER_APPLY)
        })
}

/// Who receives it, when the request names someone.
pub fn target(with: &Map<String, Value>) -> Option<String> {
    let v = &with[target_field(with)?];
    Some(text(v).unwrap_or_else(|| v.to_string()))
}

/// The field [`target`] reads.
pub fn target_field(with: &Map<String, Value>) -> Option<&'static str> {
    TARGET_FIELDS
        .iter()
        .copied()
        .find(|f| with.get(*f).is_some_and(|v| !v.is_null()))
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::action;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn amounts_units_directions_and_targets() {
        let transfer = action("transfer").unwrap();
        let with = map(json!({"amount": "2500.00", "asset": "eurc", "target_account": "Ada EUR"}));
        assert_eq!(
            amounts(transfer, &with),
            [Amount {
                field: "amount".into(),
                unit: "EURC".into(),
                amount: "2500.00".into(),
                direction: Direction::Out
            }]
        );
        assert_eq!(target(&with).as_deref(), Some("Ada EUR"));

        let swap = action("swap").unwrap();
        let with = map(json!({"source_asset": "USDC", "target_asset": "EURC",
            "source_amount": KNOWN_AFTER_APPLY, "target_amount": "10"}));
        let found = amounts(swap, &with);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].direction, Direction::In);
        assert!(has_unknown_amount(swap, &with));

        // Not a decimal: the adapter refuses it; reads move nothing.
        let with = map(json!({"amount": "ten", "currency": "USD"}));
        assert!(amounts(transfer, &with).is_empty());
        let rate = action("rate.get").unwrap();
        let with = map(json!({"amount": "1", "source_asset": "USDC", "target_asset": "EURC"}));
        assert!(amounts(rate, &with).is_empty());
        assert_eq!(target(&with), None);
    }
}
