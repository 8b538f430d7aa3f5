//! Drawings of the DAG: Mermaid for Markdown and pull requests, Graphviz dot.

use std::fmt::Write;

use super::compile::CompiledWorkflow;

/// A drawing format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Mermaid `flowchart`, renders on GitHub and GitLab.
    Mermaid,
    /// Graphviz `digraph`.
    Dot,
}

fn label(w: &CompiledWorkflow, i: usize) -> String {
    let step = &w.config.steps[i];
    let mut label = format!("{}: {}", step.id, step.uses);
    if let Some(p) = &w.steps[i].provider {
        let _ = write!(label, " @{p}");
    }
    if let Some(each) = &step.for_each {
        let _ = write!(label, " × {each}");
    }
    label
}

/// Draws the workflow's DAG, steps in execution order.
pub fn render(w: &CompiledWorkflow, format: GraphFormat) -> String {
    let mut out = String::new();
    match format {
        GraphFormat::Mermaid => {
            out.push_str("flowchart TD\n");
            for &i in w.dag.order() {
                let text = label(w, i).replace('"', "#quot;");
                let _ = writeln!(out, "    {}[\"{text}\"]", w.steps[i].id);
            }
            for (from, to) in w.dag.edges() {
                let _ = writeln!(out, "    {} --> {}", w.steps[from].id, w.steps[to].id);
            }
        }
        GraphFormat::Dot => {
            let _ = writeln!(out, "digraph \"{}\" {{", w.config.name);
            out.push_str("    rankdir=TB;\n    node [shape=box];\n");
            for &i in w.dag.order() {
                let text = label(w, i).replace('\\', "\\\\").replace('"', "\\\"");
                let _ = writeln!(out, "    \"{}\" [label=\"{text}\"];", w.steps[i].id);
            }
            for (from, to) in w.dag.edges() {
                let _ = writeln!(
                    out,
                    "    \"{}\" -> \"{}\";",
                    w.steps[from].id, w.steps[to].id
                );
            }
            out.push_str("}\n");
        }
    }
    out
}
