//! The provider-neutral actions a step can `use`, and the `with` fields each takes.
//!
//! One explicit table: validation checks required and unknown fields against it, the plan
//! knows which fields are money, and the adapters map these neutral names to wire names.

/// What kind of thing an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// Runs inside sluice (`assert`, `approval`, `sleep`, `log`); no provider.
    Control,
    /// Reads from a provider; safe to repeat.
    Read,
    /// Creates an object or moves money; goes through the dispatch → send → record protocol.
    Write,
    /// Waits for a provider event (`webhook.await`).
    Await,
}

/// An amount field and the field naming its currency or asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyField {
    /// The `with` field holding the decimal amount.
    pub amount: &'static str,
    /// The `with` fields that may name its unit, the first present wins.
    pub units: &'static [&'static str],
}

/// One action's contract.
#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    /// The name written in `uses:`.
    pub name: &'static str,
    /// Control, read, write or await.
    pub kind: ActionKind,
    /// Fields that must be present.
    pub required: &'static [&'static str],
    /// Groups of which at least one field must be present.
    pub one_of: &'static [&'static [&'static str]],
    /// Fields that may be present.
    pub optional: &'static [&'static str],
    /// Amount fields and their units.
    pub money: &'static [MoneyField],
}

impl ActionSpec {
    /// Every field the action accepts.
    pub fn fields(&self) -> impl Iterator<Item = &'static str> {
        self.required
            .iter()
            .chain(self.one_of.iter().flat_map(|g| g.iter()))
            .chain(self.optional.iter())
            .copied()
    }

    /// Whether the action runs against a provider.
    pub fn needs_provider(&self) -> bool {
        self.kind != ActionKind::Control
    }
}

/// Fields every provider action accepts: `extra` is an object merged verbatim into the
/// provider request, for wire fields sluice has no neutral name for.
pub const COMMON_FIELDS: &[&str] = &["extra"];

const NONE: &[&str] = &[];

/// Every action, sorted by name.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "approval",
        kind: ActionKind::Control,
        required: NONE,
        one_of: &[],
        optional: &["message"],
        money: &[],
    },
    ActionSpec {
        name: "assert",
        kind: ActionKind::Control,
        required: &["that"],
        one_of: &[],
        optional: &["message"],
        money: &[],
    },
    ActionSpec {
        name: "balance.get",
        kind: ActionKind::Read,
        required: NONE,
        one_of: &[],
        optional: &["asset", "currency"],
        money: &[],
    },
    ActionSpec {
        name: "beneficiary.create",
        kind: ActionKind::Write,
        required: &["email"],
        one_of: &[],
        optional: &[
            "first_name",
            "last_name",
            "company",
            "address_line1",
            "address_line2",
            "zip",
            "city",
            "country",
            "phone",
            "tax_id",
            "note",
            "metadata",
        ],
        money: &[],
    },
    ActionSpec {
        name: "charge.capture",
        kind: ActionKind::Write,
        required: &["charge_id"],
        one_of: &[],
        optional: &["amount", "currency"],
        money: &[MoneyField {
            amount: "amount",
            units: &["currency"],
        }],
    },
    ActionSpec {
        name: "charge.create",
        kind: ActionKind::Write,
        required: &["amount", "currency"],
        one_of: &[],
        optional: &[
            "source",
            "customer_id",
            "email",
            "ip",
            "capture",
            "description",
            "statement_descriptor",
            "metadata",
        ],
        money: &[MoneyField {
            amount: "amount",
            units: &["currency"],
        }],
    },
    ActionSpec {
        name: "checkout.commit",
        kind: ActionKind::Write,
        required: &["checkout_id", "asset"],
        one_of: &[],
        optional: &["network"],
        money: &[],
    },
    ActionSpec {
        name: "checkout.create",
        kind: ActionKind::Write,
        required: &["amount"],
        one_of: &[],
        optional: &[
            "currency",
            "mode",
            "description",
            "customer_id",
            "customer_email",
            "customer_name",
            "settlement_asset",
            "return_url",
            "cancel_url",
            "webhook",
            "reference",
            "metadata",
        ],
        money: &[MoneyField {
            amount: "amount",
            units: &["currency"],
        }],
    },
    ActionSpec {
        name: "customer.create",
        kind: ActionKind::Write,
        required: &["email"],
        one_of: &[],
        optional: &[
            "first_name",
            "last_name",
            "name",
            "company",
            "address_line1",
            "address_line2",
            "zip",
            "city",
            "country",
            "phone",
            "tax_id",
            "note",
            "description",
            "metadata",
        ],
        money: &[],
    },
    ActionSpec {
        name: "deposit_address.create",
        kind: ActionKind::Write,
        required: &["network", "asset"],
        one_of: &[],
        optional: &["customer_id", "webhook", "note"],
        money: &[],
    },
    ActionSpec {
        name: "log",
        kind: ActionKind::Control,
        required: &["message"],
        one_of: &[],
        optional: &["level"],
        money: &[],
    },
    ActionSpec {
        name: "rate.get",
        kind: ActionKind::Read,
        required: &["source_asset", "target_asset"],
        one_of: &[],
        optional: &["amount"],
        money: &[MoneyField {
            amount: "amount",
            units: &["source_asset"],
        }],
    },
    ActionSpec {
        name: "refund.create",
        kind: ActionKind::Write,
        required: &["charge_id"],
        one_of: &[],
        optional: &["amount", "currency", "reason"],
        money: &[MoneyField {
            amount: "amount",
            units: &["currency"],
        }],
    },
    ActionSpec {
        name: "sleep",
        kind: ActionKind::Control,
        required: &["duration"],
        one_of: &[],
        optional: NONE,
        money: &[],
    },
    ActionSpec {
        name: "swap",
        kind: ActionKind::Write,
        required: &["source_asset", "target_asset"],
        one_of: &[&["source_amount", "target_amount"]],
        optional: &["webhook"],
        money: &[
            MoneyField {
                amount: "source_amount",
                units: &["source_asset"],
            },
            MoneyField {
                amount: "target_amount",
                units: &["target_asset"],
            },
        ],
    },
    ActionSpec {
        name: "transfer",
        kind: ActionKind::Write,
        required: &["amount"],
        one_of: &[&["asset", "currency"]],
        optional: &[
            "network",
            "target_account",
            "amount_type",
            "recipient",
            "description",
            "note",
            "webhook",
            "metadata",
        ],
        money: &[MoneyField {
            amount: "amount",
            units: &["asset", "currency"],
        }],
    },
    ActionSpec {
        name: "webhook.await",
        kind: ActionKind::Await,
        required: &["event"],
        one_of: &[],
        optional: &[
            "match",
            "object",
            "id",
            "timeout",
            "poll_every",
            "on_timeout",
        ],
        money: &[],
    },
];

/// The action named `name`, if there is one.
pub fn action(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_fields_are_unique() {
        let names: Vec<_> = ACTIONS.iter().map(|a| a.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        for a in ACTIONS {
            let mut fields: Vec<_> = a.fields().collect();
            let n = fields.len();
            fields.sort_unstable();
            fields.dedup();
            assert_eq!(fields.len(), n, "duplicate field in `{}`", a.name);
            for m in a.money {
                assert!(fields.contains(&m.amount), "`{}` money field", a.name);
            }
        }
        assert_eq!(action("swap").unwrap().kind, ActionKind::Write);
        assert!(action("teleport").is_none());
    }
}
