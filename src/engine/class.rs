//! How the engine names a provider failure in the store: the store may not know the adapters'
//! [`FailureClass`], so the engine translates it, here, into the step's [`ErrorClass`] and the
//! attempt's [`AttemptOutcome`], with the same names.

use crate::providers::FailureClass;
use crate::store::{AttemptOutcome, ErrorClass};

impl From<FailureClass> for ErrorClass {
    fn from(class: FailureClass) -> Self {
        match class {
            FailureClass::Retryable => Self::Retryable,
            FailureClass::Rejected => Self::Rejected,
            FailureClass::InDoubt => Self::InDoubt,
            FailureClass::Invalid => Self::Invalid,
        }
    }
}

impl From<FailureClass> for AttemptOutcome {
    fn from(class: FailureClass) -> Self {
        match class {
            FailureClass::Retryable => Self::Retryable,
            FailureClass::Rejected => Self::Rejected,
            FailureClass::InDoubt => Self::InDoubt,
            FailureClass::Invalid => Self::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_names_are_the_providers_names() {
        for class in [
            FailureClass::Retryable,
            FailureClass::Rejected,
            FailureClass::InDoubt,
            FailureClass::Invalid,
        ] {
            assert_eq!(ErrorClass::from(class).as_str(), class.as_str());
            assert_eq!(AttemptOutcome::from(class).as_str(), class.as_str());
        }
    }
}
