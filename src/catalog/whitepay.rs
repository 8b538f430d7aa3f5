//! Whitepay: balances, exchange rates and conversions between balances.

use super::action;
use super::control::WEBHOOK_AWAIT;
use super::field::{Field, FieldType::*};
use super::kind::ProviderKind;
use super::offer::{Extra, Offer};
use super::table::{Precision, Table};

/// What Whitepay offers.
pub const TABLE: Table = Table {
    kind: ProviderKind::Whitepay,
    precision: Precision::Reported,
    // Whitepay's answers carry no personal data the docs show; the block's `redact` adds
    // fields.
    redact: &[],
    offers: &[
        Offer {
            action: &action::BALANCE_GET,
            fields: &[
                Field::optional("asset", Text),
                Field::optional("currency", Text),
            ],
            extra: Extra::Query,
        },
        Offer {
            action: &action::RATE_GET,
            fields: &[
                Field::required("source_asset", Text),
                Field::required("target_asset", Text),
                Field::optional("amount", Amount),
            ],
            extra: Extra::Ignored,
        },
        Offer {
            action: &action::SWAP,
            // A conversion converts a given amount of the source balance; there is no
            // target-amount form.
            fields: &[
                Field::required("source_asset", Text),
                Field::required("target_asset", Text),
                Field::required("source_amount", Amount),
            ],
            extra: Extra::Body,
        },
        WEBHOOK_AWAIT,
    ],
};
