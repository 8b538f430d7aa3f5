//! [`ShapeError`]: a provider's answer that an adapter cannot read into an
//! [`Output`](crate::providers::Output). The adapter reports it through `unexpected`, which
//! decides whether that leaves a write in doubt or a read retryable; this type only says what
//! was wrong with the answer.

/// What is wrong with an answer's shape. The messages name the object, as the provider does.
#[derive(Debug, thiserror::Error)]
pub enum ShapeError {
    /// The object does not deserialise into the adapter's wire type.
    #[error("{object}: {source}")]
    Object {
        /// The object (`charge`).
        object: &'static str,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The object of an envelope (`{"swap": {...}}`) does not deserialise.
    #[error("`{envelope}`: {source}")]
    Enveloped {
        /// The envelope's key.
        envelope: &'static str,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The answer lacks the envelope its object comes in (`{"swap": {...}}`).
    #[error("no `{envelope}` object")]
    NoEnvelope {
        /// The envelope's key.
        envelope: &'static str,
    },
    /// The object has no `id`.
    #[error("{}no `id`", object.map(|o| format!("{o}: ")).unwrap_or_default())]
    NoId {
        /// The object, when the message names it.
        object: Option<&'static str>,
    },
}

impl ShapeError {
    /// A decoding error for `object`, for `map_err`.
    pub(crate) fn object(object: &'static str) -> impl FnOnce(serde_json::Error) -> Self {
        move |source| Self::Object { object, source }
    }

    /// A decoding error for the object of `envelope`, for `map_err`.
    pub(crate) fn enveloped(envelope: &'static str) -> impl FnOnce(serde_json::Error) -> Self {
        move |source| Self::Enveloped { envelope, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_object() {
        let source = serde_json::from_str::<u8>("x").unwrap_err();
        let text = source.to_string();
        assert_eq!(
            ShapeError::object("charge")(source).to_string(),
            format!("charge: {text}")
        );
        let source = serde_json::from_str::<u8>("x").unwrap_err();
        assert_eq!(
            ShapeError::enveloped("swap")(source).to_string(),
            format!("`swap`: {text}")
        );
        let envelope = ShapeError::NoEnvelope { envelope: "swap" };
        assert_eq!(envelope.to_string(), "no `swap` object");
        let id = ShapeError::NoId {
            object: Some("customer"),
        };
        assert_eq!(id.to_string(), "customer: no `id`");
        assert_eq!(ShapeError::NoId { object: None }.to_string(), "no `id`");
    }
}
