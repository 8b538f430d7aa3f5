//! The console's decisions, each a form POST under `/runs/{run}/…` (or `/events/{id}/replay`)
//! whose CSRF token `access` checked before it got here. Each is the same store call the CLI
//! makes (`OperatorStore::apply_operator_action`, `DiscrepancyStore::dismiss_discrepancy`,
//! `webhooks::replay`), so the never-twice rules are the store's, not the page's: a step no
//! longer in doubt cannot be resolved, an item sent back is looked up at the provider before
//! anything is sent again, a case cannot be dismissed twice. Each decision is recorded with
//! the signed-in user's name in the operator-actions table.

use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::response::Redirect;
use serde::Deserialize;

use super::error::ConsoleError;
use super::layout::segment;
use super::session::Session;
use super::state::Console;
use super::users::Role;
use crate::ids::{ItemKey, RunId, StepId};
use crate::notify::Notifier;
use crate::store::{ActionKind, Dismissal, OperatorAction};

/// A decision's reason (and, for a step in doubt, which item and what was found).
#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    /// Why, in the user's words.
    #[serde(default)]
    reason: String,
    /// The item of a `for_each` step (`""` for the step's own row).
    #[serde(default)]
    item: String,
    /// `succeeded`, `retry` or `skip`, for a step in doubt.
    #[serde(default)]
    decision: String,
    /// The provider's id of the object found, with `succeeded`.
    #[serde(default)]
    provider_ref: String,
}

impl DecisionForm {
    fn reason(&self) -> Result<String, ConsoleError> {
        let reason = self.reason.trim();
        if reason.is_empty() {
            return Err(ConsoleError::BadForm(
                "give a reason: it is recorded with the decision",
            ));
        }
        Ok(reason.to_owned())
    }

    fn optional_reason(&self) -> Option<String> {
        let reason = self.reason.trim();
        (!reason.is_empty()).then(|| reason.to_owned())
    }

    fn resolution(&self) -> Result<ActionKind, ConsoleError> {
        match self.decision.as_str() {
            "succeeded" => {
                let provider_ref = self.provider_ref.trim();
                if provider_ref.is_empty() {
                    return Err(ConsoleError::BadForm(
                        "name the provider object that shows it happened",
                    ));
                }
                Ok(ActionKind::ResolveSucceeded {
                    provider_ref: provider_ref.to_owned(),
                })
            }
            "retry" => Ok(ActionKind::ResolveRetry),
            "skip" => Ok(ActionKind::ResolveSkip),
            _ => Err(ConsoleError::BadForm(
                "decide `succeeded`, `retry` or `skip`",
            )),
        }
    }
}

/// Refuses a user whose role is below `needed`.
fn require(session: &Session, needed: Role) -> Result<(), ConsoleError> {
    if session.role >= needed {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden {
            needed,
            has: session.role,
        })
    }
}

/// Records and applies `action`, then delivers the notifications it owes (a cancel or a
/// denial changes the run's status), and sends the browser to the run.
async fn apply(console: &Console, action: OperatorAction) -> Result<Redirect, ConsoleError> {
    let run_id = action.run_id.clone();
    let record = console.store().apply_operator_action(&action).await?;
    tracing::info!(
        run_id = %run_id,
        action = %record.action.kind,
        actor = %record.action.actor,
        steps_changed = record.steps_changed,
        "Operator action from the console."
    );
    let notifier = Notifier::new(
        console.store().clone(),
        crate::engine::owner_name("console/notify"),
    );
    let notified = run_id.clone();
    tokio::spawn(async move {
        if let Err(error) = notifier.deliver_due(Some(&notified)).await {
            tracing::warn!(run_id = %notified, %error, "Notifications left for the next delivery.");
        }
    });
    Ok(Redirect::to(&format!("/runs/{}", segment(run_id.as_str()))))
}

/// `kind` on `run_id` (at `target`: a step, and an item of it, when it names them) by the
/// signed-in user, for `reason`, with the groups an approval's `@group` admits.
fn by_user(
    console: &Console,
    session: &Session,
    run_id: RunId,
    (step_id, item_key): (Option<StepId>, Option<ItemKey>),
    kind: ActionKind,
    reason: Option<String>,
) -> OperatorAction {
    OperatorAction {
        run_id,
        step_id,
        item_key,
        kind,
        actor: session.user.clone(),
        reason,
        groups: console.groups_of(&session.user),
    }
}

/// `POST /runs/{run}/steps/{step}/approve`.
pub async fn approve(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path(at): Path<(RunId, StepId)>,
    Form(form): Form<DecisionForm>,
) -> Result<Redirect, ConsoleError> {
    approval_decision(&console, &session, at, ActionKind::Approve, &form).await
}

/// `POST /runs/{run}/steps/{step}/deny`.
pub async fn deny(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path(at): Path<(RunId, StepId)>,
    Form(form): Form<DecisionForm>,
) -> Result<Redirect, ConsoleError> {
    approval_decision(&console, &session, at, ActionKind::Deny, &form).await
}

