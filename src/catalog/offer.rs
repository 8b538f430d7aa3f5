//! One action as one provider (or sluice itself) runs it: the fields it accepts and what
//! it does with `extra`.

use serde_json::Value;

use super::action::ActionSpec;
use super::field::Field;

/// The name of the passthrough field: an object carrying the provider's own wire fields.
pub const EXTRA: &str = "extra";

/// What a provider does with `extra`, the passthrough for wire fields sluice has no
/// neutral name for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    /// Not accepted: the action sends no request (control actions).
    Refused,
    /// Deep-merged into the request body: objects key by key, anything else replaces.
    Body,
    /// Each entry sets a query parameter; entries must be text, numbers or booleans.
    Query,
    /// Accepted and unused: the action is not sent to the provider (`webhook.await` polls).
    Ignored,
}

impl Extra {
    /// Whether `extra`, written as it is (no template produced it), is something this rule
    /// can pass on.
    pub fn admits(self, value: &Value) -> bool {
        let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
        match (self, value) {
            (_, Value::Null) | (Extra::Refused | Extra::Ignored, _) => true,
            (Extra::Body, v) => v.is_object(),
            (Extra::Query, Value::Object(m)) => m.values().all(scalar),
            (Extra::Query, _) => false,
        }
    }

    /// What this rule needs `extra` to be.
    pub fn expected(self) -> &'static str {
        match self {
            Extra::Query => "a mapping of text, numbers or booleans (query parameters)",
            Extra::Body | Extra::Refused | Extra::Ignored => "a mapping",
        }
    }
}

/// One supported action and the fields it accepts.
#[derive(Debug, Clone, Copy)]
pub struct Offer {
    /// The action.
    pub action: &'static ActionSpec,
    /// Every neutral field accepted, required ones first, in the order diagnostics list them.
    pub fields: &'static [Field],
    /// What happens to `extra`.
    pub extra: Extra,
}

impl Offer {
    /// The fields that must be present.
    pub fn required(&self) -> impl Iterator<Item = &'static str> {
        self.fields
            .iter()
            .filter(|f| f.is_required())
            .map(|f| f.name)
    }

    /// Every field name accepted, `extra` included when it is.
    pub fn accepted(&self) -> impl Iterator<Item = &'static str> {
        let extra = (self.extra != Extra::Refused).then_some(EXTRA);
        self.fields.iter().map(|f| f.name).chain(extra)
    }

    /// Whether `field` is accepted.
    pub fn accepts(&self, field: &str) -> bool {
        self.accepted().any(|f| f == field)
    }

    /// The field named `name`, if accepted.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}
