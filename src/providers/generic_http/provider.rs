//! The [`Provider`] implementation for `kind: http`.

use std::sync::Arc;

use reqwest::header::HeaderMap;

use super::answer::Reading;
use super::config::Config;
use super::request::{self, Fields};
use super::sign;
use crate::catalog::ProviderKind;
use crate::providers::clock::Clock;
use crate::providers::fields::With;
use crate::providers::http::{HttpClient, Transport, read_common_error};
use crate::providers::settings;
use crate::providers::{
    Call, Event, Lookup, Outcome, Output, ParseError, Provider, ProviderError, VerifyError,
    WireRequest,
};
use crate::spec::env::ResolvedProvider;
use crate::template::Templates;

/// One `http` provider block: an API at a base URL with its credentials.
#[derive(Debug)]
pub struct HttpApi {
    pub(super) transport: Transport,
    pub(super) config: Config,
    /// Renders `success_when` and `lookup` against answers.
    pub(super) templates: Templates,
}

impl HttpApi {
    /// The adapter for `resolved`. Nothing in an `http` block can be refused here: a step
    /// that needs the `base_url` it lacks is refused by `validate`, and by the adapter.
    pub fn new(resolved: &ResolvedProvider, http: &HttpClient, clock: Arc<dyn Clock>) -> Self {
        let config = Config::new(resolved);
        let transport = Transport::new(
            http,
            settings::transport_config(resolved, "", read_common_error, config.secrets(), clock),
        );
        HttpApi {
            transport,
            config,
            templates: Templates::new(),
        }
    }

    /// The step's request, refusing any other action.
    fn wire(&self, call: &Call<'_>) -> Result<WireRequest, ProviderError> {
        if call.action != crate::catalog::HTTP_REQUEST.name {
            return Err(ProviderError::unsupported(self.name(), "http", call.action));
        }
        let w = With::new(self.name(), call);
        request::build(&self.config, &w, call.with, call.key)
    }

    /// Sends `wire` with the block's credentials; the answer, JSON or text.
    pub(super) async fn send(
        &self,
        wire: &WireRequest,
    ) -> Result<crate::providers::http::Answer, ProviderError> {
        let auth: HeaderMap = sign::headers(&self.config, &self.transport, wire)?;
        self.transport.send_any(wire, || Ok(auth)).await
    }

    /// How this call's answers are read.
    pub(super) fn reading<'a>(
        &'a self,
        call: &'a Call<'a>,
        pointers: Option<&'a request::Pointers>,
    ) -> Reading<'a> {
        Reading {
            templates: &self.templates,
            pointers,
            success_when: call.with.get("success_when").and_then(|v| v.as_str()),
            call,
        }
    }
}

#[async_trait::async_trait]
impl Provider for HttpApi {
    fn name(&self) -> &str {
        self.transport.provider()
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Http
    }

    async fn execute(&self, call: &Call<'_>) -> Result<Outcome, ProviderError> {
        let wire = self.wire(call)?;
        let w = With::new(self.name(), call);
        let pointers = Fields::of_step(w, call.with).pointers()?;
        let answer = self.send(&wire).await?;
        let output = self
            .reading(call, pointers.as_ref())
            .output(answer)
            .map_err(|detail| self.transport.unexpected(detail, wire.is_write()))?;
        Ok(Outcome::Done(output))
    }

    async fn lookup(
        &self,
        call: &Call<'_>,
        provider_ref: Option<&str>,
    ) -> Result<Lookup, ProviderError> {
        let wire = self.wire(call)?;
        if !wire.is_write() {
            // A read changed nothing: sending it again is the lookup.
            return Ok(Lookup::Absent);
        }
        self.look_up(call, &wire, provider_ref).await
    }

    async fn poll(&self, object: &str, _id: &str) -> Result<Output, ProviderError> {
        Err(ProviderError::unknown_object(
            self.name(),
            "http",
            object,
            &[],
        ))
    }

    fn preview(&self, call: &Call<'_>) -> Result<Vec<WireRequest>, ProviderError> {
        let mut wire = self.wire(call)?;
        if wire.is_write()
            && let Some(note) = self.lookup_note(call)
        {
            wire = wire.note(note);
        }
        Ok(vec![wire.masked(&self.config.masked_headers())])
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
