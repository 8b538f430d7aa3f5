//! Deciding a write whose answer was lost: the step's `lookup`, a read rendered against
//! what is known (the recorded id as `output.id`, the request, the key).
//!
//! A 2xx found the object: its output is read as the step's would be (the lookup's own
//! `output` pointers, or the step's), `success_when` included. A 404 proves it absent, so
//! the same request goes again with the same key. Anything else the API refuses, a lookup
//! that cannot be rendered (it needs an id that was never received), or no `lookup` at
//! all: only an operator can tell, and the message says what to check.

use serde_json::{Map, Value, json};

use super::provider::HttpApi;
use super::request::{self, Fields};
use crate::providers::fields::With;
use crate::providers::{Call, FailureClass, Lookup, Provider, ProviderError, WireRequest};

impl HttpApi {
    /// Looks up the write `wire` of `call`.
    ///
    /// # Errors
    /// A failure of the lookup request the engine may retry (no answer, a 5xx, a 429).
    pub(super) async fn look_up(
        &self,
        call: &Call<'_>,
        wire: &WireRequest,
        provider_ref: Option<&str>,
    ) -> Result<Lookup, ProviderError> {
        let w = With::new(self.name(), call);
        let sent = format!("`{} {}`", wire.method, wire.path);
        let Some(lookup) = Fields::of_step(w, call.with).object("lookup")? else {
            return Ok(Lookup::Unknown {
                reason: format!(
                    "the step has no `lookup`, so sluice cannot tell whether {sent} was applied; \
                     check the API for the request with idempotency key `{}`, then resolve with \
                     `--succeeded <id>`, `--retry` or `--skip`",
                    call.key
                ),
            });
        };
        let scope = json!({
            "output": provider_ref.map_or_else(Map::new, |id| {
                Map::from_iter([("id".to_string(), Value::from(id))])
            }),
            "request": call.with,
            "key": call.key.as_str(),
        });
        let rendered = match self
            .templates
            .render_value(&Value::Object(lookup.clone()), &scope)
        {
            Ok(Value::Object(map)) => map,
            Ok(_) => unreachable!("an object renders to an object"),
            Err(e) => {
                return Ok(Lookup::Unknown {
                    reason: format!(
                        "the `lookup` cannot be made ({e}), so sluice cannot tell whether {sent} \
                         was applied; check the API for the request with idempotency key `{}`, \
                         then resolve with `--succeeded <id>`, `--retry` or `--skip`",
                        call.key
                    ),
                });
            }
        };
        let fields = Fields::of_lookup(w, &rendered);
        let read = request::build_lookup(&self.config, &fields)?;
        let pointers = match fields.pointers()? {
            Some(p) => Some(p),
            None => Fields::of_step(w, call.with).pointers()?,
        };
        match self.send(&read).await {
            Ok(answer) => self
                .reading(call, pointers.as_ref())
                .output(answer)
                .map(Lookup::Found)
                .map_err(|detail| self.transport.unexpected(detail, false)),
            Err(e) if e.status() == Some(404) => Ok(Lookup::Absent),
            Err(e) if e.class() == FailureClass::Rejected => Ok(Lookup::Unknown {
                reason: format!(
                    "the lookup `{} {}` was refused ({e}), so sluice cannot tell whether {sent} \
                     was applied; check the API, then resolve with `--succeeded <id>`, `--retry` \
                     or `--skip`",
                    read.method, read.path
                ),
            }),
            Err(e) => Err(e),
        }
    }

    /// What a plan says about the lookup of a write: the request as written.
    pub(super) fn lookup_note(&self, call: &Call<'_>) -> Option<String> {
        let w = With::new(self.name(), call);
        let Ok(Some(lookup)) = Fields::of_step(w, call.with).object("lookup") else {
            return Some(
                "no `lookup`: an answer lost in doubt needs an operator to decide".to_string(),
            );
        };
        let text = |f: &str| lookup.get(f).and_then(Value::as_str);
        let method = text("method").unwrap_or("GET");
        let target = text("path").or_else(|| text("url")).unwrap_or("?");
        Some(format!(
            "in doubt, looked up with `{method} {target}`: a 2xx is found, a 404 is absent"
        ))
    }
}
