//! Whalestack's answers as the docs describe them: object DTOs and their state strings.
//!
//! The DTOs stay private to the adapter; [`super::convert`] turns them into [`Output`]s.
//! Amount fields are kept as JSON values because Whalestack sends decimal strings almost
//! everywhere but plain numbers in a few places (`minAmount: 250`); both are read from
//! their text.
//!
//! [`Output`]: crate::providers::Output

use serde::Deserialize;
use serde_json::Value;

/// A checkout's `state`, as documented for `GET /checkout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CheckoutState {
    PendingCharge,
    NewCharge,
    InProgress,
    Completed,
    Expired,
    UnresolvedGeneric,
    UnresolvedUnderpaid,
    Refunded,
    ResolvedRefunded,
    ResolvedOther,
    /// A string the docs do not list.
    Unknown(String),
}

impl CheckoutState {
    pub(super) fn parse(s: &str) -> Self {
        match s {
            "PENDING_CHARGE" => Self::PendingCharge,
            "NEW_CHARGE" => Self::NewCharge,
            "IN_PROGRESS" => Self::InProgress,
            "COMPLETED" => Self::Completed,
            "EXPIRED" => Self::Expired,
            "UNRESOLVED_GENERIC" => Self::UnresolvedGeneric,
            "UNRESOLVED_UNDERPAID" => Self::UnresolvedUnderpaid,
            "REFUNDED" => Self::Refunded,
            "RESOLVED_REFUNDED" => Self::ResolvedRefunded,
            "RESOLVED_OTHER" => Self::ResolvedOther,
            other => Self::Unknown(other.to_string()),
        }
    }
}

/// The `state` of a swap or transfer, which share one documented list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CommitState {
    PendingApiCommit,
    Processing,
    Completed,
    Failed,
    /// A string the docs do not list.
    Unknown(String),
}

impl CommitState {
    pub(super) fn parse(s: &str) -> Self {
        match s {
            "PENDING_API_COMMIT" => Self::PendingApiCommit,
            "PROCESSING" => Self::Processing,
            "COMPLETED" => Self::Completed,
            "FAILED" => Self::Failed,
            other => Self::Unknown(other.to_string()),
        }
    }
}

/// A deposit's `state`, as documented for `GET /deposit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DepositState {
    Completed,
    Failed,
    Processing,
    PendingExternal,
    /// A string the docs do not list.
    Unknown(String),
}

impl DepositState {
    pub(super) fn parse(s: &str) -> Self {
        match s {
            "COMPLETED" => Self::Completed,
            "FAILED" => Self::Failed,
            "PROCESSING" => Self::Processing,
            "PENDING_EXTERNAL" => Self::PendingExternal,
            other => Self::Unknown(other.to_string()),
        }
    }
}

/// A swap object (`{"swap": {...}}`). The commit answer names the assets
/// `sourceAssetIssuer`/`targetAssetIssuer` instead of `…AssetId`; both are read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SwapWire {
    pub(super) id: String,
    pub(super) state: String,
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) expire_time: Option<String>,
    pub(super) source_asset_id: Option<String>,
    pub(super) source_asset_issuer: Option<String>,
    pub(super) source_amount: Option<Value>,
    pub(super) target_asset_id: Option<String>,
    pub(super) target_asset_issuer: Option<String>,
    pub(super) target_amount: Option<Value>,
}

/// A transfer object (`{"transfer": {...}}`). The docs give transfers no `expireTime`;
/// it is read if present.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TransferWire {
    pub(super) id: String,
    pub(super) state: String,
    pub(super) network: Option<String>,
    pub(super) note: Option<String>,
    pub(super) expire_time: Option<String>,
    pub(super) source_amount_gross: Option<Value>,
    pub(super) source_asset: Option<String>,
    pub(super) network_fee_amount: Option<Value>,
    pub(super) network_fee_asset: Option<String>,
    pub(super) target_amount_net: Option<Value>,
    pub(super) target_asset: Option<String>,
}

/// A checkout object (`{"checkout": {...}}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CheckoutWire {
    pub(super) id: String,
    pub(super) state: String,
    pub(super) settlement_asset_id: Option<String>,
    pub(super) settlement_amount_required: Option<Value>,
    pub(super) settlement_amount_received: Option<Value>,
    pub(super) settlement_amount_fee_paid: Option<Value>,
    pub(super) source_asset_id: Option<String>,
    pub(super) source_amount_required: Option<Value>,
    pub(super) source_amount_received: Option<Value>,
    pub(super) hosted_checkout_url: Option<String>,
}

/// A deposit object (`{"deposit": {...}}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DepositWire {
    pub(super) id: String,
    pub(super) state: String,
    pub(super) network: Option<String>,
    pub(super) asset: Option<String>,
    pub(super) amount_gross: Option<Value>,
    pub(super) amount_net: Option<Value>,
    pub(super) amount_fees: Option<Value>,
}
