//! `sluice plan FILE`: the dry run for review, as text, Markdown or JSON, optionally
//! written with `--out` for `sluice run --plan`; `sluice plan --diff OLD NEW` compares two
//! plans; and [`verify`], which `run --plan` calls to make sure it runs the reviewed plan.
//!
//! Planning reads no credential and sends nothing (see `review::adapters`).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::ValueEnum;
use serde_json::{Map, Value};

use super::common::read_inputs;
use super::{exit, workflow};
use crate::plan::CompiledWorkflow;
use crate::plan::inputs::{Given, resolve};
use crate::review::model::{DryRun, InputSource, Severity};
use crate::review::warnings::parse_balances;
use crate::review::{
    Checks, PlanAdapters, Source, Style, Threshold, build, diff, from_json, recorded,
    render_diff_markdown, render_diff_text, render_markdown, render_text, to_json, verify,
    write_json,
};
use crate::spec::Loaded;
use crate::spec::env::process_env;

/// Show what a run would do, without sending anything: every step in order, each item's
/// exact request (credentials masked), totals, warnings and the plan hash.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice plan workflows/payroll.yaml --input payees=@workflows/data/payroll.csv
  sluice plan workflows/payroll.yaml -i payees=@payroll.csv --format markdown > plan.md
  sluice plan workflows/payroll.yaml -i payees=@payroll.csv --out plan.json
  sluice run --plan plan.json                     # runs exactly the reviewed plan
  sluice plan workflows/payroll.yaml -i payees=@payroll.csv --threshold EURC=5000 --balances balances.json
  sluice plan --diff old-plan.json plan.json

Exit status: 0 the plan is ready (warnings allowed), 2 the plan has errors or the workflow or
inputs are invalid.")]
pub struct PlanArgs {
    /// The workflow file.
    #[arg(value_name = "FILE", required_unless_present = "diff")]
    pub file: Option<PathBuf>,
    /// An input: `name=value`, or `name=@file` to read a file (CSV, JSON).
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// Output format (text is coloured on a terminal unless `NO_COLOR` is set).
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
    /// Also write the plan as JSON to this file, for `sluice run --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Warn about any item above this amount: `5000` for every asset, `EURC=5000` for one
    /// (repeatable).
    #[arg(long, value_name = "[ASSET=]AMOUNT")]
    pub threshold: Vec<String>,
    /// A JSON object of asset or currency → available amount; warn when the plan sends
    /// more.
    #[arg(long, value_name = "FILE")]
    pub balances: Option<PathBuf>,
    /// Compare two plan files (`--out`) instead of planning.
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"],
          conflicts_with_all = ["file", "inputs", "out", "threshold", "balances"])]
    pub diff: Option<Vec<PathBuf>>,
}

/// How a plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// For a terminal.
    Text,
    /// For a pull request.
    Markdown,
    /// Every item, for tools (the `--out` format).
    Json,
}

/// Runs `plan`.
///
/// # Errors
/// An output file that cannot be written.
pub fn run(args: &PlanArgs) -> Result<ExitCode> {
    if let Some(files) = &args.diff {
        return compare(&files[0], &files[1], args.format);
    }
    let file = args
        .file
        .as_deref()
        .expect("clap requires FILE without --diff");
    let Ok((loaded, compiled)) = workflow::load_and_compile(file).map_err(workflow::report_io)
    else {
        return Ok(exit::code(exit::INVALID));
    };
    let given = match read_inputs(&args.inputs) {
        Ok(g) => g,
        Err(e) => return Ok(invalid(&format!("{e:#}"))),
    };
    let Some(inputs) = resolved(&compiled, &given) else {
        return Ok(exit::code(exit::INVALID));
    };
    let checks = match checks(args) {
        Ok(c) => c,
        Err(e) => return Ok(invalid(&e)),
    };
    let plan = match make(file, &loaded, &compiled, &given, inputs, &checks) {
        Ok(p) => p,
        Err(e) => return Ok(invalid(&e)),
    };
    let text = match args.format {
        PlanFormat::Text => render_text(&plan, Style::new(colour())),
        PlanFormat::Markdown => render_markdown(&plan),
        PlanFormat::Json => to_json(&plan),
    };
    super::print_stdout(&text);
    if let Some(out) = &args.out {
        write_plan(out, &plan)
            .with_context(|| format!("cannot write the plan to `{}`", out.display()))?;
        eprintln!(
            "plan written to `{}` (hash {}); run it with `sluice run --plan {}`",
            out.display(),
            plan.plan_hash,
            out.display()
        );
    }
    let errors = plan.count(Severity::Error);
    if errors > 0 {
        eprintln!(
            "error: the plan has {errors} error{}; a run would refuse or fail them",
            if errors == 1 { "" } else { "s" }
        );
        return Ok(exit::code(exit::INVALID));
    }
    Ok(exit::code(exit::SUCCESS))
}

