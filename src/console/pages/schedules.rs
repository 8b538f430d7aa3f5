//! `GET /schedules`: each scheduled workflow's next fire times (of the workflow files
//! `serve --workflows` or `console --workflows` loaded), and the slots fired, newest first,
//! with how each run went.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::State;
use chrono::Utc;
use maud::{Markup, html};

use super::super::error::ConsoleError;
use super::super::layout::{Section, badge, maybe_time, page, time};
use super::super::session::Session;
use super::super::state::Console;
use super::evidence::run_link;
use crate::store::{RunFilter, RunRecord};

/// How many next fire times are shown per workflow.
const NEXT: usize = 3;
/// The most runs read to find the slots.
const RECENT: u32 = 1_000;

/// `GET /schedules`.
pub async fn schedules(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
) -> Result<Markup, ConsoleError> {
    let viewer = console.viewer(&session);
    let runs = console
        .store()
        .list_runs(&RunFilter {
            limit: Some(RECENT),
            ..RunFilter::default()
        })
        .await?;
    let mut by_workflow: BTreeMap<&str, Vec<&RunRecord>> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.scheduled_for.is_some()) {
        by_workflow.entry(&run.workflow_name).or_default().push(run);
    }
    let scheduled = console.scheduled();
    let now = Utc::now();
    let body = html! {
        h2 { "Next" }
        @if scheduled.is_empty() {
            p class="quiet" { "No scheduled workflow loaded (`--workflows DIR`)." }
        } @else {
            table class="next" {
                thead { tr { th { "Workflow" } th { "Time zone" } th { "Next fire times (UTC)" } } }
                tbody {
                    @for w in &scheduled {
                        tr {
                            td { (w.name()) }
                            td { (w.schedule.timezone()) }
                            td { @for t in w.schedule.upcoming(now).take(NEXT) { (time(t)) " " } }
                        }
                    }
                }
            }
        }
        h2 { "Fired" }
        @if by_workflow.is_empty() {
            p class="quiet" { "No scheduled slot has fired yet." }
        }
        @for (workflow, slots) in &by_workflow {
            h3 { (workflow) }
            table class="slots" {
                thead { tr { th { "Slot" } th { "Run" } th { "Status" } th { "Finished" } } }
                tbody {
                    @for run in slots {
                        tr {
                            td { (maybe_time(run.scheduled_for)) }
                            td { a href=(run_link(run.id.as_str())) { (run.id) } }
                            td { (badge(run.status.as_str())) }
                            td { (maybe_time(run.finished_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        &viewer,
        Section::Schedules,
        "Schedules",
        "/live",
        body,
    ))
}
