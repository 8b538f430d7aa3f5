//! The [`Provider`] implementation for Whalestack: dispatch by action to `actions/*`.

use std::sync::Arc;

use reqwest::header::HeaderMap;

use super::actions::party::Party;
use super::actions::two_phase::{self, SWAP, TRANSFER};
use super::actions::{balance, checkout, deposit_address, party, rate, swap, transfer};
use super::client::Client;
use super::config::{Config, DEFAULT_BASE_URL, PATHS};
use super::webhook;
use crate::catalog::ProviderKind;
use crate::providers::clock::Clock;
use crate::providers::http::{HttpClient, Transport, read_common_error};
use crate::providers::paths::Paths;
use crate::providers::settings;
use crate::providers::{
    Call, Event, Lookup, Marked, Outcome, Output, ParseError, Provider, ProviderError, VerifyError,
    WireRequest,
};
use crate::spec::env::ResolvedProvider;

/// The objects `poll` reads.
const OBJECTS: &[&str] = &[
    "beneficiary",
    "checkout",
    "customer",
    "deposit",
    "swap",
    "transfer",
];

/// A Whalestack account (one provider block).
#[derive(Debug)]
pub struct Whalestack {
    client: Client,
}

impl Whalestack {
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
        Ok(Whalestack {
            client: Client::new(transport, config, paths),
        })
    }

    fn unsupported(&self, action: &str) -> ProviderError {
        ProviderError::unsupported(self.name(), "whalestack", action)
    }
}

#[async_trait::async_trait]
impl Provider for Whalestack {
    fn name(&self) -> &str {
        self.client.transport().provider()
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Whalestack
    }

    async fn execute(&self, call: &Call<'_>) -> Result<Outcome, ProviderError> {
        let c = &self.client;
        match call.action {
            "customer.create" => party::execute(c, call, Party::Customer).await,
            "beneficiary.create" => party::execute(c, call, Party::Beneficiary).await,
            "checkout.create" => checkout::create(c, call).await,
            "checkout.commit" => checkout::commit(c, call).await,
            "deposit_address.create" => deposit_address::execute(c, call).await,
            "swap" => swap::execute(c, call).await,
            "transfer" => transfer::execute(c, call).await,
            "balance.get" => balance::execute(c, call).await,
            "rate.get" => rate::execute(c, call).await,
            other => Err(self.unsupported(other)),
        }
    }

    async fn lookup(
        &self,
        call: &Call<'_>,
        provider_ref: Option<&str>,
    ) -> Result<Lookup, ProviderError> {
        let c = &self.client;
        match call.action {
            "customer.create" => party::lookup(c, call, Party::Customer, provider_ref).await,
            "beneficiary.create" => party::lookup(c, call, Party::Beneficiary, provider_ref).await,
            "checkout.create" => checkout::lookup_create(c, call, provider_ref).await,
            "checkout.commit" => checkout::lookup_commit(c, call).await,
            "swap" => swap::lookup(c, call, provider_ref).await,
            "transfer" => transfer::lookup(c, call, provider_ref).await,
            // Reads, and a create that returns the same address again: repeating is harmless.
            "deposit_address.create" | "balance.get" | "rate.get" => Ok(Lookup::Absent),
            other => Err(self.unsupported(other)),
        }
    }

    /// `GET /auth-test`, which the docs name for checking authentication.
    async fn preflight(&self) -> Result<(), ProviderError> {
        let wire = WireRequest::new("GET", self.client.paths().get("auth_test").to_string());
        self.client.send(&wire).await.map(|_| ())
    }

    fn payment_object(&self, action: &str) -> Option<&'static str> {
        match action {
            "transfer" => Some("transfer"),
            "swap" => Some("swap"),
            "checkout.create" => Some("checkout"),
            _ => None,
        }
    }

    /// `GET /transfers`, whose notes carry the marker; the other lists do not.
    async fn list_marked(&self, object: &str) -> Result<Option<Vec<Marked>>, ProviderError> {
        match object {
            "transfer" => Ok(Some(transfer::list_marked(&self.client).await?)),
            _ => Ok(None),
        }
    }

    async fn poll(&self, object: &str, id: &str) -> Result<Output, ProviderError> {
        let c = &self.client;
        match object {
            "checkout" => Ok(checkout::get(c, id).await?.0),
            "swap" => Ok(two_phase::get(c, SWAP, id).await?.output),
            "transfer" => Ok(two_phase::get(c, TRANSFER, id).await?.output),
            "deposit" => deposit_address::get_deposit(c, id).await,
            "customer" => party::get(c, Party::Customer, id).await,
            "beneficiary" => party::get(c, Party::Beneficiary, id).await,
            other => Err(ProviderError::unknown_object(
                self.name(),
                "whalestack",
                other,
                OBJECTS,
            )),
        }
    }

    fn preview(&self, call: &Call<'_>) -> Result<Vec<WireRequest>, ProviderError> {
        let c = &self.client;
        let with = crate::providers::fields::With::new(self.name(), call);
        let wires = match call.action {
            "customer.create" => vec![party::build(&with, Party::Customer, c)?],
            "beneficiary.create" => vec![party::build(&with, Party::Beneficiary, c)?],
            "checkout.create" => checkout::preview_create(c, call)?,
            "checkout.commit" => checkout::preview_commit(c, call)?,
            "deposit_address.create" => deposit_address::preview(c, call)?,
            "swap" => swap::preview(c, call)?,
            "transfer" => transfer::preview(c, call)?,
            "balance.get" => balance::preview(c, call)?,
            "rate.get" => rate::preview(c, call)?,
            other => return Err(self.unsupported(other)),
        };
        Ok(wires
            .into_iter()
            .map(|w| w.masked(c.auth_header_names()))
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
