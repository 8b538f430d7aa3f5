//! The [`Provider`] implementation for WHITESTONES.

use std::sync::Arc;

use reqwest::header::HeaderMap;

use super::client::Client;
use super::config::{Config, DEFAULT_BASE_URL, PATHS};
use super::{intent, list, payout, webhook};
use crate::catalog::ProviderKind;
use crate::providers::clock::Clock;
use crate::providers::fields::With;
use crate::providers::http::{HttpClient, Transport, read_common_error};
use crate::providers::paths::Paths;
use crate::providers::settings;
use crate::providers::{
    Call, Event, Lookup, Marked, Outcome, Output, ParseError, Provider, ProviderError, VerifyError,
    WireRequest,
};
use crate::spec::env::ResolvedProvider;

/// The objects `poll` reads.
const OBJECTS: &[&str] = &["payment_intent", "payout"];

/// A WHITESTONES account (one provider block).
#[derive(Debug)]
pub struct Whitestones {
    client: Client,
}

impl Whitestones {
    /// The adapter for `resolved`.
    ///
    /// # Errors
    /// [`ProviderError::Config`] for a missing `api_key`/`api_secret` or a bad `paths` entry.
    pub fn new(
        resolved: &ResolvedProvider,
        http: &HttpClient,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ProviderError> {
        let config = Config::new(resolved)?;
        let paths = Paths::new(&resolved.name, PATHS, &resolved.paths)?;
        let transport = Transport::new(
            http,
            settings::transport_config(
                resolved,
                DEFAULT_BASE_URL,
                read_common_error,
                [&config.key, &config.secret, &config.webhook_secret],
                clock,
            ),
        );
        Ok(Whitestones {
            client: Client::new(transport, config, paths),
        })
    }

    fn unsupported(&self, action: &str) -> ProviderError {
        ProviderError::unsupported(self.name(), "whitestones", action)
    }
}

#[async_trait::async_trait]
impl Provider for Whitestones {
    fn name(&self) -> &str {
        self.client.transport().provider()
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Whitestones
    }

    async fn execute(&self, call: &Call<'_>) -> Result<Outcome, ProviderError> {
        let w = With::new(self.name(), call);
        match call.action {
            "checkout.create" => intent::execute(&self.client, &w, call).await,
            "transfer" => payout::execute(&self.client, &w, call).await,
            other => Err(self.unsupported(other)),
        }
    }

    async fn lookup(
        &self,
        call: &Call<'_>,
        provider_ref: Option<&str>,
    ) -> Result<Lookup, ProviderError> {
        match call.action {
            "checkout.create" => intent::lookup(&self.client, call, provider_ref).await,
            "transfer" => payout::lookup(&self.client, call, provider_ref).await,
            other => Err(self.unsupported(other)),
        }
    }

    /// `GET /payouts/sluice-preflight`: a 404 shows the key was accepted.
    async fn preflight(&self) -> Result<(), ProviderError> {
        let wire = WireRequest::new(
            "GET",
            self.client.paths().with_id("payout", "sluice-preflight"),
        );
        self.client.send(&wire).await.map(|_| ())
    }

    fn payment_object(&self, action: &str) -> Option<&'static str> {
        match action {
            "transfer" => Some("payout"),
            "checkout.create" => Some("payment_intent"),
            _ => None,
        }
    }

    /// `GET /payouts` and `GET /payment_intents`, whose `metadata.idempotency_key` is the
    /// marker (see `list`).
    async fn list_marked(&self, object: &str) -> Result<Option<Vec<Marked>>, ProviderError> {
        let c = &self.client;
        Ok(Some(match object {
            "payout" => list::marked(c, "payouts_search", payout::output).await?,
            "payment_intent" => list::marked(c, "payment_intents_search", intent::output).await?,
            _ => return Ok(None),
        }))
    }

    async fn poll(&self, object: &str, id: &str) -> Result<Output, ProviderError> {
        match object {
            "payment_intent" => intent::get(&self.client, id).await,
            "payout" => payout::get(&self.client, id).await,
            other => Err(ProviderError::unknown_object(
                self.name(),
                "whitestones",
                other,
                OBJECTS,
            )),
        }
    }

    fn preview(&self, call: &Call<'_>) -> Result<Vec<WireRequest>, ProviderError> {
        let w = With::new(self.name(), call);
        let wire = match call.action {
            "checkout.create" => intent::build(&w, call, &self.client)?,
            "transfer" => payout::build(&w, call, &self.client)?,
            other => return Err(self.unsupported(other)),
        };
        Ok(vec![wire.masked(Client::AUTH_HEADERS)])
    }

    fn verify_webhook(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
        let config = self.client.config();
        webhook::verify(
            headers,
            body,
            &config.webhook_header,
            &config.webhook_secret,
        )
    }

    fn parse_event(&self, body: &[u8]) -> Result<Event, ParseError> {
        webhook::parse(body)
    }
}
