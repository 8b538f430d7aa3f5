//! One circuit breaker per provider block: a refused credential or a provider that stopped
//! answering stops the batch once, instead of every item finding out on its own.
//!
//! - **Preflight.** Before the first write of a run and before each batch step, each provider
//!   block used is checked once with the cheapest authenticated call its adapter has
//!   ([`Provider::preflight`]), unless the block says `preflight: false`.
//! - **Credentials refused** (HTTP 401 or 403, at preflight or from any call) open the breaker
//!   for good in this process: nothing more is sent to that block.
//! - **Unreachable**: [`TRIP_AFTER`] connection failures or 5xx answers in a row across items
//!   open it too; then one probe at a time asks again after a growing backoff, and the first
//!   probe that passes closes it. After [`PROBES`] failed probes it stays open.
//!
//! While a breaker is open, an item about to be dispatched waits for it to close, or, once it
//! is open for good, is held: it stays `pending`, nothing is written or sent, and its step ends
//! `waiting` with the breaker's message, so `sluice resume` after the fix continues where the
//! run stopped. Items already dispatched or in flight finish their protocol (in doubt, they are
//! looked up as always).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, watch};
use tokio::time::Instant;

use crate::providers::{FailureClass, Provider, ProviderError};
use crate::spec::model::ProviderConfig;

/// Failures in a row that open a breaker.
pub const TRIP_AFTER: u32 = 5;

/// Probes of an open breaker before it stays open.
pub const PROBES: u32 = 5;

/// The first wait before a probe; it doubles with each failed probe.
const FIRST_PROBE: Duration = Duration::from_millis(500);

/// A preflight is not repeated for a block checked this recently.
const PREFLIGHT_FRESH: Duration = Duration::from_secs(60);

/// A provider block's credentials were refused, so nothing more is sent to it until they
/// are fixed; the message names the block, where its credentials come from, and the
/// provider's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CredentialsRefused(pub String);

/// Why a breaker is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The provider refused the credentials.
    Credentials(String),
    /// The provider did not answer, or answered 5xx.
    Unreachable(String),
}

/// What an item about to be dispatched learns from its block's breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Closed: send.
    Pass,
    /// Open for good: hold the item (leave it `pending`) with this message.
    Hold(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    /// Open; `None` while probing, `Some` once it is open for good.
    Open {
        message: String,
        settled: bool,
    },
}

/// The breaker of one provider block.
#[derive(Debug)]
pub struct Breaker {
    name: String,
    kind: &'static str,
    provider: Arc<dyn Provider>,
    /// What to tell the user to check when credentials are refused.
    check: String,
    enabled_preflight: bool,
    state: watch::Sender<State>,
    last_preflight: Mutex<Option<Instant>>,
}

impl Breaker {
    fn new(name: &str, provider: Arc<dyn Provider>, config: Option<&ProviderConfig>) -> Self {
        Breaker {
            name: name.to_owned(),
            kind: provider.kind().as_str(),
            provider,
            check: config.map_or_else(|| "its credentials".to_owned(), credential_hint),
            enabled_preflight: config.is_none_or(|c| c.preflight.unwrap_or(true)),
            state: watch::Sender::new(State::Closed { failures: 0 }),
            last_preflight: Mutex::new(None),
        }
    }

    /// Checks the block with its adapter's cheapest authenticated call, unless its block
    /// turned that off or it was checked within the last minute.
    ///
    /// # Errors
    /// [`CredentialsRefused`] when the credentials are refused (the breaker is then open).
    /// A transient failure opens the breaker for probing instead: items wait for it.
    pub async fn preflight(self: &Arc<Self>) -> Result<(), CredentialsRefused> {
        if !self.enabled_preflight {
            return Ok(());
        }
        let mut last = self.last_preflight.lock().await;
        if last.is_some_and(|at| at.elapsed() < PREFLIGHT_FRESH) {
            return self
                .settled_message()
                .map_or(Ok(()), |m| Err(CredentialsRefused(m)));
        }
        *last = Some(Instant::now());
        match self.provider.preflight().await {
            Ok(()) => {
                self.succeeded();
                Ok(())
            }
            Err(e) if refuses_credentials(&e) => {
                Err(CredentialsRefused(self.open_for_credentials(&e)))
            }
            Err(e) if is_outage(&e) => {
                tracing::warn!(provider = %self.name, error = %e, "Preflight failed; holding sends until the provider answers.");
                self.open_for_probing(&e);
                Ok(())
            }
            // It answered, and not with a refusal of the credentials.
            Err(_) => {
                self.succeeded();
                Ok(())
            }
        }
    }

