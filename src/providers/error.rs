//! How a provider call failed, and what the engine may do about it.
//!
//! Every failure carries one [`FailureClass`]. The class decides the engine's next move:
//! retry, fail the step, reconcile with [`Provider::lookup`](super::Provider::lookup), or
//! refuse before sending. Messages never contain credentials: provider text is passed
//! through the adapter's redactor before it lands here.

use std::time::Duration;

/// A boxed error kept as a `#[source]`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What the engine may do after a failure (README, *Providers*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// Nothing was applied: send the same request again, after `after` if given.
    Retryable,
    /// The provider refused the request with its own message: never retried.
    Rejected,
    /// The request may have been applied: reconcile with `lookup` before anything else.
    InDoubt,
    /// Refused by sluice before sending (bad input, missing configuration): never sent.
    Invalid,
}

impl FailureClass {
    /// The class's name as the store and `sluice status` show it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Retryable => "retryable",
            FailureClass::Rejected => "rejected",
            FailureClass::InDoubt => "in_doubt",
            FailureClass::Invalid => "invalid",
        }
    }
}

/// A failed provider call.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Nothing was applied; the same request may be sent again.
    #[error("`{provider}` {reason}; nothing was applied, safe to retry")]
    Retryable {
        /// The provider block's name.
        provider: String,
        /// What happened, in words.
        reason: String,
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        /// How long the provider asked us to wait (`Retry-After`).
        after: Option<Duration>,
        /// The transport or decoding error underneath.
        #[source]
        source: Option<BoxError>,
    },
    /// The provider refused the request; its own message is kept verbatim (redacted).
    #[error("`{provider}` rejected the request{}: {message}", describe(.status, .code))]
    Rejected {
        /// The provider block's name.
        provider: String,
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        /// The provider's error code, when it gives one.
        code: Option<String>,
        /// The provider's message.
        message: String,
    },
    /// The request may have been applied; only a lookup can tell.
    #[error("`{provider}` may have applied the request: {reason}")]
    InDoubt {
        /// The provider block's name.
        provider: String,
        /// What happened, in words.
        reason: String,
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        /// The transport or decoding error underneath.
        #[source]
        source: Option<BoxError>,
    },
    /// The step's input cannot be turned into a request; nothing was sent.
    #[error("`{action}` for `{provider}`: {reason}")]
    Invalid {
        /// The provider block's name.
        provider: String,
        /// The action.
        action: String,
        /// What is wrong and how to fix it.
        reason: String,
        /// The error underneath (a money error, for example).
        #[source]
        source: Option<BoxError>,
    },
    /// The provider block cannot be used (missing credential, bad path override).
    #[error("provider `{provider}` is misconfigured: {reason}")]
    Config {
        /// The provider block's name.
        provider: String,
        /// What is wrong.
        reason: String,
    },
}

fn describe(status: &Option<u16>, code: &Option<String>) -> String {
    match (status, code) {
        (Some(s), Some(c)) => format!(" (HTTP {s}, `{c}`)"),
        (Some(s), None) => format!(" (HTTP {s})"),
        (None, Some(c)) => format!(" (`{c}`)"),
        (None, None) => String::new(),
    }
}

impl ProviderError {
    /// The error for an action an adapter does not send. `webhook.await` is in every
    /// capability row but runs in the engine, which confirms events with `poll`.
    pub fn unsupported(provider: &str, kind: &str, action: &str) -> Self {
        let reason = if action == "webhook.await" {
            "`webhook.await` runs in the engine (it polls the object); it is not sent to the provider"
                .to_string()
        } else {
            format!("`{kind}` has no action `{action}`")
        };
        ProviderError::Invalid {
            provider: provider.to_string(),
            action: action.to_string(),
            reason,
            source: None,
        }
    }

    /// The error for a `poll` of an object kind the adapter does not know.
    pub fn unknown_object(provider: &str, kind: &str, object: &str, known: &[&str]) -> Self {
        ProviderError::Invalid {
            provider: provider.to_string(),
            action: "poll".to_string(),
            reason: format!(
                "`{kind}` has no object `{object}` (known: {})",
                known.join(", ")
            ),
            source: None,
        }
    }

    /// The failure's class.
    pub fn class(&self) -> FailureClass {
        match self {
            ProviderError::Retryable { .. } => FailureClass::Retryable,
            ProviderError::Rejected { .. } => FailureClass::Rejected,
            ProviderError::InDoubt { .. } => FailureClass::InDoubt,
            ProviderError::Invalid { .. } | ProviderError::Config { .. } => FailureClass::Invalid,
        }
    }

    /// How long to wait before retrying, when the provider said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::Retryable { after, .. } => *after,
            _ => None,
        }
    }

    /// The HTTP status of the provider's answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ProviderError::Retryable { status, .. }
            | ProviderError::Rejected { status, .. }
            | ProviderError::InDoubt { status, .. } => *status,
            ProviderError::Invalid { .. } | ProviderError::Config { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_and_message_follow_the_variant() {
        let e = ProviderError::Rejected {
            provider: "wh".into(),
            status: Some(402),
            code: Some("card_declined".into()),
            message: "The card was declined.".into(),
        };
        assert_eq!(e.class(), FailureClass::Rejected);
        assert_eq!(
            e.to_string(),
            "`wh` rejected the request (HTTP 402, `card_declined`): The card was declined."
        );
        let e = ProviderError::Retryable {
            provider: "ws".into(),
            reason: "is rate limiting (HTTP 429)".into(),
            status: Some(429),
            after: Some(Duration::from_secs(3)),
            source: None,
        };
        assert_eq!(e.class(), FailureClass::Retryable);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(e.status(), Some(429));
        assert_eq!(FailureClass::InDoubt.as_str(), "in_doubt");
    }
}
