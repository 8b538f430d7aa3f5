//! A notification as an email, over SMTP with `lettre`: `smtp://…?tls=required` (STARTTLS)
//! or `smtps://…` (TLS), rustls only. The subject is the webhook's `text`; the body adds the
//! same JSON the webhook carries. Nothing secret goes in, and the server's URL (which may
//! hold a password) is left out of every error.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

use super::target::resolved;
use crate::spec::env::EnvError;
use crate::spec::{EmailTarget, Secret};

/// How long one delivery attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The sender when the rule names none.
const FROM: &str = "sluice@localhost";

/// An email target, resolved from the environment.
#[derive(Debug)]
pub struct Email {
    to: Vec<String>,
    from: String,
    smtp: Secret,
}

/// Why an email was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// An address or the SMTP URL does not parse (the URL is not shown).
    #[error("email not sent: {0}")]
    Invalid(String),
    /// The server did not take it.
    #[error("email not delivered: {}", transport(.0))]
    Smtp(#[source] lettre::transport::smtp::Error),
}

impl Email {
    /// Resolves `target`'s `${VAR}`s with this process's environment.
    ///
    /// # Errors
    /// An unset variable.
    pub fn resolve(target: &EmailTarget) -> Result<Email, EnvError> {
        Ok(Email {
            to: target
                .to
                .iter()
                .map(|to| resolved(to, "notify.email.to"))
                .collect::<Result<_, _>>()?,
            from: target
                .from
                .as_deref()
                .map_or(Ok(FROM.to_owned()), |f| resolved(f, "notify.email.from"))?,
            smtp: Secret::new(resolved(&target.smtp, "notify.email.smtp")?),
        })
    }

    /// Sends the notification whose webhook body is `body`.
    ///
    /// # Errors
    /// A bad address or URL, or a server that did not take it.
    pub async fn send(&self, body: &Value) -> Result<(), EmailError> {
        let mailbox = |a: &str| {
            a.parse::<Mailbox>()
                .map_err(|_| EmailError::Invalid(format!("`{a}` is not an email address")))
        };
        let mut message = Message::builder()
            .from(mailbox(&self.from)?)
            .subject(body["text"].as_str().unwrap_or("sluice"))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            message = message.to(mailbox(to)?);
        }
        let pretty = serde_json::to_string_pretty(body).unwrap_or_default();
        let text = format!(
            "{}\n\n{pretty}\n",
            body["text"].as_str().unwrap_or_default()
        );
        let message = message
            .body(text)
            .map_err(|e| EmailError::Invalid(e.to_string()))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(self.smtp.expose())
            .map_err(|_| EmailError::Invalid("the `smtp` URL does not parse".into()))?
            .timeout(Some(TIMEOUT))
            .build();
        transport.send(message).await.map_err(EmailError::Smtp)?;
        Ok(())
    }
}

/// What went wrong, in words that cannot carry the server's URL.
fn transport(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("the server answered {code}"),
        None if e.is_timeout() => "timed out".into(),
        None => "cannot talk to the server".into(),
    }
}