/// Writes `plan` as JSON to the file `out`, as it is serialised.
fn write_plan(out: &Path, plan: &DryRun) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    write_json(plan, &mut file)?;
    std::io::Write::flush(&mut file)
}

/// Colour only on a terminal, and never with `NO_COLOR`.
fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn invalid(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    exit::code(exit::INVALID)
}

/// The inputs resolved against the workflow; errors printed.
fn resolved(
    compiled: &CompiledWorkflow,
    given: &BTreeMap<String, Given>,
) -> Option<Map<String, Value>> {
    match resolve(&compiled.config.inputs, given) {
        Ok(inputs) => Some(inputs),
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            None
        }
    }
}

fn checks(args: &PlanArgs) -> Result<Checks, String> {
    let thresholds = args
        .threshold
        .iter()
        .map(|t| Threshold::parse(t).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let balances = match &args.balances {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            Some(parse_balances(&text).map_err(|e| format!("`{}`: {e}", path.display()))?)
        }
        None => None,
    };
    Ok(Checks {
        thresholds,
        balances,
    })
}

/// Builds the plan of `loaded` with its inputs (taken: the plan keeps them as text).
fn make(
    file: &Path,
    loaded: &Loaded,
    compiled: &CompiledWorkflow,
    given: &BTreeMap<String, Given>,
    inputs: Map<String, Value>,
    checks: &Checks,
) -> Result<DryRun, String> {
    let adapters =
        PlanAdapters::from_env(&compiled.config, &process_env).map_err(|e| e.to_string())?;
    let recorded = recorded::record(&compiled.config.inputs, given, &inputs);
    let path = file.display().to_string();
    Ok(build(
        Source {
            path: &path,
            text: &loaded.source.text,
            compiled,
            inputs,
            recorded: &recorded,
        },
        &adapters,
        checks,
    ))
}

fn read_plan(path: &Path) -> Result<DryRun, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the plan `{}`: {e}", path.display()))?;
    from_json(&text).map_err(|e| format!("`{}`: {e}", path.display()))
}

