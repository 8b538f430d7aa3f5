//! The plan as text for a terminal: a header with hashes, inputs and providers, every step
//! in execution order with its decision, policy, rendered `with` and exact requests, a
//! compact table for batches (the first rows, the JSON plan has all), then totals, the
//! largest amounts and the problems.

use std::fmt::Write;

use super::describe::{self, BATCH_ROWS, PROBLEMS_SHOWN};
use super::model::{
    Decision, DryRun, ItemDetail, KNOWN_AFTER_APPLY, Request, Severity, StepPlan, Total,
};
use super::style::Style;

/// Renders `plan`; `style` colours it on a terminal.
pub fn render_text(plan: &DryRun, style: Style) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "{} `{}` ({})\n",
        style.bold("Plan for"),
        plan.workflow.name,
        plan.workflow.path
    );
    let _ = writeln!(w, "  plan hash   {}", plan.plan_hash);
    let _ = writeln!(w, "  workflow    {}", plan.workflow.hash);
    let _ = writeln!(w, "  inputs      {}", plan.inputs.hash);
    let width = plan
        .inputs
        .values
        .iter()
        .map(|i| i.name.len())
        .max()
        .unwrap_or(0);
    for i in &plan.inputs.values {
        let _ = writeln!(w, "    {:width$}  {}", i.name, describe::input(i));
    }
    let _ = writeln!(
        w,
        "  run         id, started_at, scheduled_for {}",
        style.cyan("(assigned at apply)")
    );
    if !plan.providers.is_empty() {
        let _ = writeln!(w, "  providers");
        for p in &plan.providers {
            let _ = writeln!(w, "    {}  {}", p.name, describe::provider(p));
        }
    }
    if !plan.notify.is_empty() {
        let _ = writeln!(w, "  notify");
        for rule in &plan.notify {
            let _ = writeln!(w, "    {}", describe::notify(rule));
        }
    }
    if let Some(every) = &plan.reconcile_every {
        let _ = writeln!(w, "  reconcile   every {every} in `sluice serve`");
    }
    let _ = writeln!(w, "\n{}", describe::summary(&plan.summary));
    let _ = writeln!(w, "{}", problems_line(plan, style));
    for (n, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(w);
        step_text(w, n + 1, step, plan, style);
    }
    totals_text(w, plan, style);
    undo_text(w, plan, style);
    problems_text(w, plan, style);
    out
}

/// The undo path: what each failure undoes, each undo's request, and what the path moves.
fn undo_text(w: &mut String, plan: &DryRun, style: Style) {
    let Some(undo) = &plan.undo else {
        return;
    };
    let _ = writeln!(w, "\n{}", style.bold("Undo path (on_failure: compensate)"));
    for f in &undo.failures {
        let _ = writeln!(
            w,
            "  if `{}` fails: {}",
            f.step,
            describe::failure(f, &undo.undos)
        );
    }
    for (n, step) in undo.undos.iter().enumerate() {
        let _ = writeln!(w);
        step_text(w, n + 1, step, plan, style);
    }
    let _ = writeln!(w, "\n{}", style.bold("Undo totals"));
    if undo.totals.is_empty() {
        let _ = writeln!(w, "  no amounts known at plan time");
    }
    totals_table(w, &undo.totals);
}

fn problems_line(plan: &DryRun, style: Style) -> String {
    let line = describe::problem_counts(plan);
    if plan.count(Severity::Error) > 0 {
        style.red(&line)
    } else if plan.count(Severity::Warning) > 0 {
        style.yellow(&line)
    } else {
        line
    }
}

fn decision(d: Decision, style: Style) -> String {
    let words = d.words();
    match d {
        Decision::Run => style.green(words),
        Decision::Skip => style.dim(words),
        Decision::AtApply => style.cyan(words),
        Decision::Fail => style.red(words),
    }
}

fn known(text: &str, style: Style) -> String {
    text.replace(KNOWN_AFTER_APPLY, &style.cyan(KNOWN_AFTER_APPLY))
}

