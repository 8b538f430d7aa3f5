//! The create → checkpoint → commit protocol of Whalestack swaps and transfers.
//!
//! `POST /swap` (or `/transfer`) returns a quote in `PENDING_API_COMMIT`; nothing moves
//! until `POST /swap/commit`. The first `execute` creates and returns
//! [`Outcome::Continue`] with a checkpoint `{"object", "id", "expire_time"}`, which the
//! engine stores before calling `execute` again. That second call commits, unless the quote
//! expired by the provider's clock (`quote_expired`: nothing moved, and a new quote is a new
//! decision): two round trips per transfer.
//!
//! It commits without reading the object first because the engine calls it only when the
//! object is known to wait for its commit: right after its create and checkpoint in the same
//! process, or after a [`lookup`](found) found it `PENDING_API_COMMIT` — which every resume,
//! takeover, in-doubt and operator path does first (`engine::protocol`). A commit of an object
//! already committed is refused (HTTP 400), and the engine reads the object back before that
//! refusal counts. So a crash anywhere, including between the commit and its answer, resumes
//! without a second commit.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::providers::fields::With;
use crate::providers::shape::ShapeError;
use crate::providers::whalestack::client::Client;
use crate::providers::whalestack::convert::{self, TwoPhase};
use crate::providers::whalestack::wire::CommitState;
use crate::providers::{Call, Lookup, Outcome, Output, ProviderError, WireRequest};

/// A two-phase object kind.
#[derive(Debug, Clone, Copy)]
pub(in crate::providers::whalestack) struct Kind {
    /// `swap` or `transfer`: the checkpoint's `object`, the create and GET operation.
    pub(in crate::providers::whalestack) object: &'static str,
    commit_op: &'static str,
    id_field: &'static str,
    convert: fn(&Value) -> Result<TwoPhase, ShapeError>,
}

/// Swaps.
pub(in crate::providers::whalestack) const SWAP: Kind = Kind {
    object: "swap",
    commit_op: "swap_commit",
    id_field: "swapId",
    convert: convert::swap,
};

/// Transfers.
pub(in crate::providers::whalestack) const TRANSFER: Kind = Kind {
    object: "transfer",
    commit_op: "transfer_commit",
    id_field: "transferId",
    convert: convert::transfer,
};

impl Kind {
    fn read(self, client: &Client, answer: &Value, write: bool) -> Result<TwoPhase, ProviderError> {
        (self.convert)(answer).map_err(|d| client.transport().unexpected(d, write))
    }

    fn checkpoint(self, tp: &TwoPhase) -> Value {
        json!({"object": self.object, "id": tp.output.id, "expire_time": tp.expire_time})
    }
}

/// `POST /swap/commit` (or `/transfer/commit`) for `id`.
pub(in crate::providers::whalestack) fn commit_wire(
    client: &Client,
    kind: Kind,
    id: &str,
) -> WireRequest {
    WireRequest::new("POST", client.paths().get(kind.commit_op)).json(&json!({ kind.id_field: id }))
}

/// The outcome of a create's answer: continue to the commit, done if the object is already
/// past it, and in doubt for a state the docs do not list (the engine looks it up).
pub(in crate::providers::whalestack) fn created(
    client: &Client,
    kind: Kind,
    answer: &Value,
) -> Result<Outcome, ProviderError> {
    let tp = kind.read(client, answer, true)?;
    match tp.state {
        CommitState::PendingApiCommit => Ok(Outcome::Continue {
            checkpoint: kind.checkpoint(&tp),
            output: tp.output,
        }),
        CommitState::Processing | CommitState::Completed | CommitState::Failed => {
            Ok(Outcome::Done(tp.output))
        }
        CommitState::Unknown(state) => Err(unknown_state(client, kind, &tp.output, &state)),
    }
}

/// A state the docs do not list: in doubt, never committed on a guess.
fn unknown_state(client: &Client, kind: Kind, output: &Output, state: &str) -> ProviderError {
    ProviderError::InDoubt {
        provider: client.transport().provider().to_string(),
        reason: format!(
            "{} `{}` is in state `{state}`, which sluice does not know; it was not committed",
            kind.object,
            output.id.as_deref().unwrap_or("?")
        ),
        status: None,
        source: None,
    }
}

/// `GET /swap?id=` (or `/transfer`).
pub(in crate::providers::whalestack) async fn get(
    client: &Client,
    kind: Kind,
    id: &str,
) -> Result<TwoPhase, ProviderError> {
    let wire = WireRequest::new("GET", client.paths().get(kind.object)).query("id", id);
    let answer = client.send(&wire).await?;
    kind.read(client, &answer, false)
}

/// The object id a lookup should read: the recorded id, else the checkpoint's.
pub(in crate::providers::whalestack) fn known_id(
    call: &Call<'_>,
    provider_ref: Option<&str>,
) -> Option<String> {
    provider_ref
        .map(str::to_string)
        .or_else(|| call.checkpoint?.get("id")?.as_str().map(str::to_string))
}

/// What a lookup reports for the object as it is now.
pub(in crate::providers::whalestack) fn found(kind: Kind, tp: TwoPhase) -> Lookup {
    match tp.state {
        CommitState::PendingApiCommit => Lookup::Continue {
            checkpoint: kind.checkpoint(&tp),
            output: tp.output,
        },
        CommitState::Unknown(state) => Lookup::Unknown {
            reason: format!(
                "{} `{}` is in state `{state}`, which sluice does not know; check it in the \
                 Whalestack dashboard",
                kind.object,
                tp.output.id.unwrap_or_default()
            ),
        },
        CommitState::Processing | CommitState::Completed | CommitState::Failed => {
            Lookup::Found(tp.output)
        }
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_rfc3339(&text.replacen(' ', "T", 1)))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The second phase: commit the quote the checkpoint names, unless it expired.
pub(in crate::providers::whalestack) async fn resume(
    client: &Client,
    kind: Kind,
    call: &Call<'_>,
    checkpoint: &Value,
) -> Result<Outcome, ProviderError> {
    let w = With::new(client.transport().provider(), call);
    let id = checkpoint
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            w.invalid(format!(
                "the checkpoint `{checkpoint}` has no {} id",
                kind.object
            ))
        })?;
    if let Some(text) = checkpoint.get("expire_time").and_then(Value::as_str) {
        match parse_time(text) {
            Some(at) if client.now().await? >= at => {
                return Err(ProviderError::Rejected {
                    provider: client.transport().provider().to_string(),
                    status: None,
                    code: Some("quote_expired".into()),
                    message: format!(
                        "the quote of {} `{id}` expired at {text}; nothing was committed and \
                         no money moved. Run the step again for a new quote",
                        kind.object
                    ),
                });
            }
            Some(_) => {}
            None => tracing::warn!(
                provider = client.transport().provider(), object = kind.object, id, expire_time = %text,
                "Unreadable quote expiry, committing and letting the provider decide."
            ),
        }
    }
    let answer = client.send(&commit_wire(client, kind, id)).await?;
    Ok(Outcome::Done(kind.read(client, &answer, true)?.output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_both_documented_formats_parse() {
        assert_eq!(
            parse_time("2021-05-06T23:15:37+00:00")
                .unwrap()
                .to_rfc3339(),
            "2021-05-06T23:15:37+00:00"
        );
        assert_eq!(
            parse_time("2023-05-22 03:06:34+03:00")
                .unwrap()
                .to_rfc3339(),
            "2023-05-22T00:06:34+00:00"
        );
        assert!(parse_time("soon").is_none());
    }
}
