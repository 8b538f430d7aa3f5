//! The [`Provider`] implementation for White Payments.

use std::sync::Arc;

use reqwest::header::HeaderMap;

use super::client::Client;
use super::config::{Config, DEFAULT_BASE_URL, PATHS};
use super::{charge, customer};
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
const OBJECTS: &[&str] = &["charge", "customer"];

/// A White Payments account (one provider block).
#[derive(Debug)]
pub struct White {
    client: Client,
}

impl White {
    /// The adapter for `resolved`.
    ///
    /// # Errors
    /// [`ProviderError::Config`] for a missing `secret_key` or a bad `paths` entry.
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
                [&config.secret_key],
                clock,
            ),
        );
        Ok(White {
            client: Client::new(transport, config, paths),
        })
    }

    fn unsupported(&self, action: &str) -> ProviderError {
        ProviderError::unsupported(self.name(), "white", action)
    }
}

#[async_trait::async_trait]
impl Provider for White {
    fn name(&self) -> &str {
        self.client.transport().provider()
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::White
    }

    async fn execute(&self, call: &Call<'_>) -> Result<Outcome, ProviderError> {
        let c = &self.client;
        let w = With::new(self.name(), call);
        match call.action {
            "charge.create" => charge::send_charge(c, &charge::build_create(&w, call, c)?).await,
            "charge.capture" => charge::send_charge(c, &charge::build_capture(&w, c)?).await,
            "refund.create" => charge::refund(c, &w).await,
            "customer.create" => customer::execute(c, &w, call).await,
            other => Err(self.unsupported(other)),
        }
    }

    async fn lookup(
        &self,
        call: &Call<'_>,
        provider_ref: Option<&str>,
    ) -> Result<Lookup, ProviderError> {
        let c = &self.client;
        let w = With::new(self.name(), call);
        match call.action {
            "charge.create" => charge::lookup_create(c, call, provider_ref).await,
            "charge.capture" => charge::lookup_capture(c, &w).await,
            "refund.create" => charge::lookup_refund(c, &w).await,
            "customer.create" => customer::lookup(c, call, provider_ref).await,
            other => Err(self.unsupported(other)),
        }
    }

    /// `GET /customers/sluice-preflight`: a 404 shows the secret key was accepted.
    async fn preflight(&self) -> Result<(), ProviderError> {
        let wire = WireRequest::new(
            "GET",
            self.client.paths().with_id("customer", "sluice-preflight"),
        );
        self.client.send(&wire).await.map(|_| ())
    }

    fn payment_object(&self, action: &str) -> Option<&'static str> {
        match action {
            "charge.create" | "charge.capture" => Some("charge"),
            _ => None,
        }
    }

    /// `GET /charges`, whose descriptions carry the marker. Refunds carry none (their only
    /// text is a `reason` from a fixed list), so they are not listed.
    async fn list_marked(&self, object: &str) -> Result<Option<Vec<Marked>>, ProviderError> {
        match object {
            "charge" => Ok(Some(charge::list_marked(&self.client).await?)),
            _ => Ok(None),
        }
    }

    async fn poll(&self, object: &str, id: &str) -> Result<Output, ProviderError> {
        match object {
            "charge" => Ok(charge::get(&self.client, id).await?.0),
            "customer" => customer::get(&self.client, id).await,
            other => Err(ProviderError::unknown_object(
                self.name(),
                "white",
                other,
                OBJECTS,
            )),
        }
    }

    fn preview(&self, call: &Call<'_>) -> Result<Vec<WireRequest>, ProviderError> {
        let c = &self.client;
        let w = With::new(self.name(), call);
        let wire = match call.action {
            "charge.create" => charge::build_create(&w, call, c)?,
            "charge.capture" => charge::build_capture(&w, c)?,
            "refund.create" => charge::build_refund(&w, c)?,
            "customer.create" => customer::build(&w, call, c)?,
            other => return Err(self.unsupported(other)),
        };
        Ok(vec![wire.masked(Client::AUTH_HEADERS)])
    }

    fn verify_webhook(&self, _headers: &HeaderMap, _body: &[u8]) -> Result<(), VerifyError> {
        Err(VerifyError::Unsupported {
            provider: self.name().to_string(),
        })
    }

    fn parse_event(&self, _body: &[u8]) -> Result<Event, ParseError> {
        Err(ParseError::Unsupported {
            provider: self.name().to_string(),
        })
    }
}
