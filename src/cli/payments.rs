//! `sluice report RUN`: one row per payment of a run, with totals per asset and state, as
//! CSV, JSON or Markdown for finance.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::common::DbArgs;
use super::{exit, workflow};
use crate::ids::RunId;
use crate::plan::CompiledWorkflow;
use crate::settlement::{Payment, PaymentSteps, Total, load, totals};
use crate::store::{RunRecord, Store};

/// Report a run's payments: one row each, with its state, provider object and fee, and the
/// totals per asset and state.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice report run_0193f0c2a1b4e5d6c7b8a9f0
  sluice report run_0193f0c2a1b4e5d6c7b8a9f0 --format csv > payroll.csv
  sluice report run_0193f0c2a1b4e5d6c7b8a9f0 --format json

States: committed (accepted, not final yet), settled, failed_after_commit (accepted, then
failed: the money came back), failed (nothing moved), skipped, in_doubt (see `sluice status`),
unfinished.")]
pub struct ReportArgs {
    /// The run.
    #[arg(value_name = "RUN")]
    pub run_id: RunId,
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: Format,
    /// Read the workflow (which steps pay, through which provider) from this file instead of
    /// the path the run started from.
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}

/// How a report or a reconciliation is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One row per payment, with a header.
    Csv,
    /// One document with the payments and the totals.
    Json,
    /// Tables for a pull request or an email.
    Markdown,
}

/// Runs `report`.
///
/// # Errors
/// An unknown run, an unreadable workflow, a store failure.
pub async fn run(args: &ReportArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    let record = store.load_run(&args.run_id).await?;
    let Some(compiled) = compile_for(&record, args.workflow.as_deref()) else {
        return Ok(exit::code(exit::INVALID));
    };
    let rows = load_payments(&store, &record, &compiled).await?;
    let text = match args.format {
        Format::Csv => csv(&rows)?,
        Format::Json => format!("{:#}\n", to_json(&record, &rows)),
        Format::Markdown => markdown(&record, &rows),
    };
    super::print_stdout(&text);
    Ok(exit::code(exit::SUCCESS))
}

/// The workflow `record` ran (or `file`), compiled; `None` after printing why it is not
/// usable.
pub(super) fn compile_for(record: &RunRecord, file: Option<&Path>) -> Option<CompiledWorkflow> {
    let path = file.map_or_else(|| PathBuf::from(&record.workflow_path), Path::to_path_buf);
    workflow::load_and_compile(&path)
        .map_err(workflow::report_io)
        .ok()
        .map(|(_, compiled)| compiled)
}

/// The payments of the run `record`.
///
/// # Errors
/// A store failure.
pub(super) async fn load_payments(
    store: &Arc<dyn Store>,
    record: &RunRecord,
    compiled: &CompiledWorkflow,
) -> Result<Vec<Payment>> {
    load(&**store, &record.id, &PaymentSteps::of(compiled))
        .await
        .with_context(|| format!("cannot read run `{}`", record.id))
}

const COLUMNS: [&str; 15] = [
    "step",
    "item_key",
    "provider",
    "action",
    "amount",
    "asset_or_currency",
    "state",
    "provider_state",
    "provider_ref",
    "idempotency_key",
    "fee",
    "sent_at",
    "updated_at",
    "operator_actions",
    "error",
];

/// A payment's cells, in [`COLUMNS`] order; amounts exactly as recorded.
fn cells(p: &Payment) -> [String; 15] {
    let text = |v: Option<String>| v.unwrap_or_default();
    [
        p.step_id.to_string(),
        p.item_key.to_string(),
        p.provider.clone(),
        p.action.to_string(),
        text(p.amount.map(|a| a.to_string())),
        text(p.unit.clone()),
        p.state.to_string(),
        text(p.provider_state.clone()),
        text(p.provider_ref.clone()),
        text(p.idempotency_key.clone()),
        text(p.fee.map(|f| f.to_string())),
        text(p.sent_at.map(|t| t.to_rfc3339())),
        p.updated_at.to_rfc3339(),
        p.operator_actions.join("; "),
        text(p.error.clone()),
    ]
}

fn csv(rows: &[Payment]) -> Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(COLUMNS)?;
    for p in rows {
        out.write_record(cells(p))?;
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

/// The JSON document: every amount a decimal string.
fn to_json(record: &RunRecord, rows: &[Payment]) -> Value {
    let payments: Vec<Value> = rows
        .iter()
        .map(|p| {
            let object = COLUMNS
                .iter()
                .zip(cells(p))
                .map(|(k, v)| (k.to_string(), empty_as_null(v)))
                .collect::<serde_json::Map<_, _>>();
            Value::Object(object)
        })
        .collect();
    let totals: Vec<Value> = totals(rows)
        .iter()
        .map(|t| {
            json!({
                "asset_or_currency": t.unit,
                "state": t.state.as_str(),
                "count": t.count,
                "amount": t.amount.to_string(),
            })
        })
        .collect();
    json!({
        "run": record.id.as_str(),
        "workflow": record.workflow_name,
        "status": record.status.as_str(),
        "payments": payments,
        "totals": totals,
    })
}

fn empty_as_null(v: String) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::String(v)
    }
}

fn markdown(record: &RunRecord, rows: &[Payment]) -> String {
    let mut out = format!(
        "# Payments of run `{}` ({}): {}\n\n## Totals\n\n",
        record.id,
        record.workflow_name,
        record.status.as_str()
    );
    out.push_str(&table(
        &["asset or currency", "state", "payments", "amount"],
        totals(rows).iter().map(total_cells),
    ));
    out.push_str(&format!("\n## Payments ({})\n\n", rows.len()));
    out.push_str(&table(&COLUMNS, rows.iter().map(|p| cells(p).to_vec())));
    out
}

fn total_cells(t: &Total) -> Vec<String> {
    vec![
        t.unit.clone(),
        t.state.to_string(),
        t.count.to_string(),
        t.amount.to_string(),
    ]
}

/// A Markdown table; `|` in a cell is escaped.
pub(super) fn table(head: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let line = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    let mut out = line(&head);
    out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
    for r in rows {
        out.push_str(&line(&r));
    }
    out
}