    /// Whether an item may be dispatched now: waits while the breaker probes.
    pub async fn gate(self: &Arc<Self>) -> Gate {
        // Every dispatch, checkpoint and lookup asks: the closed breaker answers from a read.
        if matches!(*self.state.borrow(), State::Closed { .. }) {
            return Gate::Pass;
        }
        let mut rx = self.state.subscribe();
        loop {
            match &*rx.borrow_and_update() {
                State::Closed { .. } => return Gate::Pass,
                State::Open {
                    message,
                    settled: true,
                } => return Gate::Hold(message.clone()),
                State::Open { .. } => {}
            }
            if rx.changed().await.is_err() {
                return Gate::Hold(format!("provider `{}` is unavailable", self.name));
            }
        }
    }

    /// Counts a call's success.
    pub fn succeeded(&self) {
        // Every answer reports: only a count to reset takes the write lock.
        if !matches!(*self.state.borrow(), State::Closed { failures } if failures > 0) {
            return;
        }
        self.state.send_if_modified(|s| match s {
            State::Closed { failures } if *failures > 0 => {
                *failures = 0;
                true
            }
            _ => false,
        });
    }

    /// Counts a call's failure: refused credentials open the breaker for good; connection
    /// failures and 5xx answers count towards [`TRIP_AFTER`].
    pub fn failed(self: &Arc<Self>, error: &ProviderError) {
        if refuses_credentials(error) {
            self.open_for_credentials(error);
        } else if is_outage(error) {
            self.trip(error);
        }
    }

    fn open_for_credentials(&self, error: &ProviderError) -> String {
        let message = format!(
            "credentials for `{}` ({}) were refused: check {} ({error})",
            self.name, self.kind, self.check
        );
        let opened = self.state.send_if_modified(|s| {
            let open = State::Open {
                message: message.clone(),
                settled: true,
            };
            let changed = *s != open;
            *s = open;
            changed
        });
        if opened {
            tracing::error!(provider = %self.name, "{message}; nothing more is sent to it.");
        }
        message
    }

    /// Opens the breaker at once and starts probing (a failed preflight).
    fn open_for_probing(self: &Arc<Self>, error: &ProviderError) {
        self.count_outage(error, 1);
    }

    /// One more outage failure; the one that reaches [`TRIP_AFTER`] opens the breaker and
    /// starts probing.
    fn trip(self: &Arc<Self>, error: &ProviderError) {
        self.count_outage(error, TRIP_AFTER);
    }

    fn count_outage(self: &Arc<Self>, error: &ProviderError, trip_after: u32) {
        let message = format!(
            "provider `{}` ({}) is unavailable: {error}",
            self.name, self.kind
        );
        let opened = self.state.send_if_modified(|s| match s {
            State::Closed { failures } if *failures + 1 >= trip_after => {
                *s = State::Open {
                    message: message.clone(),
                    settled: false,
                };
                true
            }
            State::Closed { failures } => {
                *failures += 1;
                false
            }
            State::Open { .. } => false,
        });
        if opened {
            tracing::warn!(provider = %self.name, error = %error, "Provider unavailable; sends to it wait while it is probed.");
            let me = self.clone();
            tokio::spawn(async move { me.probe().await });
        }
    }

