//! The provider-neutral actions a step can `use`: what each is and which fields carry money.
//!
//! Which fields an action takes depends on the provider that runs it, so the fields live in
//! each adapter's table ([`super::Offer`]); this file holds only what is true of the action
//! whichever provider runs it.

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

/// One action, as every provider understands it.
#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    /// The name written in `uses:`.
    pub name: &'static str,
    /// Control, read, write or await.
    pub kind: ActionKind,
    /// Groups of which at least one field must be present, whichever provider runs it (a
    /// transfer names its asset or its currency).
    pub one_of: &'static [&'static [&'static str]],
    /// Amount fields and their units.
    pub money: &'static [MoneyField],
}

impl ActionSpec {
    /// Whether the action runs against a provider.
    pub fn needs_provider(&self) -> bool {
        self.kind != ActionKind::Control
    }

    /// The money field whose amount is `field`, if it is one.
    pub fn money_field(&self, field: &str) -> Option<&'static MoneyField> {
        self.money.iter().find(|m| m.amount == field)
    }
}

const fn spec(name: &'static str, kind: ActionKind) -> ActionSpec {
    ActionSpec {
        name,
        kind,
        one_of: &[],
        money: &[],
    }
}

const fn with_money(spec: ActionSpec, money: &'static [MoneyField]) -> ActionSpec {
    ActionSpec { money, ..spec }
}

/// An `amount` whose unit is named by `currency`.
const AMOUNT_IN_CURRENCY: &[MoneyField] = &[MoneyField {
    amount: "amount",
    units: &["currency"],
}];

/// `approval`: waits for an operator.
pub const APPROVAL: ActionSpec = spec("approval", ActionKind::Control);
/// `assert`: stops the run when a condition is false.
pub const ASSERT: ActionSpec = spec("assert", ActionKind::Control);
/// `balance.get`: reads a balance.
pub const BALANCE_GET: ActionSpec = spec("balance.get", ActionKind::Read);
/// `beneficiary.create`: registers someone to pay.
pub const BENEFICIARY_CREATE: ActionSpec = spec("beneficiary.create", ActionKind::Write);
/// `charge.capture`: captures an authorised charge.
pub const CHARGE_CAPTURE: ActionSpec = with_money(
    spec("charge.capture", ActionKind::Write),
    AMOUNT_IN_CURRENCY,
);
/// `charge.create`: charges a card or a customer.
pub const CHARGE_CREATE: ActionSpec =
    with_money(spec("charge.create", ActionKind::Write), AMOUNT_IN_CURRENCY);
/// `checkout.commit`: commits a checkout to a payment network.
pub const CHECKOUT_COMMIT: ActionSpec = spec("checkout.commit", ActionKind::Write);
/// `checkout.create`: asks a customer to pay.
pub const CHECKOUT_CREATE: ActionSpec = with_money(
    spec("checkout.create", ActionKind::Write),
    AMOUNT_IN_CURRENCY,
);
/// `customer.create`: registers someone who pays.
pub const CUSTOMER_CREATE: ActionSpec = spec("customer.create", ActionKind::Write);
/// `deposit_address.create`: opens an address to receive funds.
pub const DEPOSIT_ADDRESS_CREATE: ActionSpec = spec("deposit_address.create", ActionKind::Write);
/// `http.request`: one request to any HTTP API. A write under the full protocol unless its
/// method reads ([`HTTP_REQUEST_READ`]).
pub const HTTP_REQUEST: ActionSpec = spec("http.request", ActionKind::Write);

/// `http.request` with a `GET` or `HEAD` method: a read, sent again freely. Not in
/// [`ACTIONS`]: the planner picks it for such a step ([`action_for`]).
pub const HTTP_REQUEST_READ: ActionSpec = spec("http.request", ActionKind::Read);

/// `log`: writes a line to the run's record.
pub const LOG: ActionSpec = spec("log", ActionKind::Control);
/// `rate.get`: reads an exchange rate.
pub const RATE_GET: ActionSpec = with_money(
    spec("rate.get", ActionKind::Read),
    &[MoneyField {
        amount: "amount",
        units: &["source_asset"],
    }],
);
/// `refund.create`: refunds a charge, whole or in part.
pub const REFUND_CREATE: ActionSpec =
    with_money(spec("refund.create", ActionKind::Write), AMOUNT_IN_CURRENCY);
/// `sleep`: waits for a while.
pub const SLEEP: ActionSpec = spec("sleep", ActionKind::Control);
/// `swap`: converts one asset into another; the amount is fixed on one side.
pub const SWAP: ActionSpec = ActionSpec {
    one_of: &[&["source_amount", "target_amount"]],
    ..with_money(
        spec("swap", ActionKind::Write),
        &[
            MoneyField {
                amount: "source_amount",
                units: &["source_asset"],
            },
            MoneyField {
                amount: "target_amount",
                units: &["target_asset"],
            },
        ],
    )
};
/// `transfer`: pays out, in an asset or a currency.
pub const TRANSFER: ActionSpec = ActionSpec {
    one_of: &[&["asset", "currency"]],
    ..with_money(
        spec("transfer", ActionKind::Write),
        &[MoneyField {
            amount: "amount",
            units: &["asset", "currency"],
        }],
    )
};
/// `webhook.await`: waits for a provider event.
pub const WEBHOOK_AWAIT: ActionSpec = spec("webhook.await", ActionKind::Await);

/// Every action, sorted by name.
pub const ACTIONS: &[ActionSpec] = &[
    APPROVAL,
    ASSERT,
    BALANCE_GET,
    BENEFICIARY_CREATE,
    CHARGE_CAPTURE,
    CHARGE_CREATE,
    CHECKOUT_COMMIT,
    CHECKOUT_CREATE,
    CUSTOMER_CREATE,
    DEPOSIT_ADDRESS_CREATE,
    HTTP_REQUEST,
    LOG,
    RATE_GET,
    REFUND_CREATE,
    SLEEP,
    SWAP,
    TRANSFER,
    WEBHOOK_AWAIT,
];

/// The action named `name`, if there is one.
pub fn action(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// The methods `http.request` sends.
pub const HTTP_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// The HTTP methods that only read: an `http.request` with one of them is a read.
pub const READ_METHODS: &[&str] = &["GET", "HEAD"];

/// The action a step named `name` runs, given its `method` as written: the action itself,
/// except that an `http.request` whose method reads is [`HTTP_REQUEST_READ`], so the engine
/// sends it as a read and the plan counts it as one.
pub fn action_for(name: &str, method: Option<&str>) -> Option<&'static ActionSpec> {
    let reads = method.is_some_and(|m| READ_METHODS.contains(&m));
    match action(name)? {
        a if a.name == HTTP_REQUEST.name && reads => Some(&HTTP_REQUEST_READ),
        a => Some(a),
    }
}
