//! WHITESTONES answers: payment intent and payout DTOs and their status strings.
//!
//! Amounts are integers in minor units; [`super::convert`] converts them exactly.

use serde::Deserialize;

/// A payment intent's `status`. The seed documents `requires_payment_method` and, through
/// its events, `processing`, `succeeded` and `failed`; the others are the usual lifecycle
/// of a `pi_` object and are mapped explicitly rather than left to the unknown arm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum IntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    RequiresCapture,
    Processing,
    Succeeded,
    Failed,
    Canceled,
    /// A string sluice does not know.
    Unknown(String),
}

impl IntentStatus {
    pub(super) fn parse(s: &str) -> Self {
        match s {
            "requires_payment_method" => Self::RequiresPaymentMethod,
            "requires_confirmation" => Self::RequiresConfirmation,
            "requires_action" => Self::RequiresAction,
            "requires_capture" => Self::RequiresCapture,
            "processing" => Self::Processing,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "canceled" | "cancelled" => Self::Canceled,
            other => Self::Unknown(other.to_string()),
        }
    }
}

/// A payout's `status`. The seed documents `pending` and, through its events, `completed`
/// and `failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PayoutStatus {
    Pending,
    Processing,
    InTransit,
    Completed,
    Failed,
    Canceled,
    /// A string sluice does not know.
    Unknown(String),
}

impl PayoutStatus {
    pub(super) fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "processing" => Self::Processing,
            "in_transit" => Self::InTransit,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "canceled" | "cancelled" => Self::Canceled,
            other => Self::Unknown(other.to_string()),
        }
    }
}

/// A payment intent (`pi_…`).
#[derive(Debug, Deserialize)]
pub(super) struct IntentWire {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) payment_url: Option<String>,
    pub(super) created: Option<i64>,
}

/// A payout (`po_…`).
#[derive(Debug, Deserialize)]
pub(super) struct PayoutWire {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) fee: Option<i64>,
    pub(super) estimated_arrival: Option<String>,
    pub(super) created: Option<i64>,
}
