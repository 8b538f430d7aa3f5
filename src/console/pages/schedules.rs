//! `GET /schedules`: the slots fired per scheduled workflow, newest first, with how each
//! run went. (Next fire times are `sluice schedule`'s: they need the workflow files, which
//! the store does not hold.)

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};

use super::super::error::ConsoleError;
use super::super::layout::{Section, badge, maybe_time, page};
use super::super::session::Session;
use super::super::state::Console;
use super::evidence::run_link;
use crate::store::{RunFilter, RunRecord};

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
    let body = html! {
        @if by_workflow.is_empty() {
            p class="quiet" { "No scheduled slot has fired yet." }
        }
        @for (workflow, slots) in &by_workflow {
            h2 { (workflow) }
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
