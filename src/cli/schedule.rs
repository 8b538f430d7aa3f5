//! `sluice schedule list [DIR]`: the next fire times of every scheduled workflow in a
//! directory, in the workflow's time zone and in UTC; `sluice schedule slots`: the recent
//! slots in the store and what became of each (fired, skipped, missed, failed, and why).
//! Also loads a directory of workflow files for any command that serves them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::common::DbArgs;
use super::{exit, workflow};
use crate::plan::CompiledWorkflow;
use crate::scheduler::{Providers, Schedule, ScheduledWorkflow};
use crate::spec::{CatchUp, Loaded, Overlap};
use crate::store::{SlotRecord, SlotState};

/// Show schedules.
#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    command: ScheduleCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ScheduleCommand {
    /// Show the next fire times of every workflow with a `schedule:`.
    List(ListArgs),
    /// Show the recent slots in the database: fired (with the run), skipped, missed or
    /// failed, and why.
    Slots(SlotsArgs),
}

/// `schedule slots`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice schedule slots
  sluice schedule slots --workflow payroll -n 50

A slot is `fired` when its run was created (`failed` once that run failed, or when it could
not be prepared), `skipped` when `overlap: skip` passed over it while another run was live,
and `missed` when no `sluice serve` was running at the time and `catch_up` did not fire it
late; a missed slot also owes the `schedule_missed` notification.")]
struct SlotsArgs {
    /// Only this workflow's slots.
    #[arg(long, value_name = "NAME")]
    workflow: Option<String>,
    /// How many slots to show, newest first.
    #[arg(long, short = 'n', value_name = "N", default_value_t = 20)]
    limit: u32,
    #[command(flatten)]
    db: DbArgs,
}

/// `schedule list`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice schedule list
  sluice schedule list workflows/ --count 10
  sluice schedule list workflows/payroll.yaml

Times are shown in each workflow's `timezone` and in UTC. A local time skipped by a
daylight-saving change does not fire; one that happens twice fires once.

Exit status: 0 when every file is valid, 2 otherwise (the valid ones are still listed).")]
struct ListArgs {
    /// A directory of workflow files (`*.yaml`, `*.yml`), or one file.
    #[arg(value_name = "DIR", default_value = "workflows")]
    dir: PathBuf,
    /// How many fire times to show per workflow.
    #[arg(long, short = 'n', value_name = "N", default_value_t = 5)]
    count: usize,
    /// Count from this instant (RFC 3339) instead of the clock.
    #[arg(long, hide = true, value_name = "TIME")]
    now: Option<DateTime<Utc>>,
}

/// Runs `schedule`.
pub fn run(args: &ScheduleArgs) -> ExitCode {
    match &args.command {
        ScheduleCommand::List(list_args) => list(list_args),
        ScheduleCommand::Slots(slots_args) => slots(slots_args),
    }
}

fn slots(args: &SlotsArgs) -> ExitCode {
    let read = async {
        let store = args.db.open().await?;
        let slots = store
            .list_slots(args.workflow.as_deref(), args.limit)
            .await?;
        anyhow::Ok(slots)
    };
    let slots = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(read));
    match slots {
        Ok(slots) => {
            super::print_stdout(&slots_table(&slots));
            exit::code(exit::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {}", super::error_chain(e.as_ref()));
            exit::code(exit::FAILED)
        }
    }
}