fn step_text(w: &mut String, n: usize, step: &StepPlan, plan: &DryRun, style: Style) {
    let heading = format!("{n}. {}", step.id);
    let _ = write!(
        w,
        "{}: {}",
        style.bold(&heading),
        describe::action(step, &plan.providers)
    );
    match &step.for_each {
        Some(f) => {
            let _ = writeln!(
                w,
                ", for each of {} as `{}`, key {}: {} item{}",
                f.over,
                f.alias,
                f.key,
                step.items.len(),
                describe::plural(step.items.len())
            );
        }
        None => {
            let _ = writeln!(w);
        }
    }
    let mut line = |label: &str, text: String| {
        let _ = writeln!(w, "   {label:<9} {text}");
    };
    if !step.needs.is_empty() {
        let needs: Vec<String> = step.needs.iter().map(|s| format!("`{s}`")).collect();
        line("after", needs.join(", "));
    }
    match (&step.condition, &step.for_each) {
        (Some(c), Some(_)) => line("if", format!("{c}: {}", describe::decisions(step))),
        (Some(c), None) => line("if", c.clone()),
        _ => {}
    }
    if step.for_each.is_none()
        && let Some(item) = step.items.first()
    {
        let reason = item
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        line(
            "decision",
            format!("{}{reason}", decision(item.decision, style)),
        );
    }
    if let Some(t) = describe::retry(step) {
        line("retry", t);
    }
    if let Some(t) = describe::timeout(step) {
        line("timeout", t);
    }
    if let Some(t) = describe::wait(step) {
        line("waits", t);
    }
    if let Some(t) = describe::approval(step) {
        line("approval", t);
    }
    for t in describe::extras(step) {
        line("also", t);
    }
    match &step.for_each {
        None => {
            if let Some(detail) = step.items.first().and_then(|i| i.detail.as_deref()) {
                with_text(w, detail, style);
                requests_text(w, detail, style);
            }
        }
        Some(_) => batch_text(w, step, style),
    }
}

fn with_text(w: &mut String, item: &ItemDetail, style: Style) {
    if item.with.is_empty() {
        return;
    }
    let _ = writeln!(w, "   with");
    let width = item.with.keys().map(String::len).max().unwrap_or(0);
    for (k, v) in &item.with {
        let _ = writeln!(w, "     {k:width$}  {}", known(&describe::value(v), style));
    }
}

fn requests_text(w: &mut String, item: &ItemDetail, style: Style) {
    if let Some(note) = &item.requests_note {
        let _ = writeln!(w, "   requests  {}", style.cyan(note));
    }
    if item.requests.is_empty() {
        return;
    }
    let _ = writeln!(w, "   requests");
    for r in &item.requests {
        request_text(w, r, style);
    }
}

fn request_text(w: &mut String, r: &Request, style: Style) {
    let _ = writeln!(w, "     {}", style.bold(&r.line()));
    for h in &r.headers {
        let _ = writeln!(w, "       {h}");
    }
    if let Some(body) = &r.body {
        let _ = writeln!(w, "       {}", known(body, style));
    }
    for note in &r.notes {
        let _ = writeln!(w, "       {}", style.dim(&format!("# {note}")));
    }
}

