//! `GET /live`: server-sent events that tell an open page its data changed, so the page's
//! script reloads its `main` element. The server polls the store (once a second, a few
//! indexed reads) and sends `change` when what the page shows differs: a run's row and step
//! counts (`?run=ID`), or the latest runs. The first event, `ready`, says the stream is
//! watching.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde::Deserialize;

use super::state::Console;
use crate::ids::RunId;
use crate::store::RunFilter;

/// How often the store is read for changes.
const EVERY: Duration = Duration::from_secs(1);
/// How many of the latest runs the pages without a run follow.
const LATEST: u32 = 100;

/// What a page follows.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LiveQuery {
    /// One run (its page, its items).
    #[serde(default)]
    run: Option<RunId>,
}

/// A summary of what the page shows: equal summaries, nothing to reload. An error reads as
/// its own summary, so a store that comes back triggers a reload.
async fn summary(console: &Console, query: &LiveQuery) -> String {
    let store = console.store();
    let text = match &query.run {
        Some(run_id) => match (
            store.load_run(run_id).await,
            store.count_steps(run_id).await,
        ) {
            (Ok(run), Ok(counts)) => format!("{}|{}|{counts:?}", run.status, run.updated_at),
            (Err(e), _) | (_, Err(e)) => format!("error {e}"),
        },
        None => match store
            .list_runs(&RunFilter {
                limit: Some(LATEST),
                ..RunFilter::default()
            })
            .await
        {
            Ok(runs) => runs
                .iter()
                .map(|r| format!("{}|{}|{}", r.id, r.status, r.updated_at))
                .collect::<Vec<_>>()
                .join(","),
            Err(e) => format!("error {e}"),
        },
    };
    crate::signing::sha256_hex(&[text.as_bytes()])
}

/// `GET /live`.
pub async fn live(
    State(console): State<Console>,
    Query(query): Query<LiveQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let first = summary(&console, &query).await;
    let ready = stream::once(async { Ok(Event::default().event("ready").data("watching")) });
    let changes = stream::unfold(
        (console, query, first),
        |(console, query, last)| async move {
            loop {
                tokio::time::sleep(EVERY).await;
                let now = summary(&console, &query).await;
                if now != last {
                    let event = Ok(Event::default().event("change").data("reload"));
                    return Some((event, (console, query, now)));
                }
            }
        },
    );
    Sse::new(futures_util::StreamExt::chain(ready, changes)).keep_alive(KeepAlive::default())
}
