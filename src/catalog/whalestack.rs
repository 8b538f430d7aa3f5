//! Whalestack: checkouts, customers, beneficiaries, deposit addresses, rates, swaps and
//! transfers, amounts as decimal strings on the wire.

use super::action;
use super::control::WEBHOOK_AWAIT;
use super::field::{Field, FieldType::*};
use super::kind::ProviderKind;
use super::offer::{Extra, Offer};
use super::table::{Precision, Table};

/// A customer's or beneficiary's fields: both upsert by email.
const PARTY: &[Field] = &[
    Field::required("email", Text),
    Field::optional("first_name", Text),
    Field::optional("last_name", Text),
    Field::optional("company", Text),
    Field::optional("address_line1", Text),
    Field::optional("address_line2", Text),
    Field::optional("zip", Text),
    Field::optional("city", Text),
    Field::optional("country", Text),
    Field::optional("phone", Text),
    Field::optional("tax_id", Text),
    Field::optional("note", Text),
    Field::optional("metadata", Mapping),
];

/// What Whalestack offers.
pub const TABLE: Table = Table {
    kind: ProviderKind::Whalestack,
    precision: Precision::Static,
    // The payee's bank or wallet details (`targetAccount.fields`: IBAN, BIC, account
    // numbers, addresses) and contact data.
    redact: &[
        "targetAccount.fields",
        "targetAccounts.fields",
        "iban",
        "bic",
        "swiftCode",
        "accountNumber",
        "bankAddress",
        "correspondentBankSwift",
        "correspondentBankAddress",
        "email",
        "phonenumber",
    ],
    offers: &[
        Offer {
            action: &action::BALANCE_GET,
            fields: &[Field::optional("asset", Text)],
            extra: Extra::Query,
        },
        Offer {
            action: &action::BENEFICIARY_CREATE,
            fields: PARTY,
            extra: Extra::Body,
        },
        Offer {
            action: &action::CHECKOUT_COMMIT,
            // The commit names the customer's payment network.
            fields: &[
                Field::required("checkout_id", Text),
                Field::required("asset", Text),
                Field::required("network", Text),
            ],
            extra: Extra::Body,
        },
        Offer {
            action: &action::CHECKOUT_CREATE,
            // `charge.billingCurrency` is mandatory.
            fields: &[
                Field::required("amount", Amount),
                Field::required("currency", Text),
                Field::optional("mode", Text),
                Field::optional("description", Text),
                Field::optional("customer_id", Text),
                Field::optional("settlement_asset", Text),
                Field::optional("return_url", Text),
                Field::optional("cancel_url", Text),
                Field::optional("webhook", Text),
                Field::optional("reference", Text),
                Field::optional("metadata", Mapping),
            ],
            extra: Extra::Body,
        },
        Offer {
            action: &action::CUSTOMER_CREATE,
            fields: PARTY,
            extra: Extra::Body,
        },
        Offer {
            action: &action::DEPOSIT_ADDRESS_CREATE,
            fields: &[
                Field::required("network", Text),
                Field::required("asset", Text),
                Field::optional("webhook", Text),
            ],
            extra: Extra::Body,
        },
        Offer {
            action: &action::RATE_GET,
            // `GET /exchange-rate` requires `amount`.
            fields: &[
                Field::required("source_asset", Text),
                Field::required("target_asset", Text),
                Field::required("amount", Amount),
            ],
            extra: Extra::Query,
        },
        Offer {
            action: &action::SWAP,
            fields: &[
                Field::required("source_asset", Text),
                Field::required("target_asset", Text),
                Field::optional("source_amount", Amount),
                Field::optional("target_amount", Amount),
                Field::optional("webhook", Text),
            ],
            extra: Extra::Body,
        },
        Offer {
            action: &action::TRANSFER,
            fields: &[
                Field::required("amount", Amount),
                Field::required("asset", Text),
                Field::required("network", Text),
                Field::optional("target_account", Text),
                Field::optional("amount_type", Text),
                Field::optional("note", Text),
                Field::optional("webhook", Text),
            ],
            extra: Extra::Body,
        },
        WEBHOOK_AWAIT,
    ],
};
