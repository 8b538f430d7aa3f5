//! The action catalog: the provider kinds, the actions a step can `use`, and, per adapter,
//! the actions it supports and the `with` fields each accepts.
//!
//! One table read by everything that needs it: `validate` and `plan` check a file against
//! it, the adapters refuse a rendered call against it, and `sluice schema` lists its
//! actions. It is a leaf: no I/O, and nothing from the rest of the crate, so the workflow
//! language, the planner and the adapters can all depend on it without depending on each
//! other.

mod action;
mod control;
mod field;
mod http;
mod kind;
mod offer;
mod refusal;
mod table;
mod undo;
mod whalestack;
mod white;
mod whitepay;
mod whitestones;

pub use action::{
    ACTIONS, ActionKind, ActionSpec, HTTP_METHODS, HTTP_REQUEST, HTTP_REQUEST_READ, MoneyField,
    READ_METHODS, action, action_for,
};
pub use control::CONTROL;
pub use field::{Field, FieldType, Need, Render};
pub use kind::ProviderKind;
pub use offer::{EXTRA, Extra, Offer};
pub use refusal::NoEquivalent;
pub use table::{Precision, Table};
pub use undo::{UNDOS, Undo, undo};

/// The table of provider kind `kind`.
pub fn table(kind: ProviderKind) -> &'static Table {
    match kind {
        ProviderKind::Whalestack => &whalestack::TABLE,
        ProviderKind::White => &white::TABLE,
        ProviderKind::Whitestones => &whitestones::TABLE,
        ProviderKind::Whitepay => &whitepay::TABLE,
        ProviderKind::Http => &http::TABLE,
    }
}

/// How `kind` runs `action`, if it supports it.
pub fn offer(kind: ProviderKind, action: &str) -> Option<&'static Offer> {
    table(kind).offer(action)
}

/// A control action's fields.
pub fn control(action: &str) -> Option<&'static Offer> {
    CONTROL.iter().find(|o| o.action.name == action)
}

/// Every offer of `action`: the control action's, or each supporting provider's.
pub fn offers(action: &str) -> impl Iterator<Item = &'static Offer> + '_ {
    let providers = ProviderKind::ALL.into_iter().map(table);
    control(action)
        .into_iter()
        .chain(providers.filter_map(move |t| t.offer(action)))
}

/// Every field some provider accepts for `action`, in first-seen order: what the action
/// takes when its provider is not known.
pub fn any_fields(action: &str) -> Vec<&'static str> {
    let mut fields: Vec<&'static str> = Vec::new();
    for f in offers(action).flat_map(|o| o.accepted()) {
        if !fields.contains(&f) {
            fields.push(f);
        }
    }
    fields
}

/// The fields every provider requires for `action`: what it needs whichever provider runs
/// it.
pub fn common_required(action: &str) -> Vec<&'static str> {
    let mut all = offers(action);
    let Some(first) = all.next() else {
        return Vec::new();
    };
    let rest: Vec<&Offer> = all.collect();
    first
        .required()
        .filter(|f| rest.iter().all(|o| o.required().any(|r| r == *f)))
        .collect()
}

/// Refuses fields of a call that `kind` does not accept for `action`.
///
/// # Errors
/// [`NoEquivalent`] naming every such field, in the order given.
pub fn check_fields<'f>(
    kind: ProviderKind,
    action: &str,
    fields: impl IntoIterator<Item = &'f str>,
) -> Result<(), NoEquivalent> {
    let accepts = |f: &str| offer(kind, action).is_some_and(|o| o.accepts(f));
    let refused: Vec<String> = fields
        .into_iter()
        .filter(|f| !accepts(f))
        .map(str::to_string)
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(NoEquivalent {
        kind,
        action: action.to_string(),
        fields: refused,
    })
}

#[cfg(test)]
mod tests;