/// The slots as a table, newest first.
fn slots_table(slots: &[SlotRecord]) -> String {
    if slots.is_empty() {
        return "no slot has come due yet\n".to_string();
    }
    let mut out = format!(
        "{:<21} {:<20} {:<8} {:<40} {}\n",
        "SLOT (UTC)", "WORKFLOW", "OUTCOME", "RUN", "WHY"
    );
    for slot in slots {
        let shown = slot.shown();
        let run = match slot.state {
            SlotState::Fired | SlotState::Failed => slot.run_id.as_str(),
            SlotState::Skipped | SlotState::Missed => "-",
        };
        let why = match (&slot.reason, shown, slot.state) {
            (Some(reason), _, _) => reason.clone(),
            (None, SlotState::Failed, SlotState::Fired) => {
                format!("the run failed (`sluice status {}`)", slot.run_id)
            }
            _ => String::new(),
        };
        let line = format!(
            "{:<21} {:<20} {:<8} {:<40} {why}",
            slot.slot_at.format("%Y-%m-%dT%H:%M:%SZ"),
            slot.workflow_name,
            shown.as_str(),
            run
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn list(args: &ListArgs) -> ExitCode {
    let dir = match load_dir(&args.dir) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::code(exit::INVALID);
        }
    };
    let now = args.now.unwrap_or_else(Utc::now);
    let mut out = String::new();
    let mut unscheduled = Vec::new();
    for (loaded, compiled) in &dir.workflows {
        let name = &compiled.config.name;
        let Some(config) = &compiled.config.schedule else {
            unscheduled.push(format!("{name} ({})", loaded.source.name));
            continue;
        };
        // `plan::compile` has checked the expression and the time zone.
        let Ok(schedule) = Schedule::new(config) else {
            continue;
        };
        out.push_str(&format!("{name} ({})\n", loaded.source.name));
        out.push_str(&format!(
            "  `{}` in {}, catch_up: {}, overlap: {}\n",
            config.cron,
            schedule.timezone(),
            catch_up_word(config.catch_up),
            overlap_word(config.overlap)
        ));
        let tz = schedule.timezone();
        let slots: Vec<(String, String)> = schedule
            .upcoming(now)
            .take(args.count)
            .map(|slot| {
                (
                    slot.with_timezone(&tz)
                        .format("%a %Y-%m-%d %H:%M:%S %Z")
                        .to_string(),
                    slot.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                )
            })
            .collect();
        let width = slots
            .iter()
            .map(|(local, _)| local.len())
            .max()
            .unwrap_or(0);
        for (local, utc) in &slots {
            out.push_str(&format!("  {local:<width$}  {utc}\n"));
        }
        if slots.is_empty() {
            out.push_str("  never fires\n");
        }
        out.push('\n');
    }
    if !unscheduled.is_empty() {
        out.push_str(&format!("not scheduled: {}\n", unscheduled.join(", ")));
    }
    super::print_stdout(&out);
    if dir.invalid > 0 {
        eprintln!("{} of {} files invalid", dir.invalid, dir.files);
        return exit::code(exit::INVALID);
    }
    exit::code(exit::SUCCESS)
}

fn catch_up_word(policy: CatchUp) -> &'static str {
    match policy {
        CatchUp::None => "none",
        CatchUp::Latest => "latest",
        CatchUp::All => "all",
    }
}

fn overlap_word(policy: Overlap) -> &'static str {
    match policy {
        Overlap::Skip => "skip",
        Overlap::Queue => "queue",
        Overlap::Allow => "allow",
    }
}

/// A directory of workflow files, loaded, compiled and checked for scheduling.
pub(super) struct Dir {
    /// The valid files, in file-name order.
    pub workflows: Vec<(Loaded, CompiledWorkflow)>,
    /// How many files were invalid (their diagnostics are printed).
    pub invalid: usize,
    /// How many files were read.
    pub files: usize,
}

/// Loads every `*.yaml` and `*.yml` file of `path` (or the one file `path`), printing each
/// problem like `validate` does: an invalid file, or a second file with a workflow name
/// already taken, is reported and left out; the others are returned.
///
/// # Errors
/// When `path` cannot be read, or holds no workflow file.
pub(super) fn load_dir(path: &Path) -> anyhow::Result<Dir> {
    let files = workflow_files(path)?;
    let mut dir = Dir {
        workflows: Vec::new(),
        invalid: 0,
        files: files.len(),
    };
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for file in &files {
        let (loaded, compiled) = match workflow::load_and_compile(file) {
            Ok(valid) => valid,
            Err(e) => {
                workflow::report_io(e);
                dir.invalid += 1;
                continue;
            }
        };
        let name = compiled.config.name.clone();
        if let Some(first) = names.get(&name) {
            eprintln!(
                "error: `{}` names its workflow `{name}`, like `{first}`; it is left out",
                loaded.source.name
            );
            dir.invalid += 1;
            continue;
        }
        names.insert(name, loaded.source.name.clone());
        dir.workflows.push((loaded, compiled));
    }
    Ok(dir)
}

