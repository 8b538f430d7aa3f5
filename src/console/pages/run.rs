//! `GET /runs/{run}`: one run — what it is bound to (workflow and plan hashes), its DAG with
//! state colours, its steps and their items by state, what waits for a person, the timeline
//! of provider calls, and every operator decision with who, when and why.

use std::collections::BTreeMap;
use std::path::Path as FilePath;

use axum::Extension;
use axum::extract::{Path, State};
use maud::{Markup, html};

use super::super::error::ConsoleError;
use super::super::layout::{Section, badge, maybe_time, page, segment, time};
use super::super::session::Session;
use super::super::state::Console;
use super::evidence::{approval_card, attempt_table, doubt_card};
use super::inbox::{more_link, run_forms};
use super::{attention, dag, totals};
use crate::ids::RunId;
use crate::store::{OperatorRecord, RunStatus, StepCount};

/// The most provider calls the timeline shows (the latest).
const TIMELINE: u32 = 200;
/// The most items in doubt per step shown with their evidence (the others are on the items
/// page).
const DOUBTS: u32 = 50;

/// `GET /runs/{run}`.
pub async fn run(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path(run_id): Path<RunId>,
) -> Result<Markup, ConsoleError> {
    let viewer = console.viewer(&session);
    let store = console.store();
    let run = store.load_run(&run_id).await?;
    let counts = store.count_steps(&run_id).await?;
    let waiting = attention::of_run(&**store, &run_id, DOUBTS).await?;
    let timeline = store.recent_attempts(&run_id, TIMELINE).await?;
    let actions = store.list_operator_actions(&run_id).await?;
    let amounts = store
        .asset_totals(std::slice::from_ref(&run_id), None)
        .await?;
    let timeline: Vec<_> = timeline.iter().collect();
    let acts = viewer.session.role.may_operate()
        && !matches!(
            run.status,
            RunStatus::Succeeded | RunStatus::Cancelled | RunStatus::Compensated
        );
    let body = html! {
        dl class="facts" {
            dt { "Status" } dd { (badge(run.status.as_str())) @if let Some(e) = &run.error { " " span class="message" { (e) } } }
            dt { "Workflow" } dd { (run.workflow_name) " — " code { (run.workflow_path) } }
            dt { "Workflow hash" } dd { code { (run.workflow_hash) } }
            dt { "Plan hash" } dd { code { (run.plan_hash.as_deref().unwrap_or("not started from a plan")) } }
            dt { "Started by" } dd { (run.started_by.as_deref().unwrap_or("—")) }
            dt { "Created" } dd { (time(run.created_at)) }
            dt { "Finished" } dd { (maybe_time(run.finished_at)) }
            dt { "Scheduled for" } dd { (maybe_time(run.scheduled_for)) }
            dt { "Held by" } dd { @match &run.lease { Some(l) => { (l.owner) " until " (time(l.expires_at)) } None => { "nobody" } } }
        }
        @if acts { (run_forms(&viewer, &run)) }
        h2 { "Steps" }
        (dag::draw(FilePath::new(&run.workflow_path), &counts))
        (step_table(&run_id, &counts))
        h2 { "Amounts" }
        (totals::table(&amounts))
        @if !waiting.doubts.is_empty() {
            h2 { "In doubt" }
            @for (step, attempts) in &waiting.doubts {
                @let mine: Vec<_> = attempts.iter().collect();
                (doubt_card(&viewer, step, &mine))
            }
            @for (step_id, more) in &waiting.more { (more_link(&run_id, step_id, *more)) }
        }
        @for step in &waiting.approvals {
            h2 { "Approval waiting" }
            (approval_card(&viewer, &run, step))
        }
        h2 { "Operator actions" }
        (action_table(&actions))
        h2 { "Provider calls" }
        (attempt_table(&timeline))
    };
    let live = format!("/live?run={}", segment(run_id.as_str()));
    Ok(page(&viewer, Section::Runs, run_id.as_str(), &live, body))
}

/// Each step with its rows by state and a link to its items.
fn step_table(run_id: &RunId, counts: &[StepCount]) -> Markup {
    let mut steps: Vec<(&str, Vec<&StepCount>)> = Vec::new();
    for c in counts {
        match steps.last_mut() {
            Some((id, rows)) if *id == c.step_id.as_str() => rows.push(c),
            _ => steps.push((c.step_id.as_str(), vec![c])),
        }
    }
    html! {
        table class="steps" {
            thead { tr { th { "Step" } th { "Rows" } th { "By state" } } }
            tbody {
                @for (id, rows) in &steps {
                    tr {
                        td { a href={ "/runs/" (segment(run_id.as_str())) "/steps/" (segment(id)) "/items" } { (id) } }
                        td { (rows.iter().map(|c| c.count).sum::<u64>()) }
                        td { @for c in rows { (badge(c.state.as_str())) " " (c.count) " " } }
                    }
                }
            }
        }
    }
}

/// The decisions taken on the run, oldest first.
fn action_table(actions: &[OperatorRecord]) -> Markup {
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for a in actions {
        *by_kind.entry(a.action.kind.as_str()).or_default() += 1;
    }
    html! {
        @if actions.is_empty() {
            p class="quiet" { "None." }
        } @else {
            table class="actions" {
                thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Step" } th { "Why" } th { "Rows changed" } } }
                tbody {
                    @for a in actions {
                        tr {
                            td { (time(a.at)) }
                            td class="actor" { (a.action.actor) }
                            td { (a.action.kind.as_str())
                                @if let crate::store::ActionKind::ResolveSucceeded { provider_ref } = &a.action.kind { " " code { (provider_ref) } } }
                            td {
                                @if let Some(step) = &a.action.step_id { (step) }
                                @if let Some(item) = &a.action.item_key { "[" (item) "]" }
                            }
                            td { (a.action.reason.as_deref().unwrap_or("")) }
                            td { (a.steps_changed) }
                        }
                    }
                }
            }
            p class="quiet" { @for (kind, n) in &by_kind { (kind) " " (n) " · " } }
        }
    }
}
