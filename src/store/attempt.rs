//! Attempts: the audit trail of every provider call a step made (create, commit, lookup, …),
//! with the idempotency key and request digest it carried and how it ended.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::step::{StepError, StepKey};

/// Which provider call an attempt was. The engine's call driver makes only these, so the set
/// is closed: another name in the column reads as [`StoreError::Corrupt`](super::StoreError).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptOperation {
    /// A step's request, or the first phase of a two-phase write.
    Execute,
    /// A later phase of a two-phase write (a Whalestack commit).
    Commit,
    /// A lookup of what became of a request in doubt.
    Lookup,
}

impl AttemptOperation {
    /// Every operation.
    pub const ALL: [AttemptOperation; 3] = [Self::Execute, Self::Commit, Self::Lookup];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Execute => "execute",
            Self::Commit => "commit",
            Self::Lookup => "lookup",
        }
    }
}

/// How a provider call ended: answered, found by a lookup, or failed with the provider
/// error's class (the same names as [`ErrorClass`](super::ErrorClass)'s). Closed like
/// [`AttemptOperation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    /// The provider answered.
    Ok,
    /// A lookup found the object.
    Found,
    /// Nothing was applied; it is tried again.
    Retryable,
    /// The provider refused it.
    Rejected,
    /// It may have been applied.
    InDoubt,
    /// Refused by sluice before sending.
    Invalid,
}

impl AttemptOutcome {
    /// Every outcome.
    pub const ALL: [AttemptOutcome; 6] = [
        Self::Ok,
        Self::Found,
        Self::Retryable,
        Self::Rejected,
        Self::InDoubt,
        Self::Invalid,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Found => "found",
            Self::Retryable => "retryable",
            Self::Rejected => "rejected",
            Self::InDoubt => "in_doubt",
            Self::Invalid => "invalid",
        }
    }
}

/// `Display` and `FromStr` by [`as_str`](AttemptOutcome::as_str) over `ALL`, and the error
/// for a name not in it.
macro_rules! named {
    ($type:ident, $unknown:ident, $what:literal) => {
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[doc = concat!("A name that is not an [`", stringify!($type), "`].")]
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[error("unknown {what} `{0}`", what = $what)]
        pub struct $unknown(pub String);

        impl FromStr for $type {
            type Err = $unknown;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|value| value.as_str() == s)
                    .ok_or_else(|| $unknown(s.to_owned()))
            }
        }
    };
}

named!(AttemptOperation, UnknownOperation, "attempt operation");
named!(AttemptOutcome, UnknownOutcome, "attempt outcome");

/// One provider call to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttempt {
    /// The step run it was made for.
    pub key: StepKey,
    /// The step run's dispatch count when the call was made (1 for the first dispatch).
    pub attempt_no: u32,
    /// Which call.
    pub operation: AttemptOperation,
    /// The idempotency key it carried.
    pub idempotency_key: String,
    /// The digest of the request it carried, if it carried one.
    pub request_digest: Option<String>,
    /// When the call started.
    pub started_at: DateTime<Utc>,
    /// When it ended, if it did.
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// The classified error, if it failed.
    pub error: Option<StepError>,
    /// The HTTP status, if a response came back.
    pub http_status: Option<u16>,
}

/// A recorded provider call.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// Its row id; increases with recording order.
    pub id: i64,
    /// What was recorded.
    pub attempt: NewAttempt,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for operation in AttemptOperation::ALL {
            assert_eq!(operation.as_str().parse(), Ok(operation));
        }
        for outcome in AttemptOutcome::ALL {
            assert_eq!(outcome.as_str().parse(), Ok(outcome));
        }
        assert!("absent".parse::<AttemptOutcome>().is_err());
        assert_eq!(AttemptOutcome::InDoubt.to_string(), "in_doubt");
    }
}
