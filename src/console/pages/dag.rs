//! A run's steps drawn as their DAG: one column per depth (a step sits one column right of
//! its deepest dependency), each step a box coloured by where its rows stand. The graph is
//! the workflow file's, read from where the run started; without it, the steps stand in one
//! column in plan order.

use std::collections::BTreeMap;
use std::path::Path;

use maud::{Markup, html};

use super::super::layout::badge;
use crate::store::{StepCount, StepState};

/// One step of the drawing: its id, the ids it needs, and its rows' counts by state.
struct Node {
    id: String,
    needs: Vec<String>,
    depth: usize,
}

/// The steps of the workflow at `path` with their dependencies and depth, if it loads.
fn graph(path: &Path) -> Option<Vec<Node>> {
    let loaded = crate::spec::load_file(path).ok()?;
    let compiled = crate::plan::compile(&loaded).ok()?;
    let mut depth = vec![0usize; compiled.steps.len()];
    for &i in compiled.dag.order() {
        depth[i] = compiled.steps[i]
            .deps
            .iter()
            .map(|&d| depth[d] + 1)
            .max()
            .unwrap_or(0);
    }
    Some(
        compiled
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| Node {
                id: s.id.clone(),
                needs: s
                    .deps
                    .iter()
                    .map(|&d| compiled.steps[d].id.clone())
                    .collect(),
                depth: depth[i],
            })
            .collect(),
    )
}

/// How urgent a state is when a step's rows differ: the box takes its most urgent one.
fn urgency(state: StepState) -> u8 {
    match state {
        StepState::NeedsAttention => 8,
        StepState::Failed => 7,
        StepState::Dispatching => 6,
        StepState::InFlight => 5,
        StepState::Waiting => 4,
        StepState::Pending => 3,
        StepState::Cancelled => 2,
        StepState::Skipped => 1,
        StepState::Succeeded => 0,
    }
}

/// The drawing of a run's steps from `counts`, with the graph of the workflow at `path`.
pub fn draw(path: &Path, counts: &[StepCount]) -> Markup {
    let mut by_step: BTreeMap<&str, Vec<&StepCount>> = BTreeMap::new();
    for c in counts {
        by_step.entry(c.step_id.as_str()).or_default().push(c);
    }
    let nodes = graph(path).unwrap_or_else(|| {
        let mut seen: Vec<String> = Vec::new();
        for c in counts {
            if !seen.iter().any(|s| s == c.step_id.as_str()) {
                seen.push(c.step_id.to_string());
            }
        }
        seen.into_iter()
            .map(|id| Node {
                id,
                needs: Vec::new(),
                depth: 0,
            })
            .collect()
    });
    let columns = nodes.iter().map(|n| n.depth).max().map_or(0, |d| d + 1);
    html! {
        div class="dag" {
            @for column in 0..columns {
                div class="dag-column" {
                    @for node in nodes.iter().filter(|n| n.depth == column) {
                        @let rows = by_step.get(node.id.as_str()).cloned().unwrap_or_default();
                        @let state = rows.iter().map(|c| c.state).max_by_key(|s| urgency(*s));
                        div class={ "dag-node state-" (state.map_or("pending", StepState::as_str)) } {
                            strong { (node.id) }
                            @if !node.needs.is_empty() {
                                span class="needs" { "needs " (node.needs.join(", ")) }
                            }
                            span class="counts" {
                                @for c in &rows { (badge(c.state.as_str())) " " (c.count) " " }
                            }
                        }
                    }
                }
            }
        }
    }
}
