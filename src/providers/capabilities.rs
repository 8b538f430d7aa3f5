//! Which provider supports which action (DESIGN.md §3), as one explicit table.
//!
//! Validation reads it so an unsupported action fails before anything runs, and each
//! adapter's `capabilities()` returns its row, so the two cannot disagree.

use super::kind::ProviderKind;

/// The actions each provider kind supports.
pub fn capabilities(kind: ProviderKind) -> &'static [&'static str] {
    match kind {
        ProviderKind::Whalestack => &[
            "balance.get",
            "beneficiary.create",
            "checkout.commit",
            "checkout.create",
            "customer.create",
            "deposit_address.create",
            "rate.get",
            "swap",
            "transfer",
            "webhook.await",
        ],
        ProviderKind::White => &[
            "charge.capture",
            "charge.create",
            "customer.create",
            "refund.create",
            "webhook.await",
        ],
        ProviderKind::Whitestones => &["checkout.create", "transfer", "webhook.await"],
        ProviderKind::Whitepay => &["balance.get", "rate.get", "swap", "webhook.await"],
    }
}

/// Whether `kind` supports `action`.
pub fn supports(kind: ProviderKind, action: &str) -> bool {
    capabilities(kind).contains(&action)
}

/// `with` fields a provider needs for an action beyond the action's own required fields
/// (WHITESTONES payouts need a recipient, for example), as the provider docs demand.
pub fn extra_required(kind: ProviderKind, action: &str) -> &'static [&'static str] {
    match (kind, action) {
        (ProviderKind::Whitestones, "transfer") => &["recipient", "currency"],
        (ProviderKind::Whitestones, "checkout.create") => &["currency"],
        (ProviderKind::Whalestack, "transfer") => &["asset", "network"],
        // `charge.billingCurrency` is mandatory.
        (ProviderKind::Whalestack, "checkout.create") => &["currency"],
        // The commit names the customer's payment network.
        (ProviderKind::Whalestack, "checkout.commit") => &["network"],
        // `GET /exchange-rate` requires `amount`.
        (ProviderKind::Whalestack, "rate.get") => &["amount"],
        // A conversion converts a given amount of the source balance.
        (ProviderKind::Whitepay, "swap") => &["source_amount"],
        // White charges need a card or a customer; the adapter checks that one is given.
        _ => &[],
    }
}
