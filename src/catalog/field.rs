//! One `with` field an adapter accepts: its neutral name, whether it must be there, and
//! what it holds.

use serde_json::Value;

/// What a field holds once its templates are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text; numbers and booleans are read as their text.
    Text,
    /// A decimal amount of money, read exactly from its text (never through a float).
    Amount,
    /// `true` or `false`.
    Boolean,
    /// A mapping, passed on as it is (`metadata`, `recipient`).
    Mapping,
    /// A duration such as `30s` or `2h`.
    Duration,
    /// Any JSON value, sent as a JSON body (`http.request`'s `json`).
    Json,
    /// A list of names (an approval's `approvers`).
    List,
    /// A card: a token (text) or the card's details (a mapping), as White's `source` takes.
    Card,
}

impl FieldType {
    /// Whether `value`, written as it is (no template produced it), has the shape the
    /// adapters read this type from; `null` counts as absent.
    pub fn admits(self, value: &Value) -> bool {
        match (self, value) {
            (_, Value::Null) => true,
            (FieldType::Mapping, v) => v.is_object(),
            (FieldType::Json, _) => true,
            (FieldType::List, v) => v.is_array(),
            (FieldType::Card, v) => !v.is_array(),
            (FieldType::Boolean, Value::Bool(_)) => true,
            (FieldType::Boolean, Value::String(s)) => s == "true" || s == "false",
            (FieldType::Boolean, _) => false,
            (FieldType::Text | FieldType::Amount | FieldType::Duration, v) => {
                !(v.is_object() || v.is_array())
            }
        }
    }

    /// What the type needs, in the words the adapters refuse a value with.
    pub fn expected(self) -> &'static str {
        match self {
            FieldType::Text | FieldType::Amount | FieldType::Duration => "text",
            FieldType::Boolean => "`true` or `false`",
            FieldType::Mapping => "a mapping",
            FieldType::Json => "JSON",
            FieldType::List => "a list",
            FieldType::Card => "a card token or a mapping of card details",
        }
    }
}

/// When a field's templates are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// By the engine, before the call, against the step's context (`inputs`, `steps`, the
    /// item).
    BeforeCall,
    /// By the adapter, against the provider's answer (`output`, `status`, `request`, `key`):
    /// `http.request`'s `success_when` and `lookup`. The engine passes them on as written.
    OnAnswer,
}

/// Whether a field must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The provider cannot do the action without it.
    Required,
    /// The provider carries it when it is given.
    Optional,
}

/// One accepted `with` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The neutral name written under `with:`.
    pub name: &'static str,
    /// Required or optional.
    pub need: Need,
    /// What it holds.
    pub ty: FieldType,
    /// When its templates are rendered.
    pub render: Render,
}

impl Field {
    /// A field the action cannot do without.
    pub const fn required(name: &'static str, ty: FieldType) -> Field {
        Field {
            name,
            need: Need::Required,
            ty,
            render: Render::BeforeCall,
        }
    }

    /// A field that may be left out.
    pub const fn optional(name: &'static str, ty: FieldType) -> Field {
        Field {
            name,
            need: Need::Optional,
            ty,
            render: Render::BeforeCall,
        }
    }

    /// The same field, its templates rendered against the provider's answer.
    pub const fn on_answer(self) -> Field {
        Field {
            render: Render::OnAnswer,
            ..self
        }
    }

    /// Whether the field must be present.
    pub fn is_required(&self) -> bool {
        self.need == Need::Required
    }
}
