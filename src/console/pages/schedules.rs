//! `GET /schedules`: each scheduled workflow's next fire times (of the workflow files
//! `serve --workflows` or `console --workflows` loaded), and its recent slots, newest first:
//! fired (with how the run went), skipped, missed or failed, and why.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::State;
use chrono::Utc;
use maud::{Markup, html};

use super::super::error::ConsoleError;
use super::super::layout::{Section, badge, page, time};
use super::super::session::Session;
use super::super::state::Console;
use super::evidence::run_link;
use crate::store::{SlotRecord, SlotState};

/// How many next fire times are shown per workflow.
const NEXT: usize = 3;
/// The most recent slots read, across workflows.
const RECENT: u32 = 500;

/// `GET /schedules`.
pub async fn schedules(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
) -> Result<Markup, ConsoleError> {
    let viewer = console.viewer(&session);
    let slots = console.store().list_slots(None, RECENT).await?;
    let mut by_workflow: BTreeMap<&str, Vec<&SlotRecord>> = BTreeMap::new();
    for slot in &slots {
        by_workflow
            .entry(&slot.workflow_name)
            .or_default()
            .push(slot);
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
        h2 { "Recent slots" }
        @if by_workflow.is_empty() {
            p class="quiet" { "No scheduled slot has come due yet." }
        }
        @for (workflow, slots) in &by_workflow {
            h3 { (workflow) }
            table class="slots" {
                thead { tr { th { "Slot" } th { "Outcome" } th { "Run" } th { "Why" } } }
                tbody {
                    @for slot in slots {
                        tr {
                            td { (time(slot.slot_at)) }
                            td { (badge(slot.shown().as_str())) }
                            td {
                                @if matches!(slot.state, SlotState::Fired | SlotState::Failed) {
                                    a href=(run_link(slot.run_id.as_str())) { (slot.run_id) }
                                    @if let Some(status) = slot.run_status {
                                        " " (badge(status.as_str()))
                                    }
                                } @else {
                                    "-"
                                }
                            }
                            td { (slot.reason.as_deref().unwrap_or("")) }
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
