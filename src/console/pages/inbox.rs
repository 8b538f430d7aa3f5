//! The home page: everything waiting for a person, oldest first — step runs in doubt, runs
//! that failed or could not be compensated, approvals waiting, payments that failed after
//! the provider accepted them or that disagree with its records — with the evidence and the
//! decisions on the page.

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};

use super::super::error::ConsoleError;
use super::super::layout::{Section, Viewer, badge, csrf_field, page, segment, time};
use super::super::session::Session;
use super::super::state::Console;
use super::attention;
use super::evidence::{approval_card, doubt_card, run_link};
use crate::ids::{RunId, StepId};
use crate::store::{DiscrepancyRecord, RunFilter, RunRecord, RunStatus, SettlementRecord};

/// The most step runs in doubt shown per step (the rest are on the step's items page).
const DOUBTS_PER_STEP: u32 = 20;
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
            RunStatus::Compensating,
            RunStatus::CompensationFailed,
        ],
    )
    .await?
    {
        let waiting = attention::of_run(&**store, &run.id, DOUBTS_PER_STEP).await?;
        for (step, attempts) in &waiting.doubts {
            let mine: Vec<_> = attempts.iter().collect();
            doubts = html! { (doubts) (doubt_card(&viewer, step, &mine)) };
        }
        for (step_id, more) in &waiting.more {
            doubts = html! { (doubts) (more_link(&run.id, step_id, *more)) };
        }
        for step in &waiting.approvals {
            approvals = html! { (approvals) (approval_card(&viewer, &run, step)) };
        }
        open += waiting.doubts.len() + waiting.approvals.len();
        open += waiting.more.iter().map(|(_, n)| *n as usize).sum::<usize>();
    }
    let failed = oldest_first(
        &console,
        &[RunStatus::Failed, RunStatus::CompensationFailed],
    )
    .await?;
    open += failed.len();
    let unpaid = failed_after_commit(&console).await?;
    open += unpaid.len();
    let disagreeing = store.open_discrepancies(RUNS_PER_STATUS).await?;
    open += disagreeing.len();
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
        section {
            h2 { "Failed after commit" }
            @for payment in &unpaid { (unpaid_card(payment)) }
        }
        section {
            h2 { "Disagrees with the provider" }
            @for found in &disagreeing { (discrepancy_card(&viewer, found)) }
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

/// The payments the provider failed after accepting them, oldest first, in one read.
async fn failed_after_commit(console: &Console) -> Result<Vec<SettlementRecord>, ConsoleError> {
    Ok(console.store().failed_after_commit(RUNS_PER_STATUS).await?)
}

/// A payment that failed after commit: the payee was not paid, and nothing sends it again by
/// itself (README, *Settlement, reports and reconciliation*).
fn unpaid_card(payment: &SettlementRecord) -> Markup {
    let key = &payment.settlement.key;
    let state = payment
        .settlement
        .provider_state
        .as_deref()
        .unwrap_or("failed");
    html! {
        article class="card failed" {
            h3 {
                a href={ (run_link(key.run_id.as_str())) "/steps/" (segment(key.step_id.as_str())) "/items/" (segment(key.item_key.as_str())) } {
                    (key.step_id) "[" (key.item_key) "]"
                }
                " " (badge("failed_after_commit"))
            }
            p class="quiet" { "run " (key.run_id) " · the provider says " (state) " · learned " (time(payment.at)) }
            p { "The payee was not paid. Pay them again in a new run; `sluice report " (key.run_id) "` lists the run's payments." }
        }
    }
}

/// A payment `serve`'s reconciliation found disagreeing with its provider's records; it
/// leaves the inbox when a later pass finds it matched, or when an operator dismisses it
/// with a reason (README, *Settlement, reports and reconciliation*).
fn discrepancy_card(viewer: &Viewer, found: &DiscrepancyRecord) -> Markup {
    let d = &found.discrepancy;
    let key = &d.key;
    html! {
        article class="card failed" {
            h3 {
                a href={ (run_link(key.run_id.as_str())) "/steps/" (segment(key.step_id.as_str())) "/items/" (segment(key.item_key.as_str())) } {
                    (key.step_id) "[" (key.item_key) "]"
                }
                " " (badge(d.kind.as_str()))
            }
            p class="quiet" {
                "run " a href=(run_link(key.run_id.as_str())) { (key.run_id) }
                " · provider object " (d.provider_ref) " · found " (time(found.found_at))
            }
            p { (d.detail) ". `sluice reconcile " (key.run_id) "` compares the run again." }
            @if viewer.session.role.may_operate() {
                div class="decisions" {
                    form method="post" action={ (run_link(key.run_id.as_str())) "/discrepancies/" (found.id) "/dismiss" } class="decision" {
                        (csrf_field(viewer))
                        label { "Reason " input type="text" name="reason" required; }
                        button type="submit" { "Dismiss" }
                    }
                }
            }
        }
    }
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
            @if !run.status.is_finished() {
                form method="post" action={ (base) "/resume" } class="decision" {
                    (csrf_field(viewer))
                    label { "Reason " input type="text" name="reason" required; }
                    button type="submit" { "Resume" }
                }
            }
            form method="post" action={ (base) "/cancel" } class="decision" {
                (csrf_field(viewer))
                label { "Reason " input type="text" name="reason" required; }
                button type="submit" class="danger" { "Cancel run" }
            }
        }
    }
}

/// A link to the rest of a step's items in doubt.
pub fn more_link(run_id: &RunId, step_id: &StepId, more: u64) -> Markup {
    html! {
        p class="more" {
            a href={ (run_link(run_id.as_str())) "/steps/" (segment(step_id.as_str())) "/items?state=needs_attention" } {
                (more) " more of " (step_id) " in doubt"
            }
        }
    }
}
