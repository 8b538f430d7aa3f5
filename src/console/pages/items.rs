//! A step's items: `GET /runs/{run}/steps/{step}/items` a page at a time (keyset on the
//! plan position, so a 100,000-item step's last page costs what its first does), filtered
//! by state and key, with the step's totals by state and its amounts by state and asset;
//! `…/items.csv` exports them all; `…/items/{item}` is one item with its evidence.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::super::error::ConsoleError;
use super::super::layout::{Section, badge, page, segment, time};
use super::super::session::Session;
use super::super::state::Console;
use super::evidence::{attempt_table, doubt_card, item_link, run_link};
use super::totals;
use crate::ids::{ItemKey, RunId, StepId};
use crate::store::{RequestAmount, StepKey, StepPage, StepRecord, StepState};

/// Rows per page.
const PAGE: u32 = 100;
/// Rows per query when exporting.
const EXPORT_BATCH: u32 = 2_000;

/// The filters and the position, as links and the form send them.
#[derive(Debug, Default, Deserialize)]
pub struct ItemsQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    key: String,
    /// The plan position of the last row of the previous page.
    #[serde(default)]
    after: Option<i64>,
}

impl ItemsQuery {
    fn page(&self, run_id: &RunId, step_id: &StepId, limit: u32) -> Result<StepPage, ConsoleError> {
        let state = match self.state.as_str() {
            "" => None,
            name => Some(
                name.parse::<StepState>()
                    .map_err(|_| ConsoleError::BadForm("unknown state"))?,
            ),
        };
        Ok(StepPage {
            run_id: run_id.clone(),
            step_id: step_id.clone(),
            state,
            key_prefix: (!self.key.is_empty()).then(|| self.key.clone()),
            after_seq: self.after,
            limit,
        })
    }

    /// The query string of the same filters, from the first row.
    fn filters(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("state", &self.state)
            .append_pair("key", &self.key)
            .finish()
    }

    /// The query string of the same filters after row `seq`.
    fn after(&self, seq: i64) -> String {
        format!("{}&after={seq}", self.filters())
    }
}

/// An item's amount and its asset or currency, from its request.
fn amount(step: &StepRecord) -> Option<RequestAmount> {
    step.request.as_ref().and_then(RequestAmount::of)
}

/// `GET /runs/{run}/steps/{step}/items`.
pub async fn items(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path((run_id, step_id)): Path<(RunId, StepId)>,
    Query(query): Query<ItemsQuery>,
) -> Result<Markup, ConsoleError> {
    let viewer = console.viewer(&session);
    let store = console.store();
    store.load_run(&run_id).await?;
    let rows = store
        .page_steps(&query.page(&run_id, &step_id, PAGE)?)
        .await?;
    let totals: Vec<_> = store
        .count_steps(&run_id)
        .await?
        .into_iter()
        .filter(|c| c.step_id == step_id)
        .collect();
    let amounts = store
        .asset_totals(std::slice::from_ref(&run_id), Some(&step_id))
        .await?;
    let base = format!(
        "{}/steps/{}/items",
        run_link(run_id.as_str()),
        segment(step_id.as_str())
    );
    let body = html! {
        p { a href=(run_link(run_id.as_str())) { "← " (run_id) } }
        p class="totals" {
            "Step totals by state: "
            @for c in &totals { (badge(c.state.as_str())) " " (c.count) " " }
        }
        form method="get" action=(base) class="filters" {
            label { "State "
                select name="state" {
                    option value="" { "any" }
                    @for s in StepState::ALL {
                        option value=(s.as_str()) selected[query.state == s.as_str()] { (s.as_str()) }
                    }
                }
            }
            label { "Key starts with " input type="text" name="key" value=(query.key); }
            button type="submit" { "Filter" }
            a href={ (base) ".csv?" (query.filters()) } class="button" { "Export CSV" }
        }
        (totals::table(&amounts))
        table class="items" {
            thead { tr { th { "Item" } th { "State" } th { "Amount" } th { "Attempts" } th { "Provider object" } th { "Updated" } th { "Error" } } }
            tbody {
                @for row in &rows {
                    tr {
                        td {
                            @if row.key.item_key.is_empty() { span class="quiet" { "(the step)" } }
                            @else { a href=(item_link(row)) { (row.key.item_key) } }
                        }
                        td { (badge(row.state.as_str())) }
                        td { @if let Some(a) = amount(row) { (a.amount) " " (a.asset) } }
                        td { (row.attempts) }
                        td { code { (row.provider_ref.as_deref().unwrap_or("")) } }
                        td { (time(row.updated_at)) }
                        td { @if let Some(e) = &row.error { (e.message) } }
                    }
                }
            }
        }
        @if let Some(last) = rows.last().filter(|_| rows.len() == PAGE as usize) {
            p { a href={ (base) "?" (query.after(last.seq)) } rel="next" { "Next page →" } }
        }
    };
    let title = format!("{run_id} / {step_id}");
    let live = format!("/live?run={}", segment(run_id.as_str()));
    Ok(page(&viewer, Section::Runs, &title, &live, body))
}

