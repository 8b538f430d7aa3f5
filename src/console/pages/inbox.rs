//! The home page: everything waiting for a person, oldest first — step runs in doubt, runs
//! that failed, approvals waiting — with the evidence and the decisions on the page.

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};

use super::super::error::ConsoleError;
use super::super::layout::{Section, Viewer, badge, csrf_field, page, time};
use super::super::session::Session;
use super::super::state::Console;
use super::evidence::{approval_card, doubt_card, run_link};
use crate::store::{RunFilter, RunRecord, RunStatus, StepState};

/// The most runs the inbox reads per status.
const RUNS_PER_STATUS: u32 = 200;

/// `GET /`.
pub async fn inbox(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
) -> Result<Markup, ConsoleError> {
    let viewer = console.viewer(&session);
    let store = console.store();
    let mut doubts = html! {};
    let mut approvals = html! {};
    let mut open = 0usize;
    // Items may need attention while the rest of their run goes on.
    for run in oldest_first(
        &console,
        &[
            RunStatus::NeedsAttention,
            RunStatus::Running,
            RunStatus::Pending,
            RunStatus::Waiting,
            RunStatus::Failed,
        ],
    )
    .await?
    {
        let steps = store
            .steps_in_state(&run.id, &[StepState::NeedsAttention, StepState::Waiting])
            .await?;
        let (in_doubt, waiting): (Vec<_>, Vec<_>) = steps
            .into_iter()
            .partition(|s| s.state == StepState::NeedsAttention);
        if !in_doubt.is_empty() {
            let attempts = store.load_attempts(&run.id).await?;
            for step in &in_doubt {
                let mine: Vec<_> = attempts
                    .iter()
                    .filter(|a| a.attempt.key == step.key)
                    .collect();
                doubts = html! { (doubts) (doubt_card(&viewer, step, &mine)) };
                open += 1;
            }
        }
        for step in waiting.iter().filter(|s| {
            s.request
                .as_ref()
                .and_then(crate::approval::Waiting::from_request)
                .is_some()
        }) {
            approvals = html! { (approvals) (approval_card(&viewer, &run, step)) };
            open += 1;
        }
    }
    let failed = oldest_first(&console, &[RunStatus::Failed]).await?;
    open += failed.len();
    let body = html! {
        p class="summary" { (open) " open" }
        section {
            h2 { "In doubt" }
            (doubts)
        }
        section {
            h2 { "Approvals waiting" }
            (approvals)
        }
        section {
            h2 { "Failed runs" }
            @for run in &failed { (failed_card(&viewer, run)) }
        }
    };
    Ok(page(
        &viewer,
        Section::Inbox,
        "Needs attention",
        "/live",
        body,
    ))
}

/// Runs in `statuses`, oldest first.
async fn oldest_first(
    console: &Console,
    statuses: &[RunStatus],
) -> Result<Vec<RunRecord>, ConsoleError> {
    let mut runs = console
        .store()
        .list_runs(&RunFilter {
            statuses: statuses.to_vec(),
            limit: Some(RUNS_PER_STATUS),
            ..RunFilter::default()
        })
        .await?;
    runs.reverse();
    Ok(runs)
}

/// A failed run, with its error and the redrive and cancel decisions.
fn failed_card(viewer: &Viewer, run: &RunRecord) -> Markup {
    html! {
        article class="card failed" {
            h3 { a href=(run_link(run.id.as_str())) { (run.id) } " " (badge(run.status.as_str())) }
            p class="quiet" { (run.workflow_name) " · started " (time(run.created_at)) }
            @if let Some(error) = &run.error { p class="message" { (error) } }
            @if viewer.session.role.may_operate() {
                (run_forms(viewer, run))
            }
        }
    }
}

/// Retry what failed, or cancel the run, each with a reason.
pub fn run_forms(viewer: &Viewer, run: &RunRecord) -> Markup {
    let base = run_link(run.id.as_str());
    html! {
        div class="decisions" {
            form method="post" action={ (base) "/retry" } class="decision" {
                (csrf_field(viewer))
                label { "Reason " input type="text" name="reason" required; }
                button type="submit" { "Retry failed" }
            }
            form method="post" action={ (base) "/cancel" } class="decision" {
                (csrf_field(viewer))
                label { "Reason " input type="text" name="reason" required; }
                button type="submit" class="danger" { "Cancel run" }
            }
        }
    }
}