/// The scheduled workflows of `dir`, each with the adapters `adapters` builds for it. An
/// invalid file, or one whose adapters cannot be built, is reported and left out; the others
/// are returned.
///
/// # Errors
/// As [`load_dir`].
pub(super) fn scheduled_in(
    dir: &Path,
    adapters: impl Fn(&CompiledWorkflow) -> anyhow::Result<Providers>,
) -> anyhow::Result<Vec<Arc<ScheduledWorkflow>>> {
    let loaded = load_dir(dir)?;
    let mut scheduled = Vec::new();
    for (source, compiled) in loaded.workflows {
        let providers = match adapters(&compiled) {
            Ok(p) => p,
            Err(error) => {
                tracing::warn!(path = %source.source.name, error = %format!("{error:#}"), "Workflow not scheduled.");
                continue;
            }
        };
        match ScheduledWorkflow::new(&source, compiled, providers) {
            Ok(Some(w)) => scheduled.push(Arc::new(w)),
            Ok(None) => {}
            Err(diagnostics) => super::report::eprint(&source.source, &diagnostics),
        }
    }
    Ok(scheduled)
}

/// The workflow files of a directory, sorted, or the one file given.
fn workflow_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    use anyhow::Context;
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path)
        .with_context(|| format!("cannot read the directory `{}`", path.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let file = entry
            .with_context(|| format!("cannot read the directory `{}`", path.display()))?
            .path();
        let yaml = file
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml");
        if yaml && file.is_file() {
            files.push(file);
        }
    }
    if files.is_empty() {
        anyhow::bail!(
            "no workflow files (`*.yaml`, `*.yml`) in `{}`",
            path.display()
        );
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::store::RunStatus;

    #[test]
    fn slots_show_their_outcome_their_run_only_if_they_have_one_and_why() {
        let at = DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
            .unwrap()
            .to_utc();
        let slot = |h: i64, state, run_status, reason: Option<&str>| SlotRecord {
            workflow_name: "payroll".into(),
            slot_at: at - TimeDelta::hours(h),
            run_id: format!("sched_payroll_{h}").into(),
            claimed_at: at,
            state,
            reason: reason.map(str::to_owned),
            run_status,
        };
        let table = slots_table(&[
            slot(0, SlotState::Fired, Some(RunStatus::Succeeded), None),
            slot(1, SlotState::Fired, Some(RunStatus::Failed), None),
            slot(
                2,
                SlotState::Skipped,
                None,
                Some("run `sched_payroll_1` was still live"),
            ),
            slot(3, SlotState::Missed, None, Some("no scheduler was running")),
        ]);
        let lines: Vec<Vec<&str>> = table
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().take(4).collect())
            .collect();
        assert_eq!(
            lines,
            [
                vec![
                    "2026-11-20T08:00:00Z",
                    "payroll",
                    "fired",
                    "sched_payroll_0"
                ],
                vec![
                    "2026-11-20T07:00:00Z",
                    "payroll",
                    "failed",
                    "sched_payroll_1"
                ],
                vec!["2026-11-20T06:00:00Z", "payroll", "skipped", "-"],
                vec!["2026-11-20T05:00:00Z", "payroll", "missed", "-"],
            ]
        );
        assert!(table.contains("the run failed (`sluice status sched_payroll_1`)"));
        assert!(table.lines().all(|l| l == l.trim_end()));
        assert_eq!(slots_table(&[]), "no slot has come due yet\n");
    }
}
