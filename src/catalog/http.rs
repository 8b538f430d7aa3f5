//! Any HTTP API: one action, `http.request`, whose fields describe the request itself.

use super::action;
use super::field::{Field, FieldType::*};
use super::kind::ProviderKind;
use super::offer::{Extra, Offer};
use super::table::{Precision, Table};

/// What an `http` provider block offers.
pub const TABLE: Table = Table {
    kind: ProviderKind::Http,
    // Amounts are whatever the API takes; a JSON number or text carries exactly its digits.
    precision: Precision::Reported,
    // An API sluice knows nothing of: the block's `redact` names its personal fields.
    redact: &[],
    offers: &[Offer {
        action: &action::HTTP_REQUEST,
        fields: &[
            Field::required("method", Text),
            Field::optional("path", Text),
            Field::optional("url", Text),
            Field::optional("query", Mapping),
            Field::optional("headers", Mapping),
            Field::optional("json", Json),
            Field::optional("form", Mapping),
            Field::optional("body", Text),
            Field::optional("output", Mapping),
            Field::optional("success_when", Text).on_answer(),
            Field::optional("lookup", Mapping).on_answer(),
        ],
        // Deep-merged into the `json` body, as for the adapters' bodies.
        extra: Extra::Body,
    }],
};