/// `GET /runs/{run}/steps/{step}/items.csv`: every row the filters admit, as CSV.
pub async fn export(
    State(console): State<Console>,
    Path((run_id, step_id)): Path<(RunId, StepId)>,
    Query(query): Query<ItemsQuery>,
) -> Result<Response, ConsoleError> {
    let store = console.store();
    store.load_run(&run_id).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "item",
        "state",
        "amount",
        "asset",
        "attempts",
        "idempotency_key",
        "provider_ref",
        "updated_at",
        "error",
    ];
    let write = |out: &mut csv::Writer<Vec<u8>>, fields: &[&str]| {
        out.write_record(fields).map_err(ConsoleError::Export)
    };
    write(&mut out, &header)?;
    let mut page = query.page(&run_id, &step_id, EXPORT_BATCH)?;
    loop {
        let rows = store.page_steps(&page).await?;
        for row in &rows {
            let (asset, value) = amount(row).map_or((String::new(), String::new()), |a| {
                (a.asset, a.amount.to_string())
            });
            write(
                &mut out,
                &[
                    row.key.item_key.as_str(),
                    row.state.as_str(),
                    &value,
                    &asset,
                    &row.attempts.to_string(),
                    row.idempotency_key.as_deref().unwrap_or(""),
                    row.provider_ref.as_deref().unwrap_or(""),
                    &row.updated_at.to_rfc3339(),
                    row.error.as_ref().map_or("", |e| e.message.as_str()),
                ],
            )?;
        }
        match rows.last() {
            Some(last) if rows.len() == EXPORT_BATCH as usize => page.after_seq = Some(last.seq),
            _ => break,
        }
    }
    let bytes = out
        .into_inner()
        .map_err(|e| ConsoleError::Export(e.into_error().into()))?;
    let name = format!(
        "attachment; filename=\"{}-{}.csv\"",
        segment(run_id.as_str()),
        segment(step_id.as_str())
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /runs/{run}/steps/{step}/items/{item}`: one item, its evidence and decisions.
pub async fn item(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path((run_id, step_id, item_key)): Path<(RunId, StepId, ItemKey)>,
) -> Result<Markup, ConsoleError> {
    let viewer = console.viewer(&session);
    let store = console.store();
    let key = StepKey {
        run_id: run_id.clone(),
        step_id,
        item_key,
    };
    let step = store.load_step(&key).await?;
    let attempts = store.load_step_attempts(&key).await?;
    let mine: Vec<_> = attempts.iter().collect();
    let body = html! {
        p { a href=(run_link(run_id.as_str())) { "← " (run_id) } }
        @if step.state == StepState::NeedsAttention {
            (doubt_card(&viewer, &step, &mine))
        } @else {
            dl class="facts" {
                dt { "State" } dd { (badge(step.state.as_str())) }
                dt { "Idempotency key" } dd { code { (step.idempotency_key.as_deref().unwrap_or("—")) } }
                dt { "Request digest" } dd { code { (step.request_digest.as_deref().unwrap_or("—")) } }
                dt { "Provider object" } dd { code { (step.provider_ref.as_deref().unwrap_or("—")) } }
                @if let Some(e) = &step.error { dt { "Error" } dd { (e.message) } }
                @if let Some(r) = &step.skip_reason { dt { "Skipped because" } dd { (r) } }
            }
            @if let Some(request) = &step.request { h2 { "Request" } (super::super::layout::json_block(request)) }
            @if let Some(output) = &step.output { h2 { "Output" } (super::super::layout::json_block(output)) }
            (attempt_table(&mine))
        }
    };
    let live = format!("/live?run={}", segment(run_id.as_str()));
    Ok(page(&viewer, Section::Runs, &key.to_string(), &live, body))
}
