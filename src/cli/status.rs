//! `sluice status RUN`: every step and item with its state, attempts and last error, the
//! operator's decisions, the payments that failed after commit or that reconciliation found
//! disagreeing with their provider, and what to do next.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;

use super::common::DbArgs;
use super::exit;
use crate::approval::Waiting;
use crate::ids::{RunId, StepId};
use crate::store::{
    DiscrepancyRecord, OperatorRecord, RunRecord, RunStatus, Settlement, SettlementRecord,
    StepRecord, StepState,
};

/// Show a run: its steps and items, attempts, errors, operator actions, and the next command.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice status run_0193f0c2a1b4e5d6c7b8a9f0
  sluice status run_0193f0c2a1b4e5d6c7b8a9f0 --items      # list every item, not only the unfinished ones")]
pub struct StatusArgs {
    /// The run.
    #[arg(value_name = "RUN")]
    pub run_id: RunId,
    /// List every item of `for_each` steps.
    #[arg(long)]
    pub items: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Items listed per step unless `--items`.
const ITEMS_SHOWN: usize = 20;

/// Runs `status`.
///
/// # Errors
/// An unknown run or a store failure.
pub async fn run(args: &StatusArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    let run = store.load_run(&args.run_id).await?;
    let steps = store.load_steps(&args.run_id).await?;
    let actions = store.list_operator_actions(&args.run_id).await?;
    let settlements = store.load_settlements(&args.run_id).await?;
    let discrepancies = store.load_discrepancies(&args.run_id).await?;
    super::print_stdout(&render(
        &run,
        &steps,
        &actions,
        &settlements,
        &discrepancies,
        args.items,
    ));
    Ok(exit::code(exit::SUCCESS))
}

/// The status text (stable: no colour, no terminal width).
pub fn render(
    run: &RunRecord,
    steps: &[StepRecord],
    actions: &[OperatorRecord],
    settlements: &[SettlementRecord],
    discrepancies: &[DiscrepancyRecord],
    all_items: bool,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run {} ({}): {}",
        run.id,
        run.workflow_name,
        run.status.as_str()
    );
    let _ = writeln!(out, "  workflow  {}", run.workflow_path);
    let by = run
        .started_by
        .as_deref()
        .map(|who| format!(" by {who}"))
        .unwrap_or_default();
    let _ = writeln!(out, "  started   {}{by}", run.created_at.to_rfc3339());
    if let Some(done) = run.finished_at {
        let _ = writeln!(out, "  finished  {}", done.to_rfc3339());
    }
    if let Some(lease) = &run.lease {
        let _ = writeln!(
            out,
            "  held by   {} until {}",
            lease.owner,
            lease.expires_at.to_rfc3339()
        );
    }
    out.push_str("\nsteps\n");
    let mut groups: Vec<(&str, Vec<&StepRecord>)> = Vec::new();
    for s in steps {
        match groups.last_mut() {
            Some((id, rows)) if *id == s.key.step_id => rows.push(s),
            _ => groups.push((&s.key.step_id, vec![s])),
        }
    }
    let (undos, own): (Vec<_>, Vec<_>) = groups
        .into_iter()
        .partition(|(id, _)| StepId::from(*id).undoes().is_some());
    for (id, rows) in &own {
        group_text(&mut out, run, id, rows, all_items);
    }
    compensation_text(&mut out, run, &undos, all_items);
    if !actions.is_empty() {
        out.push_str("\noperator actions\n");
        for a in actions {
            let target = match (&a.action.step_id, &a.action.item_key) {
                (Some(s), Some(i)) => format!(" {s}[{i}]"),
                (Some(s), None) => format!(" {s}"),
                _ => String::new(),
            };
            let why = a
                .action
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {}{target} by {}{why}",
                a.at.to_rfc3339(),
                a.action.kind,
                a.action.actor
            );
        }
    }
    let mut nexts = Vec::new();
    let failed: Vec<&SettlementRecord> = settlements
        .iter()
        .filter(|s| s.settlement.settlement == Settlement::FailedAfterCommit)
        .collect();
    if !failed.is_empty() {
        failed_text(&mut out, &failed);
        nexts.push(format!(
            "{} payment(s) failed after commit: pay them again (see `sluice report {}`)",
            failed.len(),
            run.id
        ));
    }
    let open: Vec<&DiscrepancyRecord> = discrepancies
        .iter()
        .filter(|d| d.cleared_at.is_none())
        .collect();
    if !open.is_empty() {
        discrepancies_text(&mut out, &open);
        nexts.push(format!(
            "{} payment(s) disagree with the provider's records: check them with \
             `sluice reconcile {}`, then dismiss what needs nothing more with \
             `sluice dismiss {} ID --reason TEXT`",
            open.len(),
            run.id,
            run.id
        ));
    }
    if nexts.is_empty() {
        nexts.push(next(run, steps));
    }
    out.push('\n');
    for n in nexts {
        let _ = writeln!(out, "next: {n}");
    }
    out
}

