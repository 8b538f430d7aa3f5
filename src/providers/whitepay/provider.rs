//! The [`Provider`] implementation for Whitepay.

use std::sync::Arc;

use reqwest::header::HeaderMap;

use super::balances;
use super::client::Client;
use super::config::{Config, DEFAULT_BASE_URL, PATHS};
use super::webhook;
use crate::catalog::ProviderKind;
use crate::providers::clock::Clock;
use crate::providers::fields::With;
use crate::providers::http::{HttpClient, Transport, read_common_error};
use crate::providers::paths::Paths;
use crate::providers::settings;
use crate::providers::{
    Call, Event, Lookup, Outcome, Output, ParseError, Provider, ProviderError, VerifyError,
    WireRequest,
};
use crate::spec::env::ResolvedProvider;

/// The objects `poll` reads.
const OBJECTS: &[&str] = &["transaction"];

/// A Whitepay account (one provider block).
#[derive(Debug)]
pub struct Whitepay {
    client: Client,
}

impl Whitepay {
    /// The adapter for `resolved`.
    ///
    /// # Errors
    /// [`ProviderError::Config`] for a missing `token` or a bad `paths` entry.
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
                [&config.token, &config.webhook_secret],
                clock,
            ),
        );
        Ok(Whitepay {
            client: Client::new(transport, config, paths),
        })
    }

    fn unsupported(&self, action: &str) -> ProviderError {
        ProviderError::unsupported(self.name(), "whitepay", action)
    }
}

#[async_trait::async_trait]
impl Provider for Whitepay {
    fn name(&self) -> &str {
        self.client.transport().provider()
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Whitepay
    }

    async fn execute(&self, call: &Call<'_>) -> Result<Outcome, ProviderError> {
        let w = With::new(self.name(), call);
        match call.action {
            "balance.get" => balances::balance(&self.client, &w).await,
            "rate.get" => balances::rate(&self.client, &w).await,
            "swap" => balances::swap(&self.client, &w).await,
            other => Err(self.unsupported(other)),
        }
    }

    async fn lookup(
        &self,
        call: &Call<'_>,
        provider_ref: Option<&str>,
    ) -> Result<Lookup, ProviderError> {
        match call.action {
            "swap" => balances::lookup_swap(&self.client, call, provider_ref).await,
            "balance.get" | "rate.get" => Ok(Lookup::Absent),
            other => Err(self.unsupported(other)),
        }
    }

    /// `GET /private-api/balances`, the smallest authenticated read.
    async fn preflight(&self) -> Result<(), ProviderError> {
        self.client
            .send(&self.client.balances_wire())
            .await
            .map(|_| ())
    }

    /// A conversion's transaction, read back by id (`GET /private-api/transactions/{id}`).
    /// The seed documents no list of transactions, and a conversion carries no reference a
    /// list could be searched by, so `list_marked` keeps its default: none.
    fn payment_object(&self, action: &str) -> Option<&'static str> {
        (action == "swap").then_some("transaction")
    }

    async fn poll(&self, object: &str, id: &str) -> Result<Output, ProviderError> {
        match object {
            "transaction" => balances::transaction(&self.client, id).await,
            other => Err(ProviderError::unknown_object(
                self.name(),
                "whitepay",
                other,
                OBJECTS,
            )),
        }
    }

    fn preview(&self, call: &Call<'_>) -> Result<Vec<WireRequest>, ProviderError> {
        let w = With::new(self.name(), call);
        let wires = match call.action {
            "balance.get" => balances::preview_balance(&self.client, &w)?,
            "rate.get" => balances::preview_rate(&self.client, &w)?,
            "swap" => balances::preview_swap(&self.client, &w)?,
            other => return Err(self.unsupported(other)),
        };
        Ok(wires
            .into_iter()
            .map(|wire| wire.masked(Client::AUTH_HEADERS))
            .collect())
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