    /// Probes an open breaker until a probe passes (closed) or [`PROBES`] failed (open for
    /// good).
    async fn probe(self: Arc<Self>) {
        let mut wait = FIRST_PROBE;
        for _ in 0..PROBES {
            tokio::time::sleep(wait).await;
            match self.provider.preflight().await {
                Ok(()) => {
                    tracing::info!(provider = %self.name, "Provider answers again; sending resumes.");
                    self.state.send_replace(State::Closed { failures: 0 });
                    return;
                }
                Err(e) if refuses_credentials(&e) => {
                    self.open_for_credentials(&e);
                    return;
                }
                Err(e) if !is_outage(&e) => {
                    self.state.send_replace(State::Closed { failures: 0 });
                    return;
                }
                Err(e) => tracing::debug!(provider = %self.name, error = %e, "Probe failed."),
            }
            wait *= 2;
        }
        self.state.send_modify(|s| {
            if let State::Open { settled, .. } = s {
                *settled = true;
            }
        });
        tracing::error!(provider = %self.name, "Provider still unavailable; holding the items not yet sent.");
    }

    fn settled_message(&self) -> Option<String> {
        match &*self.state.borrow() {
            State::Open {
                message,
                settled: true,
            } => Some(message.clone()),
            _ => None,
        }
    }
}

/// The breakers of a run's provider blocks, by block name.
#[derive(Debug, Clone, Default)]
pub struct Breakers {
    by_block: HashMap<String, Arc<Breaker>>,
}

impl Breakers {
    /// A breaker per block of `providers`, configured from the workflow's `blocks`.
    pub fn new(
        providers: &HashMap<String, Arc<dyn Provider>>,
        blocks: &std::collections::BTreeMap<String, ProviderConfig>,
    ) -> Self {
        let by_block = providers
            .iter()
            .map(|(name, p)| {
                let breaker = Breaker::new(name, p.clone(), blocks.get(name));
                (name.clone(), Arc::new(breaker))
            })
            .collect();
        Breakers { by_block }
    }

    /// The breaker of block `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Breaker>> {
        self.by_block.get(name)
    }
}

/// Whether the provider refused the credentials themselves.
pub fn refuses_credentials(error: &ProviderError) -> bool {
    matches!(error.status(), Some(401 | 403))
}

/// Whether the failure says the provider is down rather than that the request was wrong:
/// no answer at all, or a 5xx.
fn is_outage(error: &ProviderError) -> bool {
    match error.status() {
        Some(status) => status >= 500,
        None => matches!(
            error.class(),
            FailureClass::Retryable | FailureClass::InDoubt
        ),
    }
}

/// The environment variables a block's credentials come from (`${NAME}` or `${NAME:-…}`),
/// as the thing to check: "`WHALESTACK_API_SECRET`", or its credential fields when they are
/// written literally.
pub fn credential_hint(config: &ProviderConfig) -> String {
    let fields = [
        &config.api_key,
        &config.api_secret,
        &config.secret_key,
        &config.token,
    ];
    let mut names: Vec<String> = Vec::new();
    for text in fields.into_iter().flatten() {
        let mut rest = text.as_str();
        while let Some(at) = rest.find("${") {
            rest = &rest[at + 2..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end > 0 {
                names.push(format!("`{}`", &rest[..end]));
            }
        }
    }
    if names.is_empty() {
        "its credentials".to_owned()
    } else {
        names.join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_names_the_environment_variables_of_the_credentials() {
        let config: ProviderConfig = serde_yaml::from_str(
            "kind: whalestack\napi_key: ${WS_KEY:-k}\napi_secret: \"${WHALESTACK_API_SECRET}\"\n",
        )
        .unwrap();
        assert_eq!(
            credential_hint(&config),
            "`WS_KEY` and `WHALESTACK_API_SECRET`"
        );
        let literal: ProviderConfig =
            serde_yaml::from_str("kind: white\nsecret_key: sk_test\n").unwrap();
        assert_eq!(credential_hint(&literal), "its credentials");
    }
}
