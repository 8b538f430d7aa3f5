//! WHITESTONES: payment intents (`checkout.create`) and payouts (`transfer`), amounts in
//! the currency's minor units on the wire.

use super::action;
use super::control::WEBHOOK_AWAIT;
use super::field::{Field, FieldType::*};
use super::kind::ProviderKind;
use super::offer::{Extra, Offer};
use super::table::{Precision, Table};

/// What WHITESTONES offers.
pub const TABLE: Table = Table {
    kind: ProviderKind::Whitestones,
    precision: Precision::Static,
    // The recipient's bank account and contact data.
    redact: &[
        "bank_account",
        "account_number",
        "routing_number",
        "recipient.name",
        "recipient.email",
        "email",
    ],
    offers: &[
        Offer {
            action: &action::CHECKOUT_CREATE,
            fields: &[
                Field::required("amount", Amount),
                Field::required("currency", Text),
                Field::optional("description", Text),
                Field::optional("customer_email", Text),
                Field::optional("customer_name", Text),
                Field::optional("return_url", Text),
                Field::optional("cancel_url", Text),
                Field::optional("reference", Text),
                Field::optional("metadata", Mapping),
            ],
            extra: Extra::Body,
        },
        Offer {
            action: &action::TRANSFER,
            // A payout names its recipient (`{type, name, email, bank_account}`) and its
            // currency, as the provider's docs demand.
            fields: &[
                Field::required("amount", Amount),
                Field::required("recipient", Mapping),
                Field::required("currency", Text),
                Field::optional("description", Text),
                Field::optional("metadata", Mapping),
            ],
            extra: Extra::Body,
        },
        WEBHOOK_AWAIT,
    ],
};
