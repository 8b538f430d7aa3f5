//! The evidence an operator decides an item in doubt by, and the guarded forms to decide:
//! its keys, the exact request dispatched (masked) and its digest, every provider call with
//! its answer or error, the latest lookup, and the provider's object id. Shared by the
//! inbox, a run's page and an item's own page.

use maud::{Markup, html};

use super::super::layout::{Viewer, badge, csrf_field, json_block, maybe_time, segment, time};
use crate::store::{AttemptOperation, AttemptRecord, RunRecord, StepRecord};

/// The card of one step run in doubt, with the three decisions an operator may take.
pub fn doubt_card(viewer: &Viewer, step: &StepRecord, attempts: &[&AttemptRecord]) -> Markup {
    let key = &step.key;
    let lookup = attempts
        .iter()
        .rev()
        .find(|a| a.attempt.operation == AttemptOperation::Lookup);
    html! {
        article class="card doubt" id={ "item-" (segment(&key.to_string())) } {
            h3 {
                a href=(run_link(key.run_id.as_str())) { (key.run_id) }
                " / " (key.step_id)
                @if !key.item_key.is_empty() {
                    " [" a href=(item_link(step)) { (key.item_key) } "]"
                }
                " " (badge(step.state.as_str()))
            }
            @if let Some(error) = &step.error {
                p class="message" { (error.message) }
            }
            dl class="facts" {
                dt { "Idempotency key" } dd { code { (step.idempotency_key.as_deref().unwrap_or("—")) } }
                dt { "Request digest" } dd { code { (step.request_digest.as_deref().unwrap_or("—")) } }
                dt { "Provider object" } dd { code { (step.provider_ref.as_deref().unwrap_or("none recorded")) } }
                dt { "Dispatched" } dd { (step.attempts) " time(s); last change " (time(step.updated_at)) }
                dt { "Latest lookup" }
                dd {
                    @match lookup {
                        Some(l) => { (badge(l.attempt.outcome.as_str())) " " (time(l.attempt.started_at))
                            @if let Some(e) = &l.attempt.error { " — " (e.message) } }
                        None => { "none yet" }
                    }
                }
            }
            @if let Some(request) = &step.request {
                details open {
                    summary { "Request as dispatched (credentials and card data masked)" }
                    (json_block(request))
                }
            }
            @if let Some(checkpoint) = &step.checkpoint {
                details {
                    summary { "Checkpoint" }
                    (json_block(checkpoint))
                }
            }
            (attempt_table(attempts))
            @if viewer.session.role.may_operate() {
                (resolve_forms(viewer, step))
            }
        }
    }
}

/// The provider calls of a step run, oldest first.
pub fn attempt_table(attempts: &[&AttemptRecord]) -> Markup {
    html! {
        @if attempts.is_empty() {
            p class="quiet" { "No provider call recorded." }
        } @else {
            table class="attempts" {
                thead { tr { th { "#" } th { "Call" } th { "Started" } th { "Finished" } th { "Outcome" } th { "HTTP" } th { "Answer or error" } } }
                tbody {
                    @for a in attempts {
                        tr {
                            td { (a.attempt.attempt_no) }
                            td { (a.attempt.operation.as_str()) }
                            td { (time(a.attempt.started_at)) }
                            td { (maybe_time(a.attempt.finished_at)) }
                            td { (badge(a.attempt.outcome.as_str())) }
                            td { @if let Some(s) = a.attempt.http_status { (s) } }
                            td { @if let Some(e) = &a.attempt.error { (e.message) } }
                        }
                    }
                }
            }
        }
    }
}

/// The three decisions on a step run in doubt, each with a required reason.
fn resolve_forms(viewer: &Viewer, step: &StepRecord) -> Markup {
    let action = format!(
        "/runs/{}/steps/{}/resolve",
        segment(step.key.run_id.as_str()),
        segment(step.key.step_id.as_str())
    );
    html! {
        div class="decisions" {
            form method="post" action=(action) class="decision" {
                (csrf_field(viewer))
                input type="hidden" name="item" value=(step.key.item_key);
                input type="hidden" name="decision" value="succeeded";
                label { "Provider reference " input type="text" name="provider_ref" required; }
                label { "Reason " input type="text" name="reason" required; }
                button type="submit" { "It happened" }
            }
            form method="post" action=(action) class="decision" {
                (csrf_field(viewer))
                input type="hidden" name="item" value=(step.key.item_key);
                input type="hidden" name="decision" value="retry";
                label { "Reason " input type="text" name="reason" required; }
                button type="submit" { "It did not: send again with the same key" }
            }
            form method="post" action=(action) class="decision" {
                (csrf_field(viewer))
                input type="hidden" name="item" value=(step.key.item_key);
                input type="hidden" name="decision" value="skip";
                label { "Reason " input type="text" name="reason" required; }
                button type="submit" { "Skip" }
            }
        }
    }
}

/// The card of an approval step waiting, with approve and deny for approvers.
pub fn approval_card(viewer: &Viewer, run: &RunRecord, step: &StepRecord) -> Markup {
    let waiting = step
        .request
        .as_ref()
        .and_then(crate::approval::Waiting::from_request);
    let action = |verb: &str| {
        format!(
            "/runs/{}/steps/{}/{verb}",
            segment(run.id.as_str()),
            segment(step.key.step_id.as_str())
        )
    };
    html! {
        article class="card approval" {
            h3 { a href=(run_link(run.id.as_str())) { (run.id) } " / " (step.key.step_id) " " (badge(step.state.as_str())) }
            @if let Some(w) = &waiting {
                p { (w.progress(run.started_by.as_deref())) }
                p class="quiet" { "asked: " (w.policy) }
            }
            p class="quiet" { "started by " (run.started_by.as_deref().unwrap_or("unknown")) " · workflow " (run.workflow_name) }
            @if viewer.session.role.may_approve() {
                div class="decisions" {
                    form method="post" action=(action("approve")) class="decision" {
                        (csrf_field(viewer))
                        label { "Reason " input type="text" name="reason"; }
                        button type="submit" { "Approve" }
                    }
                    form method="post" action=(action("deny")) class="decision" {
                        (csrf_field(viewer))
                        label { "Reason " input type="text" name="reason" required; }
                        button type="submit" class="danger" { "Deny" }
                    }
                }
            }
        }
    }
}

/// A run's page.
pub fn run_link(run: &str) -> String {
    format!("/runs/{}", segment(run))
}

/// A step run's own page: the item page for an item, the step's items otherwise.
pub fn item_link(step: &StepRecord) -> String {
    let base = format!(
        "/runs/{}/steps/{}/items",
        segment(step.key.run_id.as_str()),
        segment(step.key.step_id.as_str())
    );
    if step.key.item_key.is_empty() {
        base
    } else {
        format!("{base}/{}", segment(step.key.item_key.as_str()))
    }
}
