//! `GET /events`: the webhook events received, matched or not, with a replay button for
//! operators (the same redelivery as `sluice events replay`).

use axum::Extension;
use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::super::error::ConsoleError;
use super::super::layout::{Section, badge, csrf_field, page, time};
use super::super::session::Session;
use super::super::state::Console;
use super::evidence::run_link;
use crate::store::EventFilter;

/// The most events listed.
const LIMIT: u32 = 500;
/// How much of a payload is shown.
const PAYLOAD_SHOWN: usize = 400;

/// The filters.
#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    provider: String,
    /// `unmatched` lists only events no step took.
    #[serde(default)]
    show: String,
}

/// `GET /events`.
pub async fn events(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Query(query): Query<EventsQuery>,
) -> Result<Markup, ConsoleError> {
    let viewer = console.viewer(&session);
    let filter = EventFilter {
        provider: (!query.provider.is_empty()).then(|| query.provider.clone()),
        unmatched_only: query.show == "unmatched",
        limit: Some(LIMIT),
        ..EventFilter::default()
    };
    let events = console.store().list_events(&filter).await?;
    let body = html! {
        form method="get" action="/events" class="filters" {
            label { "Provider block " input type="text" name="provider" value=(query.provider); }
            label { "Show "
                select name="show" {
                    option value="" { "all" }
                    option value="unmatched" selected[query.show == "unmatched"] { "unmatched only" }
                }
            }
            button type="submit" { "Filter" }
        }
        table class="events" {
            thead { tr { th { "#" } th { "Received" } th { "Provider" } th { "Type" } th { "Object" } th { "Matched" } th { "Payload" } th {} } }
            tbody {
                @for e in &events {
                    tr {
                        td { (e.id) }
                        td { (time(e.received_at)) }
                        td { (e.event.provider) }
                        td { (e.event.event_type) }
                        td { code { (e.event.object_id.as_deref().unwrap_or("")) } }
                        td { @match &e.matched {
                            Some(key) => { a href=(run_link(key.run_id.as_str())) { (key) } }
                            None => { (badge("unmatched")) }
                        } }
                        td { code class="payload" { (crate::sensitive::mask_text(&e.event.payload.chars().take(PAYLOAD_SHOWN).collect::<String>())) } }
                        td {
                            @if viewer.session.role.may_operate() {
                                form method="post" action={ "/events/" (e.id) "/replay" } class="inline" {
                                    (csrf_field(&viewer))
                                    button type="submit" { "Replay" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        &viewer,
        Section::Events,
        "Webhook events",
        "/live",
        body,
    ))
}
