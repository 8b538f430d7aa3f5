//! Why a step's `with` does not fit its provider's table: the same words whether `validate`
//! finds it in the file or an adapter meets it in a rendered call.

use thiserror::Error;

use super::kind::ProviderKind;

/// A `with` field the provider has no neutral equivalent for.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "`{kind}` has no equivalent of {} for `{action}`; send the provider's own field through `extra`",
    quoted(.fields)
)]
pub struct NoEquivalent {
    /// The provider kind.
    pub kind: ProviderKind,
    /// The action.
    pub action: String,
    /// The fields it cannot carry, in the order they were written.
    pub fields: Vec<String>,
}

fn quoted(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