/// `plan --diff OLD NEW`.
fn compare(old: &Path, new: &Path, format: PlanFormat) -> Result<ExitCode> {
    let (old, new) = match (read_plan(old), read_plan(new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Ok(invalid(&e)),
    };
    let d = diff(&old, &new);
    let text = match format {
        PlanFormat::Text => render_diff_text(&d, Style::new(colour())),
        PlanFormat::Markdown => render_diff_markdown(&d),
        PlanFormat::Json => {
            let mut t = serde_json::to_string_pretty(&d).expect("plain data serialises");
            t.push('\n');
            t
        }
    };
    super::print_stdout(&text);
    Ok(exit::code(exit::SUCCESS))
}

/// A reviewed plan that still matches: what `run --plan` executes.
pub struct Verified {
    /// The workflow file.
    pub path: PathBuf,
    /// It, loaded.
    pub loaded: Loaded,
    /// It, compiled.
    pub compiled: CompiledWorkflow,
    /// The inputs, resolved exactly as when the plan was made.
    pub inputs: Map<String, Value>,
    /// The plan's hash, recorded with the run.
    pub plan_hash: String,
}

/// Makes the plan again from the plan file's recorded workflow (or `file`) and inputs, and
/// checks it is the reviewed one. On any difference it prints what differs and returns
/// the exit code (2).
///
/// # Errors
/// None of its own; the `Result` leaves room for the caller's `?`.
pub fn verify(plan_path: &Path, file: Option<&Path>) -> Result<Result<Verified, ExitCode>> {
    let reviewed = match read_plan(plan_path) {
        Ok(p) => p,
        Err(e) => return Ok(Err(invalid(&e))),
    };
    let path = file.map_or_else(|| PathBuf::from(&reviewed.workflow.path), Path::to_path_buf);
    let Ok((loaded, compiled)) = workflow::load_and_compile(&path).map_err(workflow::report_io)
    else {
        return Ok(Err(exit::code(exit::INVALID)));
    };
    let refuse = |what: Vec<String>| {
        eprintln!(
            "error: `{}` is not the plan this run would execute:",
            plan_path.display()
        );
        for w in what {
            eprintln!("  - {w}");
        }
        eprintln!(
            "hint: review a new plan: {}",
            replan_command(&reviewed, &path, plan_path)
        );
        Err(exit::code(exit::INVALID))
    };
    let mut given = BTreeMap::new();
    for input in &reviewed.inputs.values {
        let value = match (input.source, &input.value, &input.path) {
            (InputSource::Literal, Some(v), _) => Given::Literal(v.clone()),
            (InputSource::File, _, Some(p)) => match std::fs::read_to_string(p) {
                Ok(text) => Given::File {
                    path: p.clone(),
                    text,
                },
                Err(e) => {
                    return Ok(refuse(vec![format!(
                        "input `{}` cannot be read (`{p}`: {e})",
                        input.name
                    )]));
                }
            },
            _ => continue,
        };
        given.insert(input.name.clone(), value);
    }
    let Some(inputs) = resolved(&compiled, &given) else {
        return Ok(refuse(vec![
            "the inputs the plan recorded no longer fit the workflow".to_string(),
        ]));
    };
    let fresh = match make(
        &path,
        &loaded,
        &compiled,
        &given,
        inputs.clone(),
        &Checks::default(),
    ) {
        Ok(p) => p,
        Err(e) => return Ok(Err(invalid(&e))),
    };
    let differences = verify::differences(&reviewed, &fresh);
    if !differences.is_empty() {
        return Ok(refuse(
            differences.iter().map(ToString::to_string).collect(),
        ));
    }
    let errors = fresh.count(Severity::Error);
    if errors > 0 {
        return Ok(Err(invalid(&format!(
            "the plan has {errors} error{}; fix them and review a new plan",
            if errors == 1 { "" } else { "s" }
        ))));
    }
    eprintln!(
        "plan `{}` matches (hash {})",
        plan_path.display(),
        fresh.plan_hash
    );
    Ok(Ok(Verified {
        path,
        loaded,
        compiled,
        inputs,
        plan_hash: fresh.plan_hash,
    }))
}

/// The `sluice plan …` command that makes the plan again with the recorded inputs.
fn replan_command(plan: &DryRun, file: &Path, out: &Path) -> String {
    let mut cmd = format!("sluice plan {}", file.display());
    for i in &plan.inputs.values {
        match (i.source, &i.value, &i.path) {
            (InputSource::Literal, Some(v), _) => cmd.push_str(&format!(" --input {}={v}", i.name)),
            (InputSource::File, _, Some(p)) => cmd.push_str(&format!(" --input {}=@{p}", i.name)),
            _ => {}
        }
    }
    cmd.push_str(&format!(" --out {}", out.display()));
    cmd
}
