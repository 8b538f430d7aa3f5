//! The plan as Markdown for a pull request: a summary table at the top (what moves, how
//! many items, problems, the hash), problems and totals right below it, a table of steps,
//! and each step's details (decision, policy, `with`, exact requests) folded in
//! `<details>` blocks. Nothing varies between two runs on the same input, so the diff of two
//! plans shows only what changed.

use std::fmt::Write;

use super::describe::{self, BATCH_ROWS, PROBLEMS_SHOWN};
use super::model::{Direction, DryRun, ItemDetail, Request, Severity, StepPlan, Total};
use super::totals;

/// Renders `plan` as GitHub-flavoured Markdown.
pub fn render_markdown(plan: &DryRun) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "## Plan for {}\n", code(&plan.workflow.name));
    let _ = writeln!(w, "| | |\n|---|---|");
    let _ = writeln!(w, "| workflow | {} |", code(&plan.workflow.path));
    let _ = writeln!(w, "| steps | {} |", cell(&describe::summary(&plan.summary)));
    for (direction, label) in [(Direction::Out, "out"), (Direction::In, "in")] {
        let mut units: Vec<&str> = plan
            .totals
            .iter()
            .filter(|t| t.direction == direction)
            .map(|t| t.unit.as_str())
            .collect();
        units.dedup();
        let sums: Vec<String> = units
            .iter()
            .map(|u| format!("**{} {u}**", totals::sum(&plan.totals, direction, u)))
            .collect();
        let text = if sums.is_empty() {
            "–".to_string()
        } else {
            sums.join(", ")
        };
        let _ = writeln!(w, "| {label} | {text} |");
    }
    let problems = describe::problem_counts(plan);
    let problems = if plan.count(Severity::Error) > 0 {
        format!("**{problems}**")
    } else {
        problems
    };
    let _ = writeln!(w, "| problems | {problems} |");
    for rule in &plan.notify {
        let _ = writeln!(w, "| notify | {} |", cell(&describe::notify(rule)));
    }
    if let Some(every) = &plan.reconcile_every {
        let _ = writeln!(w, "| reconcile | every {} in `sluice serve` |", cell(every));
    }
    let _ = writeln!(w, "| plan hash | {} |", code(&plan.plan_hash));
    problems_md(w, plan);
    totals_md(w, plan);
    let _ = writeln!(w, "\n### Steps\n");
    let _ = writeln!(
        w,
        "| # | step | action | items | decision |\n|--:|---|---|--:|---|"
    );
    for (n, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            n + 1,
            code(&step.id),
            cell(&describe::action(step, &plan.providers)),
            step.items.len(),
            cell(&describe::decisions(step))
        );
    }
    for (n, step) in plan.steps.iter().enumerate() {
        step_md(w, n + 1, step, plan);
    }
    undo_md(w, plan);
    context_md(w, plan);
    out
}

/// The undo path: what each failure undoes, what the path moves, and each undo's request.
fn undo_md(w: &mut String, plan: &DryRun) {
    let Some(undo) = &plan.undo else {
        return;
    };
    let _ = writeln!(w, "\n### Undo path (`on_failure: compensate`)\n");
    let _ = writeln!(w, "| if this step fails | then |\n|---|---|");
    for f in &undo.failures {
        let _ = writeln!(
            w,
            "| {} | {} |",
            code(&f.step),
            cell(&describe::failure(f, &undo.undos))
        );
    }
    let _ = writeln!(w, "\nThe whole undo path moves:\n");
    if undo.totals.is_empty() {
        let _ = writeln!(w, "No amounts are known at plan time.");
    } else {
        totals_table_md(w, &undo.totals);
    }
    for (n, step) in undo.undos.iter().enumerate() {
        step_md(w, n + 1, step, plan);
    }
}

fn totals_table_md(w: &mut String, totals: &[Total]) {
    let _ = writeln!(
        w,
        "| direction | asset | amount | items | provider |\n|---|---|--:|--:|---|"
    );
    for t in totals {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            t.direction.as_str(),
            t.unit,
            t.amount,
            t.items,
            code(&t.provider)
        );
    }
}