/// An approver's decision on an approval step; a denial needs a reason.
async fn approval_decision(
    console: &Console,
    session: &Session,
    (run_id, step_id): (RunId, StepId),
    kind: ActionKind,
    form: &DecisionForm,
) -> Result<Redirect, ConsoleError> {
    require(session, Role::Approver)?;
    let reason = match kind {
        ActionKind::Deny => Some(form.reason()?),
        _ => form.optional_reason(),
    };
    let action = by_user(
        console,
        session,
        run_id,
        (Some(step_id), None),
        kind,
        reason,
    );
    apply(console, action).await
}

/// `POST /runs/{run}/steps/{step}/resolve`: one step run in doubt (the form names the
/// item), found to have happened, not to have happened, or skipped.
pub async fn resolve(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path((run_id, step_id)): Path<(RunId, StepId)>,
    Form(form): Form<DecisionForm>,
) -> Result<Redirect, ConsoleError> {
    require(&session, Role::Operator)?;
    // Always the one row decided on: with no item, a retry or skip would take every item of
    // the step in doubt.
    let target = (Some(step_id), Some(ItemKey::from(form.item.as_str())));
    let action = by_user(
        &console,
        &session,
        run_id,
        target,
        form.resolution()?,
        Some(form.reason()?),
    );
    apply(&console, action).await
}

/// A decision about a whole run (retry its failures, cancel it), an operator's.
async fn run_decision(
    console: &Console,
    session: &Session,
    run_id: RunId,
    kind: ActionKind,
    form: &DecisionForm,
) -> Result<Redirect, ConsoleError> {
    require(session, Role::Operator)?;
    let action = by_user(
        console,
        session,
        run_id,
        (None, None),
        kind,
        Some(form.reason()?),
    );
    apply(console, action).await
}

/// `POST /runs/{run}/retry`: every failed step run goes back (redrive).
pub async fn retry(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path(run_id): Path<RunId>,
    Form(form): Form<DecisionForm>,
) -> Result<Redirect, ConsoleError> {
    run_decision(&console, &session, run_id, ActionKind::Retry, &form).await
}

/// `POST /runs/{run}/cancel`.
pub async fn cancel(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path(run_id): Path<RunId>,
    Form(form): Form<DecisionForm>,
) -> Result<Redirect, ConsoleError> {
    run_decision(&console, &session, run_id, ActionKind::Cancel, &form).await
}

/// `POST /runs/{run}/resume`: the run is claimed and continued from its checkpoints by this
/// process's [`Runner`](super::runner::Runner), as `sluice resume` continues it; refused (409)
/// when a live process holds it, so a second click starts nothing.
pub async fn resume(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path(run_id): Path<RunId>,
    Form(form): Form<DecisionForm>,
) -> Result<Redirect, ConsoleError> {
    require(&session, Role::Operator)?;
    let Some(runner) = console.runner() else {
        return Err(ConsoleError::NoRunner(run_id));
    };
    let action = by_user(
        &console,
        &session,
        run_id.clone(),
        (None, None),
        ActionKind::Resume,
        Some(form.reason()?),
    );
    runner.resume(action).await?;
    tracing::info!(run_id = %run_id, actor = %session.user, "Run resumed from the console.");
    Ok(Redirect::to(&format!("/runs/{}", segment(run_id.as_str()))))
}

/// `POST /runs/{run}/discrepancies/{id}/dismiss`: an open reconciliation discrepancy needs
/// nothing more, for a reason; back to the inbox, where it was shown. One already cleared or
/// dismissed (a second click) is refused with 409.
pub async fn dismiss(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path((run_id, id)): Path<(RunId, i64)>,
    Form(form): Form<DecisionForm>,
) -> Result<Redirect, ConsoleError> {
    require(&session, Role::Operator)?;
    let dismissal = Dismissal {
        run_id,
        id,
        actor: session.user.clone(),
        reason: form.reason()?,
    };
    let record = console.store().dismiss_discrepancy(&dismissal).await?;
    tracing::info!(
        run_id = %dismissal.run_id,
        discrepancy = id,
        actor = %record.action.actor,
        "Discrepancy dismissed from the console."
    );
    Ok(Redirect::to("/"))
}

/// `POST /events/{id}/replay`: the event is delivered to the waiting steps again.
pub async fn replay(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path(event_id): Path<i64>,
) -> Result<Redirect, ConsoleError> {
    require(&session, Role::Operator)?;
    let replayed = crate::webhooks::replay(&**console.store(), event_id).await?;
    tracing::info!(
        event = event_id,
        redelivery = replayed.id,
        woken = replayed.woken.len(),
        actor = %session.user,
        "Webhook event replayed from the console."
    );
    Ok(Redirect::to("/events"))
}
