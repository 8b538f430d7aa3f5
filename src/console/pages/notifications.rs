//! `GET /notifications`: the outbox, newest first, as `sluice notifications` lists it: each
//! notification's event, its run (or, for a schedule's, its workflow), where it goes (shown as
//! `describe` shows it, so never a secret), whether it was delivered, attempts and why the last
//! one failed. Read-only: `serve` delivers, and `sluice notifications --deliver` retries now.

use axum::Extension;
use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::super::error::ConsoleError;
use super::super::layout::{Section, badge, page, time};
use super::super::session::Session;
use super::super::state::Console;
use super::evidence::run_link;
use crate::ids::RunId;
use crate::notify::describe;
use crate::store::DeliveryState;
use crate::store::notification::MAX_ATTEMPTS;

/// The newest notifications read.
const LIMIT: u32 = 200;

/// The filters.
#[derive(Debug, Default, Deserialize)]
pub struct NotificationsQuery {
    /// Only this run's (the store reads only those).
    #[serde(default)]
    run: String,
    /// `pending`, `delivered` or `failed`: only those among the newest read, since the
    /// store's read (the one `sluice notifications` makes) filters by run alone.
    #[serde(default)]
    state: String,
}

/// `GET /notifications`.
pub async fn notifications(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Query(query): Query<NotificationsQuery>,
) -> Result<Markup, ConsoleError> {
    let viewer = console.viewer(&session);
    let run = (!query.run.is_empty()).then(|| RunId::from(query.run.as_str()));
    let state = DeliveryState::from_stored(&query.state);
    let listed = console
        .store()
        .list_notifications(run.as_ref(), LIMIT)
        .await?;
    let shown: Vec<_> = listed
        .iter()
        .filter(|n| state.is_none_or(|s| n.state == s))
        .collect();
    let body = html! {
        form method="get" action="/notifications" class="filters" {
            label { "Run " input type="text" name="run" value=(query.run); }
            label { "State "
                select name="state" {
                    option value="" { "all" }
                    @for s in [DeliveryState::Pending, DeliveryState::Delivered, DeliveryState::Failed] {
                        option value=(s.as_str()) selected[state == Some(s)] { (s.as_str()) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        p class="quiet" {
            "The newest " (LIMIT) " read. A notification is pending until its target accepts it, "
            "tried again with a growing delay, and failed (given up) after "
            (MAX_ATTEMPTS) " attempts."
        }
        @if shown.is_empty() {
            p class="quiet" { "No notification." }
        } @else {
            table class="notifications" {
                thead { tr { th { "#" } th { "When" } th { "Event" } th { "Run" } th { "Target" } th { "State" } th { "Attempts" } th { "Last error" } } }
                tbody {
                    @for n in &shown {
                        tr {
                            td { (n.id) }
                            td { (time(n.created_at)) }
                            td { (n.event) }
                            td { @match &n.run_id {
                                Some(run) => { a href=(run_link(run.as_str())) { (run) } }
                                None => { "schedule " a href="/schedules" { (n.workflow_name) } }
                            } }
                            td { code { (describe(&n.target)) } }
                            td { (badge(n.state.as_str())) }
                            td { (n.attempts) }
                            td { (n.last_error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        &viewer,
        Section::Notifications,
        "Notifications",
        "/live",
        body,
    ))
}