/// The payments the provider failed after accepting them.
fn failed_text(out: &mut String, failed: &[&SettlementRecord]) {
    out.push_str("\npayments failed after commit (the payee was not paid)\n");
    for f in failed {
        let k = &f.settlement.key;
        let _ = writeln!(
            out,
            "  {}[{}] {} at {}",
            k.step_id,
            k.item_key,
            f.settlement.provider_state.as_deref().unwrap_or("failed"),
            f.at.to_rfc3339()
        );
    }
}

/// The open discrepancies `serve`'s reconciliation found.
fn discrepancies_text(out: &mut String, open: &[&DiscrepancyRecord]) {
    out.push_str("\nreconciliation discrepancies (the provider's records disagree)\n");
    for d in open {
        let k = &d.discrepancy.key;
        let _ = writeln!(
            out,
            "  #{} {}[{}] {} ({}): {}, found {}",
            d.id,
            k.step_id,
            k.item_key,
            d.discrepancy.kind.as_str(),
            d.discrepancy.provider_ref,
            d.discrepancy.detail,
            d.found_at.to_rfc3339()
        );
    }
}

/// One step's rows: its state, and its items counted (the open ones, or all, listed).
fn group_text(out: &mut String, run: &RunRecord, id: &str, rows: &[&StepRecord], all_items: bool) {
    let parent = rows[0];
    let _ = writeln!(
        out,
        "  {id:<24} {}{}",
        parent.state.as_str(),
        detail(parent)
    );
    if let Some(progress) = approval_progress(run, parent) {
        let _ = writeln!(out, "    {progress}");
    }
    let items = &rows[1..];
    if items.is_empty() {
        return;
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for i in items {
        *counts.entry(i.state.as_str()).or_default() += 1;
    }
    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let _ = writeln!(out, "    {} items: {}", items.len(), summary.join(", "));
    let shown: Vec<&&StepRecord> = items
        .iter()
        .filter(|i| all_items || i.state != StepState::Succeeded)
        .collect();
    for i in shown
        .iter()
        .take(if all_items { usize::MAX } else { ITEMS_SHOWN })
    {
        let _ = writeln!(
            out,
            "    [{}] {}{}",
            i.key.item_key,
            i.state.as_str(),
            detail(i)
        );
    }
    if !all_items && shown.len() > ITEMS_SHOWN {
        let _ = writeln!(
            out,
            "    … {} more (sluice status {} --items)",
            shown.len() - ITEMS_SHOWN,
            run.id
        );
    }
}

/// The undo rows of a compensating run, with how many are done; before compensation starts,
/// one line saying they are registered.
fn compensation_text(
    out: &mut String,
    run: &RunRecord,
    undos: &[(&str, Vec<&StepRecord>)],
    all_items: bool,
) {
    if undos.is_empty() {
        return;
    }
    // The rows that undo one thing: a step's own, or each of its items.
    let leaves: Vec<&StepRecord> = undos
        .iter()
        .flat_map(|(_, rows)| {
            if rows.len() > 1 {
                &rows[1..]
            } else {
                &rows[..]
            }
        })
        .copied()
        .collect();
    let started = matches!(
        run.status,
        RunStatus::Compensating | RunStatus::Compensated | RunStatus::CompensationFailed
    ) || leaves.iter().any(|r| r.state != StepState::Pending);
    if !started {
        let _ = writeln!(
            out,
            "\ncompensation: {} undo(s) registered, none needed so far",
            leaves.len()
        );
        return;
    }
    let done = leaves
        .iter()
        .filter(|r| r.state == StepState::Succeeded)
        .count();
    let _ = writeln!(
        out,
        "\ncompensation: {done} undone, {} not needed or not yet",
        leaves.len() - done
    );
    for (id, rows) in undos {
        group_text(out, run, id, rows, all_items);
    }
}

fn detail(s: &StepRecord) -> String {
    let mut d = String::new();
    if s.attempts > 0 {
        let _ = write!(d, " (attempts: {})", s.attempts);
    }
    if let Some(r) = &s.provider_ref {
        let _ = write!(d, " ref {r}");
    }
    match s.state {
        StepState::Skipped => {
            if let Some(r) = &s.skip_reason {
                let _ = write!(d, ": {r}");
            }
        }
        StepState::Succeeded => {}
        _ => {
            if let Some(e) = &s.error {
                let _ = write!(d, ": [{}] {}", e.class, e.message);
            }
        }
    }
    d
}

/// Where a waiting approval stands: `1 of 2 approvals: alice; waiting for one more, not bob`.
pub fn approval_progress(run: &RunRecord, step: &StepRecord) -> Option<String> {
    let waiting = step
        .request
        .as_ref()
        .filter(|_| step.state == StepState::Waiting)
        .and_then(Waiting::from_request)?;
    let asked = format!("asked: {}", waiting.policy);
    Some(format!(
        "{}\n    {asked}",
        waiting.progress(run.started_by.as_deref())
    ))
}

fn next(run: &RunRecord, steps: &[StepRecord]) -> String {
    let id = &run.id;
    match run.status {
        RunStatus::Succeeded => "nothing: the run succeeded".into(),
        RunStatus::Cancelled => "nothing: the run was cancelled".into(),
        RunStatus::NeedsAttention => {
            let first = steps.iter().find(|s| s.state == StepState::NeedsAttention);
            match first {
                Some(s) => {
                    let target = if s.key.item_key.is_empty() {
                        s.key.step_id.to_string()
                    } else {
                        format!("{}[{}]", s.key.step_id, s.key.item_key)
                    };
                    format!(
                        "check the provider, then `sluice resolve {id} {target} --succeeded PROVIDER_ID | --retry | --skip --reason TEXT`, then `sluice resume {id}`"
                    )
                }
                None => format!("sluice resume {id}"),
            }
        }
        RunStatus::Waiting => match steps.iter().find(|s| s.state == StepState::Waiting) {
            Some(s)
                if s.request
                    .as_ref()
                    .is_some_and(|r| r.get("approval").is_some()) =>
            {
                format!(
                    "sluice approve {id} {step} (or sluice deny {id} {step} --reason TEXT), then sluice resume {id}",
                    step = s.key.step_id
                )
            }
            _ => format!("sluice resume {id} (it waits for an event)"),
        },
        RunStatus::Failed => format!(
            "fix the cause, then `sluice retry {id} --failed` (re-runs only what failed) or `sluice resume {id}`"
        ),
        RunStatus::Compensated => {
            "nothing: the run failed and everything it had done was undone".into()
        }
        RunStatus::CompensationFailed => format!(
            "check the compensations that did not succeed at the provider, undo by hand or `sluice resolve {id} STEP.compensate --succeeded PROVIDER_ID | --retry`, then `sluice resume {id}`"
        ),
        RunStatus::Pending | RunStatus::Running | RunStatus::Compensating => match &run.lease {
            Some(l) => format!("wait: {} is running it", l.owner),
            None => format!("sluice resume {id}"),
        },
    }
}
