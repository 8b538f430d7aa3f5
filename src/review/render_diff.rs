//! A [`PlanDiff`] as text (`+` added, `-` removed, `~` changed, coloured on a terminal) or
//! as Markdown for a pull request.

use std::fmt::Write;

use super::diff::{Change, ItemChange, PlanDiff, StepDiff};
use super::style::Style;

fn item_text(i: &ItemChange) -> String {
    let key = if i.key.is_empty() {
        "(step)".to_string()
    } else {
        i.key.clone()
    };
    let mut parts = Vec::new();
    match (&i.before, &i.after) {
        (Some(a), Some(b)) if a != b => parts.push(format!("{a} → {b}")),
        (None, Some(b)) => parts.push(b.clone()),
        (Some(a), None) => parts.push(a.clone()),
        _ => {}
    }
    if let (Some(a), Some(b)) = (i.decision_before, i.decision_after) {
        parts.push(format!("{} → {}", a.words(), b.words()));
    }
    if let Some((a, b)) = &i.to {
        parts.push(format!("to {a} → {b}"));
    }
    if !i.fields.is_empty() {
        let f: Vec<String> = i.fields.iter().map(|f| format!("`{f}`")).collect();
        parts.push(format!("{} changed", f.join(", ")));
    }
    format!("{key}  {}", parts.join("; "))
        .trim_end()
        .to_string()
}

fn headline(d: &PlanDiff) -> Vec<String> {
    let mut lines = Vec::new();
    if d.workflow_changed {
        lines.push("the workflow file changed".to_string());
    }
    for i in &d.inputs_changed {
        lines.push(format!("input `{i}` changed"));
    }
    for p in &d.providers_changed {
        lines.push(format!("provider `{p}` changed"));
    }
    lines
}

fn counts(s: &StepDiff) -> String {
    format!(
        "{} added, {} removed, {} changed",
        s.added.len(),
        s.removed.len(),
        s.changed.len()
    )
}

/// The diff as text.
pub fn render_diff_text(d: &PlanDiff, style: Style) -> String {
    let mut w = String::new();
    let _ = writeln!(w, "{} `{}`", style.bold("Plan changes for"), d.name);
    let _ = writeln!(w, "  old  {}", d.old_hash);
    let _ = writeln!(w, "  new  {}", d.new_hash);
    if d.is_empty() {
        let _ = writeln!(w, "\nNo changes.");
        return w;
    }
    for line in headline(d) {
        let _ = writeln!(w, "  {line}");
    }
    for s in &d.steps {
        let name = match s.change {
            Change::Added => style.green(&format!("+ {}", s.id)),
            Change::Removed => style.red(&format!("- {}", s.id)),
            Change::Changed => style.yellow(&format!("~ {}", s.id)),
        };
        let _ = writeln!(w, "\n{name}  {} ({})", s.action, counts(s));
        for i in &s.added {
            let _ = writeln!(w, "    {}", style.green(&format!("+ {}", item_text(i))));
        }
        for i in &s.removed {
            let _ = writeln!(w, "    {}", style.red(&format!("- {}", item_text(i))));
        }
        for i in &s.changed {
            let _ = writeln!(w, "    {}", style.yellow(&format!("~ {}", item_text(i))));
        }
    }
    w
}

/// The diff as Markdown.
pub fn render_diff_markdown(d: &PlanDiff) -> String {
    let mut w = String::new();
    let _ = writeln!(w, "## Plan changes for `{}`\n", d.name);
    let _ = writeln!(w, "| | |\n|---|---|");
    let _ = writeln!(w, "| old plan | `{}` |", d.old_hash);
    let _ = writeln!(w, "| new plan | `{}` |", d.new_hash);
    if d.is_empty() {
        let _ = writeln!(w, "\nNo changes.");
        return w;
    }
    let head = headline(d);
    if !head.is_empty() {
        let _ = writeln!(w);
        for line in head {
            let _ = writeln!(w, "- {line}");
        }
    }
    for s in &d.steps {
        let change = match s.change {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        };
        let _ = writeln!(
            w,
            "\n### `{}` ({}, {change}): {}\n",
            s.id,
            s.action,
            counts(s)
        );
        let _ = writeln!(w, "| | item | change |\n|---|---|---|");
        for (mark, list) in [("+", &s.added), ("-", &s.removed), ("~", &s.changed)] {
            for i in list {
                let text = item_text(i);
                let (key, rest) = text.split_once("  ").unwrap_or((&text, ""));
                let _ = writeln!(
                    w,
                    "| {mark} | `{}` | {} |",
                    key.replace('|', "\\|"),
                    rest.replace('|', "\\|")
                );
            }
        }
    }
    w
}
