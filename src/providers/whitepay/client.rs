//! Authenticated requests to Whitepay (`Authorization: Bearer TOKEN`) and the balance
//! lookups every action starts with: currencies are named by ticker in workflows, and the
//! balance id a conversion is posted to is read from `GET /private-api/balances`.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::Value;

use super::config::Config;
use super::wire::{BalanceRatesWire, BalanceWire, BalancesWire};
use crate::providers::error::ProviderError;
use crate::providers::fields::With;
use crate::providers::http::Transport;
use crate::providers::paths::Paths;
use crate::providers::preview::WireRequest;

/// A Whitepay account.
#[derive(Debug)]
pub(super) struct Client {
    transport: Transport,
    config: Config,
    paths: Paths,
}

impl Client {
    /// The headers a preview shows masked.
    pub(super) const AUTH_HEADERS: &'static [&'static str] = &["Authorization"];

    /// A client sending through `transport`.
    pub(super) fn new(transport: Transport, config: Config, paths: Paths) -> Self {
        Client {
            transport,
            config,
            paths,
        }
    }

    /// The transport.
    pub(super) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The resolved paths.
    pub(super) fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The provider's settings.
    pub(super) fn config(&self) -> &Config {
        &self.config
    }

    /// Sends `wire` with the bearer token.
    ///
    /// # Errors
    /// A classified [`ProviderError`].
    pub(super) async fn send(&self, wire: &WireRequest) -> Result<Value, ProviderError> {
        self.transport.send(wire, || self.auth_headers()).await
    }

    fn auth_headers(&self) -> Result<HeaderMap, ProviderError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.config.token.expose()))
            .map_err(|_| ProviderError::Config {
                provider: self.transport.provider().to_string(),
                reason: "`token` cannot be sent in a header".into(),
            })?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        Ok(headers)
    }

    /// `GET /private-api/balances`.
    pub(super) fn balances_wire(&self) -> WireRequest {
        WireRequest::new("GET", self.paths.get("balances"))
    }

    /// Every balance of the account.
    ///
    /// # Errors
    /// A classified [`ProviderError`].
    pub(super) async fn balances(&self) -> Result<Vec<BalanceWire>, ProviderError> {
        let answer = self.send(&self.balances_wire()).await?;
        serde_json::from_value::<BalancesWire>(answer)
            .map(|b| b.balances)
            .map_err(|e| self.transport.unexpected(format!("balances: {e}"), false))
    }

    /// The balance in `ticker`.
    ///
    /// # Errors
    /// [`ProviderError::Invalid`] (naming the tickers there are) when the account has none.
    pub(super) async fn balance(
        &self,
        w: &With<'_>,
        field: &str,
        ticker: &str,
    ) -> Result<BalanceWire, ProviderError> {
        let balances = self.balances().await?;
        let tickers: Vec<String> = balances
            .iter()
            .map(|b| format!("`{}`", b.currency.ticker))
            .collect();
        balances
            .into_iter()
            .find(|b| b.currency.ticker.eq_ignore_ascii_case(ticker))
            .ok_or_else(|| {
                w.invalid(format!(
                    "`{field}`: the account has no `{ticker}` balance (it has {})",
                    tickers.join(", ")
                ))
            })
    }

    /// `GET /private-api/balances/{id}`: the balance with its conversion rates.
    ///
    /// # Errors
    /// A classified [`ProviderError`].
    pub(super) async fn rates(
        &self,
        balance_id: &str,
    ) -> Result<(BalanceRatesWire, Value), ProviderError> {
        let answer = self
            .send(&WireRequest::new(
                "GET",
                self.paths.with_id("balance", balance_id),
            ))
            .await?;
        let inner = answer.get("balance").cloned().unwrap_or(Value::Null);
        let rates = serde_json::from_value::<BalanceRatesWire>(inner)
            .map_err(|e| self.transport.unexpected(format!("balance: {e}"), false))?;
        Ok((rates, answer))
    }
}

/// A client for unit tests of request building (nothing is sent).
#[cfg(test)]
pub(super) fn test_client() -> Client {
    use crate::spec::Secret;

    Client::new(
        crate::providers::http::test_transport("wp"),
        Config {
            token: Secret::new("wp_token"),
            webhook_secret: Secret::new("wp_token"),
            webhook_header: super::config::WEBHOOK_HEADER.into(),
        },
        Paths::new("wp", super::config::PATHS, &Default::default()).expect("paths"),
    )
}