fn batch_text(w: &mut String, step: &StepPlan, style: Style) {
    if step.items.is_empty() {
        return;
    }
    let shown = &step.items[..step.items.len().min(BATCH_ROWS)];
    let cells: Vec<[String; 4]> = shown
        .iter()
        .map(|i| {
            [
                i.key.clone().unwrap_or_default(),
                i.decision.words().to_string(),
                describe::amounts(i),
                i.target.clone().unwrap_or_else(|| "–".into()),
            ]
        })
        .collect();
    let head = ["key", "decision", "amount", "to"];
    let widths: Vec<usize> = (0..4)
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .chain([head[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "   {}",
        style.dim(
            format!(
                "{:w0$}  {:w1$}  {:>w2$}  {}",
                head[0],
                head[1],
                head[2],
                head[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            )
            .trim_end()
        )
    );
    for (row, item) in cells.iter().zip(shown) {
        let d = format!("{:w$}", row[1], w = widths[1]);
        let d = match item.decision {
            Decision::Run => style.green(&d),
            Decision::Skip => style.dim(&d),
            Decision::AtApply => style.cyan(&d),
            Decision::Fail => style.red(&d),
        };
        let reason = match (&item.reason, item.decision) {
            (Some(r), Decision::Skip | Decision::Fail | Decision::AtApply) => {
                style.dim(&format!("  ({r})"))
            }
            _ => String::new(),
        };
        let _ = writeln!(
            w,
            "   {:w0$}  {d}  {:>w2$}  {}{reason}",
            row[0],
            row[2],
            row[3],
            w0 = widths[0],
            w2 = widths[2]
        );
    }
    if step.items.len() > shown.len() {
        let _ = writeln!(
            w,
            "   … {} more (every item is in the JSON plan: --format json or --out)",
            step.items.len() - shown.len()
        );
    }
    if let Some((item, detail)) = describe::example(step) {
        let _ = writeln!(
            w,
            "\n   requests of `{}`, the first that sends (each item's request digest is in the JSON plan)",
            item.label(&step.id)
        );
        if let Some(note) = &detail.requests_note {
            let _ = writeln!(w, "     {}", style.cyan(note));
        }
        for r in &detail.requests {
            request_text(w, r, style);
        }
    }
}

fn totals_table(w: &mut String, totals: &[Total]) {
    let unit_w = totals.iter().map(|t| t.unit.len()).max().unwrap_or(0);
    let amount_w = totals.iter().map(|t| t.amount.len()).max().unwrap_or(0);
    for t in totals {
        let _ = writeln!(
            w,
            "  {:3}  {:unit_w$}  {:>amount_w$}  {} item{} via `{}`",
            t.direction.as_str(),
            t.unit,
            t.amount,
            t.items,
            describe::plural(t.items),
            t.provider
        );
    }
}

fn totals_text(w: &mut String, plan: &DryRun, style: Style) {
    let _ = writeln!(w, "\n{}", style.bold("Totals"));
    if plan.totals.is_empty() {
        let _ = writeln!(w, "  no amounts known at plan time");
    }
    totals_table(w, &plan.totals);
    let unknown = plan.summary.unknown_amounts;
    if unknown > 0 {
        let _ = writeln!(
            w,
            "  + {unknown} write{} whose amount is {}",
            describe::plural(unknown),
            style.cyan(KNOWN_AFTER_APPLY)
        );
    }
    if !plan.largest.is_empty() {
        let _ = writeln!(w, "\n{}", style.bold("Largest amounts"));
        let item_w = plan.largest.iter().map(|l| l.item.len()).max().unwrap_or(0);
        let amount_w = plan
            .largest
            .iter()
            .map(|l| l.amount.len())
            .max()
            .unwrap_or(0);
        for l in &plan.largest {
            let _ = writeln!(
                w,
                "  {:item_w$}  {:>amount_w$} {} {}",
                l.item,
                l.amount,
                l.unit,
                l.direction.as_str()
            );
        }
    }
}

fn problems_text(w: &mut String, plan: &DryRun, style: Style) {
    let _ = writeln!(w, "\n{}", style.bold("Problems"));
    if plan.problems.is_empty() {
        let _ = writeln!(w, "  none");
        return;
    }
    for p in plan.problems.iter().take(PROBLEMS_SHOWN) {
        let label = match p.severity {
            Severity::Error => style.red("error"),
            Severity::Warning => style.yellow("warning"),
        };
        let _ = writeln!(w, "  {label}: `{}`: {}", p.subject, p.message);
    }
    if plan.problems.len() > PROBLEMS_SHOWN {
        let _ = writeln!(
            w,
            "  … {} more (all are in the JSON plan)",
            plan.problems.len() - PROBLEMS_SHOWN
        );
    }
}