/// A table cell: pipes escaped, one line.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Inline code that survives backticks and pipes in the text.
fn code(text: &str) -> String {
    let text = cell(text);
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// Text for inside HTML (`<summary>`).
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn problems_md(w: &mut String, plan: &DryRun) {
    if plan.problems.is_empty() {
        return;
    }
    let _ = writeln!(w, "\n### Problems\n");
    for p in plan.problems.iter().take(PROBLEMS_SHOWN) {
        let label = match p.severity {
            Severity::Error => "**error**",
            Severity::Warning => "warning",
        };
        let _ = writeln!(w, "- {label} {}: {}", code(&p.subject), p.message);
    }
    if plan.problems.len() > PROBLEMS_SHOWN {
        let _ = writeln!(
            w,
            "- … {} more (all are in the JSON plan)",
            plan.problems.len() - PROBLEMS_SHOWN
        );
    }
}

fn totals_md(w: &mut String, plan: &DryRun) {
    let _ = writeln!(w, "\n### Totals\n");
    let unknown = plan.summary.unknown_amounts;
    if unknown > 0 {
        let _ = writeln!(
            w,
            "{unknown} write{} whose amount is known after apply {} not counted.\n",
            describe::plural(unknown),
            if unknown == 1 { "is" } else { "are" }
        );
    }
    if plan.totals.is_empty() {
        let _ = writeln!(w, "No amounts are known at plan time.");
        return;
    }
    totals_table_md(w, &plan.totals);
    if !plan.largest.is_empty() {
        let _ = writeln!(w, "\n<details><summary>Largest amounts</summary>\n");
        let _ = writeln!(w, "| item | amount | direction |\n|---|--:|---|");
        for l in &plan.largest {
            let _ = writeln!(
                w,
                "| {} | {} {} | {} |",
                code(&l.item),
                l.amount,
                l.unit,
                l.direction.as_str()
            );
        }
        let _ = writeln!(w, "\n</details>");
    }
}

fn step_md(w: &mut String, n: usize, step: &StepPlan, plan: &DryRun) {
    let _ = writeln!(
        w,
        "\n<details><summary><b>{n}. <code>{}</code></b>: {}: {}</summary>\n",
        html(&step.id),
        html(&describe::action(step, &plan.providers).replace('`', "")),
        html(&describe::decisions(step))
    );
    let mut facts = Vec::new();
    if !step.needs.is_empty() {
        let needs: Vec<String> = step.needs.iter().map(|s| code(s)).collect();
        facts.push(format!("after {}", needs.join(", ")));
    }
    if let Some(f) = &step.for_each {
        facts.push(format!(
            "for each of {} as {}, key {}: {} items",
            code(&f.over),
            code(&f.alias),
            code(&f.key),
            step.items.len()
        ));
    }
    if let Some(c) = &step.condition {
        facts.push(format!("if {}", code(c)));
    }
    if let Some(t) = describe::retry(step) {
        facts.push(format!("retry: {t}"));
    }
    if let Some(t) = describe::timeout(step) {
        facts.push(format!("timeout: {t}"));
    }
    if let Some(t) = describe::wait(step) {
        facts.push(format!("waits {t}"));
    }
    if let Some(t) = describe::approval(step) {
        facts.push(format!("approval: {t}"));
    }
    facts.extend(describe::extras(step));
    for f in facts {
        let _ = writeln!(w, "- {f}");
    }
    match &step.for_each {
        None => {
            if let Some(detail) = step.items.first().and_then(|i| i.detail.as_deref()) {
                with_md(w, detail);
                requests_md(w, detail);
            }
        }
        Some(_) => batch_md(w, step),
    }
    let _ = writeln!(w, "\n</details>");
}

fn with_md(w: &mut String, item: &ItemDetail) {
    if item.with.is_empty() {
        return;
    }
    let _ = writeln!(w, "\n| with | value |\n|---|---|");
    for (k, v) in &item.with {
        let _ = writeln!(w, "| `{k}` | {} |", code(&describe::value(v)));
    }
}

fn requests_md(w: &mut String, item: &ItemDetail) {
    if let Some(note) = &item.requests_note {
        let _ = writeln!(w, "\n_{}_", note.replace('_', "\\_"));
    }
    for r in &item.requests {
        request_md(w, r);
    }
}

fn request_md(w: &mut String, r: &Request) {
    let mut text = r.line();
    text.push('\n');
    for h in &r.headers {
        let _ = writeln!(text, "{h}");
    }
    if let Some(body) = &r.body {
        let _ = write!(text, "\n{body}\n");
    }
    let f = fence(&text);
    let _ = write!(w, "\n{f}http\n{text}{f}\n");
    for note in &r.notes {
        let _ = writeln!(w, "> {note}");
    }
}

fn batch_md(w: &mut String, step: &StepPlan) {
    if step.items.is_empty() {
        return;
    }
    let shown = &step.items[..step.items.len().min(BATCH_ROWS)];
    let _ = writeln!(w, "\n| key | decision | amount | to |\n|---|---|--:|---|");
    for item in shown {
        let decision = match &item.reason {
            Some(r) => format!("{}: {}", item.decision.words(), r),
            None => item.decision.words().to_string(),
        };
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} |",
            code(item.key.as_deref().unwrap_or_default()),
            cell(&decision),
            cell(&describe::amounts(item)),
            item.target.as_deref().map_or("–".to_string(), code)
        );
    }
    if step.items.len() > shown.len() {
        let _ = writeln!(
            w,
            "\n… {} more items (every item is in the JSON plan).",
            step.items.len() - shown.len()
        );
    }
    for (item, detail) in shown.iter().filter_map(|i| Some((i, i.sent()?))) {
        let _ = writeln!(
            w,
            "\n<details><summary>requests of <code>{}</code></summary>",
            html(&item.label(&step.id))
        );
        requests_md(w, detail);
        let _ = writeln!(w, "\n</details>");
    }
}

fn context_md(w: &mut String, plan: &DryRun) {
    let _ = writeln!(
        w,
        "\n<details><summary>Inputs, providers and hashes</summary>\n"
    );
    let _ = writeln!(w, "| input | value | hash |\n|---|---|---|");
    for i in &plan.inputs.values {
        let _ = writeln!(
            w,
            "| {} | {} | {} |",
            code(&i.name),
            cell(&describe::input(i)),
            code(&i.hash)
        );
    }
    if !plan.providers.is_empty() {
        let _ = writeln!(w, "\n| provider | settings | fingerprint |\n|---|---|---|");
        for p in &plan.providers {
            let _ = writeln!(
                w,
                "| {} | {} | {} |",
                code(&p.name),
                cell(&describe::provider(p)),
                code(&p.fingerprint)
            );
        }
    }
    let _ = writeln!(w, "\n| | |\n|---|---|");
    let _ = writeln!(w, "| workflow hash | {} |", code(&plan.workflow.hash));
    let _ = writeln!(w, "| inputs hash | {} |", code(&plan.inputs.hash));
    let _ = writeln!(w, "| run id | (assigned at apply) |");
    let _ = writeln!(w, "\n</details>");
}
