//! `sluice reconcile`: a run's payments (or a workflow's since a date) compared with the
//! providers' own records. Read-only: it never writes to a provider.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::common::{DbArgs, build_providers};
use super::exit;
use super::payments::{compile_for, load_payments, table};
use crate::ids::RunId;
use crate::settlement::{Finding, Payment, Scope, reconcile};
use crate::store::{RunFilter, RunRecord, Store};

/// Compare a run's payments, or a workflow's since a date, with what the providers hold:
/// matched, state mismatch, amount or currency mismatch, missing at the provider, or a
/// provider object with a sluice marker that no record names.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice reconcile run_0193f0c2a1b4e5d6c7b8a9f0
  sluice reconcile --workflow payroll --since 2026-11-01
  sluice reconcile run_0193f0c2a1b4e5d6c7b8a9f0 --format json

Exit status: 0 every payment matches, 1 a mismatch (each named by its item key) or a provider
that could not be read, 2 usage error.")]
pub struct ReconcileArgs {
    /// The run.
    #[arg(value_name = "RUN", required_unless_present = "workflow_name")]
    pub run_id: Option<RunId>,
    /// Every run of this workflow since `--since` instead of one run.
    #[arg(
        long = "workflow",
        value_name = "NAME",
        requires = "since",
        conflicts_with = "run_id"
    )]
    pub workflow_name: Option<String>,
    /// The start of the period (`2026-11-01`, midnight UTC, or an RFC 3339 instant).
    #[arg(long, value_name = "DATE", value_parser = super::prune::parse_instant, requires = "workflow_name")]
    pub since: Option<DateTime<Utc>>,
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: Shown,
    #[command(flatten)]
    pub db: DbArgs,
}

/// How the findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shown {
    /// A summary and a table of what does not match.
    Markdown,
    /// Every finding, matched ones included.
    Json,
}

/// Runs `reconcile`.
///
/// # Errors
/// An unknown run, an unusable workflow or provider block, a store failure.
pub async fn run(args: &ReconcileArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    let (runs, scope) = match (&args.run_id, &args.workflow_name, args.since) {
        (Some(id), _, _) => (vec![store.load_run(id).await?], Scope::Payments),
        (None, Some(name), Some(since)) => runs_since(&store, name, since).await?,
        _ => unreachable!("clap requires RUN or --workflow with --since"),
    };
    let Some(newest) = runs.first() else {
        println!(
            "no run of `{}` since then",
            args.workflow_name.as_deref().unwrap_or("")
        );
        return Ok(exit::code(exit::SUCCESS));
    };
    let Some(compiled) = compile_for(newest, None) else {
        return Ok(exit::code(exit::INVALID));
    };
    let providers = build_providers(&compiled.config, None)?;
    let mut all = Vec::new();
    for record in &runs {
        let Some(compiled) = compile_for(record, None) else {
            return Ok(exit::code(exit::INVALID));
        };
        all.extend(load_payments(&store, record, &compiled).await?);
    }
    let findings = reconcile(&all, &providers, &scope).await;
    let text = match args.format {
        Shown::Json => format!("{:#}\n", to_json(&runs, &all, &findings)),
        Shown::Markdown => render(&runs, &all, &findings),
    };
    super::print_stdout(&text);
    let failed = findings.iter().any(|f| f.verdict.fails());
    Ok(exit::code(if failed {
        exit::FAILED
    } else {
        exit::SUCCESS
    }))
}

/// The runs of `workflow` active since `since`, newest first, and the scope: the keys of
/// every run (of any workflow) active since then are known to sluice.
async fn runs_since(
    store: &Arc<dyn Store>,
    workflow: &str,
    since: DateTime<Utc>,
) -> Result<(Vec<RunRecord>, Scope)> {
    let active = |r: &RunRecord| r.created_at >= since || r.updated_at >= since;
    let every: Vec<RunRecord> = store
        .list_runs(&RunFilter::default())
        .await
        .context("cannot list runs")?
        .into_iter()
        .filter(active)
        .collect();
    let mut keys = BTreeSet::new();
    for r in &every {
        let rows = store.load_steps(&r.id).await.context("cannot read runs")?;
        keys.extend(rows.into_iter().filter_map(|s| s.idempotency_key));
    }
    let runs = every
        .into_iter()
        .filter(|r| r.workflow_name == workflow)
        .collect();
    Ok((runs, Scope::Since { since, keys }))
}

fn item(f: &Finding) -> String {
    match (&f.step_id, &f.item_key) {
        (Some(step), Some(key)) if !key.is_empty() => format!("{step}[{key}]"),
        (Some(step), _) => step.to_string(),
        _ => "-".into(),
    }
}

fn render(runs: &[RunRecord], payments: &[Payment], findings: &[Finding]) -> String {
    let counts = counts(findings);
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    let mut out = format!(
        "# Reconciliation of {}\n\n{} payments, {}\n\n",
        ids.join(", "),
        payments.len(),
        summary(&counts)
    );
    let rows = findings
        .iter()
        .filter(|f| f.verdict.fails() || f.verdict.as_str() == "unsupported")
        .map(|f| {
            vec![
                f.verdict.as_str().to_string(),
                f.run_id.as_ref().map_or("-".into(), ToString::to_string),
                item(f),
                f.provider.clone(),
                f.provider_ref.clone().unwrap_or_default(),
                f.verdict.to_string(),
            ]
        })
        .collect::<Vec<_>>();
    if !rows.is_empty() {
        out.push_str(&table(
            &["finding", "run", "item", "provider", "object", "detail"],
            rows.into_iter(),
        ));
    }
    out
}

fn counts(findings: &[Finding]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for f in findings {
        *counts.entry(f.verdict.as_str()).or_default() += 1;
    }
    counts
}

fn summary(counts: &BTreeMap<&'static str, usize>) -> String {
    if counts.is_empty() {
        return "nothing to compare".into();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_json(runs: &[RunRecord], payments: &[Payment], findings: &[Finding]) -> Value {
    let counts = counts(findings);
    let findings: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "finding": f.verdict.as_str(),
                "run": f.run_id.as_ref().map(|r| r.as_str()),
                "step": f.step_id.as_ref().map(|s| s.as_str()),
                "item_key": f.item_key.as_ref().map(|k| k.as_str()),
                "provider": f.provider,
                "provider_ref": f.provider_ref,
                "idempotency_key": f.key,
                "detail": f.verdict.to_string(),
            })
        })
        .collect();
    json!({
        "runs": runs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        "payments": payments.len(),
        "counts": counts,
        "findings": findings,
    })
}
