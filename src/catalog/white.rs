//! White Payments: charges, captures, refunds and customers, form-encoded, amounts in the
//! currency's minor units on the wire.

use super::action;
use super::control::WEBHOOK_AWAIT;
use super::field::{Field, FieldType::*};
use super::kind::ProviderKind;
use super::offer::{Extra, Offer};
use super::table::{Precision, Table};

/// What White offers.
pub const TABLE: Table = Table {
    kind: ProviderKind::White,
    precision: Precision::Static,
    // Card details beyond brand and last four, and the customer's contact data.
    redact: &[
        "card.name",
        "card.exp_month",
        "card.exp_year",
        "cards.name",
        "cards.exp_month",
        "cards.exp_year",
        "email",
        "ip",
        "address",
    ],
    offers: &[
        Offer {
            action: &action::CHARGE_CAPTURE,
            fields: &[
                Field::required("charge_id", Text),
                Field::optional("amount", Amount),
                Field::optional("currency", Text),
            ],
            extra: Extra::Body,
        },
        Offer {
            action: &action::CHARGE_CREATE,
            // White needs a card (`source`) or a customer; the adapter checks that one is
            // given.
            fields: &[
                Field::required("amount", Amount),
                Field::required("currency", Text),
                Field::optional("source", Card),
                Field::optional("customer_id", Text),
                Field::optional("email", Text),
                Field::optional("ip", Text),
                Field::optional("capture", Boolean),
                Field::optional("description", Text),
                Field::optional("statement_descriptor", Text),
            ],
            extra: Extra::Body,
        },
        Offer {
            action: &action::CUSTOMER_CREATE,
            fields: &[
                Field::required("email", Text),
                Field::optional("name", Text),
                Field::optional("first_name", Text),
                Field::optional("last_name", Text),
                Field::optional("description", Text),
            ],
            extra: Extra::Body,
        },
        Offer {
            action: &action::REFUND_CREATE,
            fields: &[
                Field::required("charge_id", Text),
                Field::optional("amount", Amount),
                Field::optional("currency", Text),
                Field::optional("reason", Text),
            ],
            extra: Extra::Body,
        },
        WEBHOOK_AWAIT,
    ],
};
