//! `GET /runs`: runs filtered by workflow, status and creation date, newest first, with how
//! many are in each status and their amounts by state and asset.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::super::error::ConsoleError;
use super::super::layout::{Section, badge, maybe_time, page, time};
use super::super::session::Session;
use super::super::state::Console;
use super::evidence::run_link;
use super::totals;
use crate::store::{RunFilter, RunStatus};

/// The most runs one listing shows.
const LIMIT: u32 = 500;

/// The filters, as the form sends them (empty fields are no filter).
#[derive(Debug, Default, Deserialize)]
pub struct RunsQuery {
    #[serde(default)]
    workflow: String,
    #[serde(default)]
    status: String,
    /// First day, `YYYY-MM-DD`, UTC.
    #[serde(default)]
    from: String,
    /// Last day, `YYYY-MM-DD`, UTC, included.
    #[serde(default)]
    to: String,
}

impl RunsQuery {
    fn filter(&self) -> Result<RunFilter, ConsoleError> {
        let status = match self.status.as_str() {
            "" => Vec::new(),
            name => vec![
                name.parse::<RunStatus>()
                    .map_err(|_| ConsoleError::BadForm("unknown status"))?,
            ],
        };
        Ok(RunFilter {
            workflow: (!self.workflow.is_empty()).then(|| self.workflow.clone()),
            statuses: status,
            created_from: day(&self.from, 0)?,
            created_before: day(&self.to, 1)?,
            limit: Some(LIMIT),
        })
    }
}

/// Midnight UTC `days` after the date in `text`, if there is one.
fn day(text: &str, days: u64) -> Result<Option<DateTime<Utc>>, ConsoleError> {
    if text.is_empty() {
        return Ok(None);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| ConsoleError::BadForm("dates are YYYY-MM-DD"))?;
    Ok(date
        .checked_add_days(chrono::Days::new(days))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc()))
}

/// `GET /runs`.
pub async fn runs(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Query(query): Query<RunsQuery>,
) -> Result<Markup, ConsoleError> {
    let viewer = console.viewer(&session);
    let runs = console.store().list_runs(&query.filter()?).await?;
    let ids: Vec<_> = runs.iter().map(|r| r.id.clone()).collect();
    let amounts = console.store().asset_totals(&ids, None).await?;
    let mut by_status: BTreeMap<RunStatus, usize> = BTreeMap::new();
    for run in &runs {
        *by_status.entry(run.status).or_default() += 1;
    }
    let body = html! {
        form method="get" action="/runs" class="filters" {
            label { "Workflow " input type="text" name="workflow" value=(query.workflow); }
            label { "Status "
                select name="status" {
                    option value="" { "any" }
                    @for s in RunStatus::ALL {
                        option value=(s.as_str()) selected[query.status == s.as_str()] { (s.as_str()) }
                    }
                }
            }
            label { "From " input type="date" name="from" value=(query.from); }
            label { "To " input type="date" name="to" value=(query.to); }
            button type="submit" { "Filter" }
        }
        p class="totals" {
            (runs.len()) " runs"
            @for (status, n) in &by_status { " · " (badge(status.as_str())) " " (n) }
        }
        details open {
            summary { "Amounts of these runs by state and asset" }
            (totals::table(&amounts))
        }
        table class="runs" {
            thead { tr { th { "Run" } th { "Workflow" } th { "Status" } th { "Started by" } th { "Created" } th { "Finished" } } }
            tbody {
                @for run in &runs {
                    tr {
                        td { a href=(run_link(run.id.as_str())) { (run.id) } }
                        td { (run.workflow_name) }
                        td { (badge(run.status.as_str())) }
                        td { (run.started_by.as_deref().unwrap_or("—")) }
                        td { (time(run.created_at)) }
                        td { (maybe_time(run.finished_at)) }
                    }
                }
            }
        }
    };
    Ok(page(&viewer, Section::Runs, "Runs", "/live", body))
}
