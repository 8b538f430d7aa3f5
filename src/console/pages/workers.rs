//! `GET /workers`: the `serve` workers sharing the database, live or gone, the runs each
//! holds and the batch items each has claimed.

use axum::Extension;
use axum::extract::State;
use chrono::Utc;
use maud::{Markup, html};

use super::super::error::ConsoleError;
use super::super::layout::{Section, badge, page, time};
use super::super::session::Session;
use super::super::state::Console;
use super::evidence::run_link;
use crate::store::{RunFilter, RunStatus};

/// `GET /workers`.
pub async fn workers(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
) -> Result<Markup, ConsoleError> {
    let viewer = console.viewer(&session);
    let store = console.store();
    let now = Utc::now();
    let workers = store.list_workers().await?;
    let claims = store.list_claims().await?;
    let held = store
        .list_runs(&RunFilter {
            statuses: RunStatus::ALL
                .into_iter()
                .filter(|s| !s.is_finished())
                .collect(),
            ..RunFilter::default()
        })
        .await?;
    let body = html! {
        @if workers.is_empty() { p class="quiet" { "No `serve` worker has reported." } }
        @for w in &workers {
            article class="card" {
                h3 { (w.info.name) " " (badge(if w.is_live(now) { "live" } else { "gone" })) }
                p class="quiet" {
                    code { (w.info.id) } " · " (w.info.host) " pid " (w.info.pid)
                    " · version " (w.info.version)
                    " · heartbeat " (time(w.heartbeat_at))
                }
                ul {
                    @for run in held.iter().filter(|r| r.lease.as_ref().is_some_and(|l| w.info.owns(&l.owner) && l.expires_at > now)) {
                        li { "holds " a href=(run_link(run.id.as_str())) { (run.id) } " " (badge(run.status.as_str())) }
                    }
                    @for c in claims.iter().filter(|c| w.info.owns(&c.owner)) {
                        li { "claims " (c.items) " items of " a href=(run_link(c.run_id.as_str())) { (c.run_id) } " / " (c.step_id) " until " (time(c.expires_at)) }
                    }
                }
            }
        }
    };
    Ok(page(&viewer, Section::Workers, "Workers", "/live", body))
}
