//! The identifiers the protocol keys its rows by: runs, steps and `for_each` items.
//!
//! Each is a newtype over the text the store keeps, so a step id cannot be passed where a run
//! id is expected. They dereference to `str` because most code only reads them (formats them,
//! binds them, compares them), and that should not need a conversion at every call.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text)
            }
        }

        impl From<&String> for $name {
            fn from(text: &String) -> Self {
                Self(text.clone())
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_owned())
            }
        }

        /// So that constructors taking `impl Into<…>` accept a borrowed id as well as text.
        impl From<&$name> for $name {
            fn from(id: &$name) -> Self {
                id.clone()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

text_id! {
    /// A run: a random id for `sluice run`, a deterministic one for a scheduled slot.
    RunId
}

text_id! {
    /// A step of a workflow, as written in its `id:`.
    StepId
}

impl StepId {
    /// The id of the rows that undo this step (`charge.compensate`): a `.` never appears in a
    /// step's own id, so it cannot name another step.
    pub fn undo(&self) -> StepId {
        StepId(format!("{}{UNDO_SUFFIX}", self.0))
    }

    /// The step these rows undo, when they are a step's undo rows.
    pub fn undoes(&self) -> Option<&str> {
        self.0.strip_suffix(UNDO_SUFFIX)
    }
}

/// What follows a step's id in the id of its undo rows.
pub const UNDO_SUFFIX: &str = ".compensate";

text_id! {
    /// One item of a `for_each` step (its rendered `key:`); empty for a step without items.
    ItemKey
}

// The store binds and decodes these directly on both backends; this fails to compile if the
// transparent `sqlx::Type` derive stops covering one of them.
#[cfg(test)]
mod tests {
    use super::*;

    fn codec<DB, T>()
    where
        DB: sqlx::Database,
        T: sqlx::Type<DB> + for<'q> sqlx::Encode<'q, DB> + for<'r> sqlx::Decode<'r, DB>,
    {
    }

    #[test]
    fn ids_are_text_in_both_databases_and_in_json() {
        codec::<sqlx::Sqlite, RunId>();
        codec::<sqlx::Postgres, RunId>();
        codec::<sqlx::Sqlite, StepId>();
        codec::<sqlx::Postgres, ItemKey>();
        let id = RunId::from("run_1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"run_1\"");
        assert_eq!(serde_json::from_str::<RunId>("\"run_1\"").unwrap(), id);
        assert_eq!(id, "run_1");
        assert_eq!(format!("{id}/{}", StepId::from("pay")), "run_1/pay");
    }
}
