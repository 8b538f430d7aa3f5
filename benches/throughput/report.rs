//! The printed tables, the targets of the benchmark, and `bench/results.json`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::console::ConsolePage;
use crate::e2e::{CommandRun, E2eRun, Sync};
use crate::overhead::OverheadRun;
use crate::peers::{PeersRun, mode};
use crate::plan::PlanRun;
use crate::store::StoreRun;
use crate::workers::WorkersRun;

/// Everything one benchmark run measured.
#[derive(Debug, Serialize)]
pub struct Results {
    /// `--label`, to tell runs apart (`before`, `after`).
    pub label: String,
    /// `git describe --always --dirty` of the tree measured.
    pub commit: String,
    /// When, UTC.
    pub at: String,
    /// CPUs the machine shows.
    pub cpus: usize,
    /// `--quick` or the full matrix.
    pub quick: bool,
    /// HTTP requests per payee, counted once.
    pub calls_per_item: f64,
    /// End-to-end runs.
    pub e2e: Vec<E2eRun>,
    /// Engine-only runs.
    pub overhead: Vec<OverheadRun>,
    /// Store-only runs.
    pub store: Vec<StoreRun>,
    /// validate, resume.
    pub commands: Vec<CommandRun>,
    /// `sluice plan` at 10k and 100k rows, with and without `--out`.
    pub plans: Vec<PlanRun>,
    /// Runs shared by `serve` workers on Postgres.
    pub workers: Vec<WorkersRun>,
    /// The peers' workload: durable steps of one POST each against a plain loop of them.
    pub peers: Vec<PeersRun>,
    /// The operator console's pages of a large step, over HTTP.
    pub console: Vec<ConsolePage>,
    /// The targets, measured.
    pub targets: Vec<Target>,
    /// The whole benchmark's wall time.
    pub total_s: f64,
}

/// One target and where the benchmark stands.
#[derive(Debug, Serialize)]
pub struct Target {
    /// What is measured.
    pub what: String,
    /// The bar.
    pub bar: String,
    /// The measurement, in words.
    pub measured: String,
    /// Met, missed, or not measured (`None`).
    pub met: Option<bool>,
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

/// The targets against `r`.
pub fn targets(r: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    let best_e2e = |items: usize, sync: Sync| {
        r.e2e
            .iter()
            .filter(|e| e.items == items && e.sync == sync)
            .min_by(|a, b| a.wall_s.total_cmp(&b.wall_s))
    };
    let e10 = best_e2e(10_000, Sync::Full);
    out.push(Target {
        what: "10k payroll end to end, FULL".into(),
        bar: "<= 10 s".into(),
        measured: e10.map_or("not run".into(), |e| {
            format!("{:.2} s (concurrency {})", e.wall_s, e.concurrency)
        }),
        met: e10.map(|e| e.wall_s <= 10.0),
    });
    // Measured on 10k payees where there are, at the best concurrency.
    let overhead_items = if r.overhead.iter().any(|o| o.items == 10_000) {
        10_000
    } else {
        r.overhead.iter().map(|o| o.items).max().unwrap_or(0)
    };
    for (sync, bar) in [(Sync::Full, 250.0), (Sync::Normal, 60.0)] {
        let best = r
            .overhead
            .iter()
            .filter(|o| o.sync == sync && o.items == overhead_items)
            .min_by(|a, b| a.us_per_item.total_cmp(&b.us_per_item));
        out.push(Target {
            what: format!("engine overhead per item, {}", sync.label()),
            bar: format!("<= {bar} us"),
            measured: best.map_or("not run".into(), |o| {
                format!(
                    "{:.1} us ({} items, concurrency {})",
                    o.us_per_item, o.items, o.concurrency
                )
            }),
            met: best.map(|o| o.us_per_item <= bar),
        });
    }
    let e100 = best_e2e(100_000, Sync::Full);
    out.push(Target {
        what: "100k payroll peak RSS".into(),
        bar: "<= 200 MiB".into(),
        measured: e100
            .and_then(|e| e.peak_rss_mib)
            .map_or("not run".into(), |m| format!("{m:.1} MiB")),
        met: e100.and_then(|e| e.peak_rss_mib).map(|m| m <= 200.0),
    });
    let same10 = e100.and_then(|big| {
        r.e2e
            .iter()
            .find(|e| e.items == 10_000 && e.sync == big.sync && e.concurrency == big.concurrency)
    });
    out.push(Target {
        what: "100k throughput per item vs 10k (FULL, same concurrency)".into(),
        bar: ">= 10k items/s".into(),
        measured: match (e100, same10) {
            (Some(big), Some(small)) => format!(
                "{:.0} vs {:.0} items/s ({:+.1} %)",
                big.items_per_s,
                small.items_per_s,
                (big.items_per_s / small.items_per_s - 1.0) * 100.0
            ),
            _ => "not run".into(),
        },
        // Within 5 %: two runs of one configuration differ by about that much here.
        met: e100
            .zip(same10)
            .map(|(big, small)| big.items_per_s >= small.items_per_s * 0.95),
    });
    out.extend(plan_targets(&r.plans));
    let resume = r
        .commands
        .iter()
        .filter(|c| c.name.starts_with("resume") && c.name.contains("10000"))
        .filter_map(|c| c.wall_s)
        .reduce(f64::max);
    out.push(Target {
        what: "no-op resume of a completed 10k run (slowest variant)".into(),
        bar: "<= 1 s".into(),
        measured: resume.map_or("not run".into(), |w| format!("{w:.3} s")),
        met: resume.map(|w| w <= 1.0),
    });
    for (in_flight, bar) in [(1, 0.45), (16, 0.90)] {
        let row = r
            .peers
            .iter()
            .find(|p| p.in_flight == in_flight && p.sync == Sync::Full);
        out.push(Target {
            what: format!(
                "durable / plain POSTs, {}, FULL (peers' workload)",
                mode(in_flight)
            ),
            bar: format!(">= {bar:.2}x"),
            measured: row.map_or("not run".into(), |p| {
                format!(
                    "{:.2}x ({:.0} vs {:.0} /s)",
                    p.ratio, p.durable_per_s, p.plain_per_s
                )
            }),
            met: row.map(|p| p.ratio >= bar),
        });
    }
    out.extend(console_targets(&r.console));
    out
}

/// The console on a 100,000-item step: the slowest items page (first, deep, filtered,
/// searched) and the run's page.
fn console_targets(pages: &[ConsolePage]) -> Vec<Target> {
    let big = |p: &&ConsolePage| p.items == 100_000;
    let items = pages
        .iter()
        .filter(big)
        .filter(|p| p.page.starts_with("items") && p.page != "items.csv")
        .map(|p| p.median_ms)
        .reduce(f64::max);
    let run = pages
        .iter()
        .filter(big)
        .find(|p| p.page == "run")
        .map(|p| p.median_ms);
    let measured = |v: Option<f64>| v.map_or("not run".into(), |v| format!("{v:.0} ms"));
    vec![
        Target {
            what: "console items page of a 100k-item step (slowest of first, deep, filtered, searched)".into(),
            bar: "<= 200 ms".into(),
            measured: measured(items),
            met: items.map(|v| v <= 200.0),
        },
        Target {
            what: "console run page of a 100k-item run".into(),
            bar: "< 1 s".into(),
            measured: measured(run),
            met: run.map(|v| v < 1_000.0),
        },
    ]
}

/// `sluice plan` on 100k rows: the slower and larger of the text a reviewer reads and the
/// run with the plan file beside it, and that file's size.
fn plan_targets(plans: &[PlanRun]) -> Vec<Target> {
    let big: Vec<&PlanRun> = plans.iter().filter(|p| p.rows == 100_000).collect();
    let failed = big.iter().find(|p| p.wall_s.is_none());
    let worst = |f: fn(&PlanRun) -> Option<f64>| match failed {
        Some(_) => None,
        None => big.iter().filter_map(|p| f(p)).reduce(f64::max),
    };
    let measured = |v: Option<f64>, unit: &str| match (v, failed) {
        (Some(v), _) => format!("{v:.2} {unit}"),
        (None, Some(f)) => f.note.clone(),
        (None, None) => "not run".into(),
    };
    let (wall, rss, file) = (
        worst(|p| p.wall_s),
        worst(|p| p.peak_rss_mib),
        worst(|p| p.file_mb),
    );
    vec![
        Target {
            what: "`sluice plan` on 100k rows (slower of text and --out)".into(),
            bar: "<= 2 s".into(),
            measured: measured(wall, "s"),
            met: wall.map(|w| w <= 2.0),
        },
        Target {
            what: "`sluice plan` on 100k rows, peak RSS".into(),
            bar: "<= 200 MiB".into(),
            measured: measured(rss, "MiB"),
            met: rss.map(|m| m <= 200.0),
        },
        Target {
            what: "`sluice plan --out plan.json` on 100k rows, file size".into(),
            bar: "<= 40 MB".into(),
            measured: measured(file, "MB"),
            met: file.map(|m| m <= 40.0),
        },
    ]
}

/// The tables, as printed.
pub fn table(r: &Results) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "sluice benchmark `{}` at {} ({} CPUs, calls/item {:.3})\n",
        r.label, r.commit, r.cpus, r.calls_per_item
    );
    let _ = writeln!(
        t,
        "End to end: `sluice run workflows/payroll.yaml` against the loopback sandbox"
    );
    let _ = writeln!(
        t,
        "| payees  | sync   | conc | wall s  | items/s | calls/s | peak RSS MiB | DB MiB |"
    );
    let _ = writeln!(
        t,
        "|--------:|--------|-----:|--------:|--------:|--------:|-------------:|-------:|"
    );
    for e in &r.e2e {
        let _ = writeln!(
            t,
            "| {:>7} | {:<6} | {:>4} | {:>7.2} | {:>7.0} | {:>7.0} | {:>12} | {:>6.1} |",
            e.items,
            e.sync.label(),
            e.concurrency,
            e.wall_s,
            e.items_per_s,
            e.calls_per_s,
            fmt_opt(e.peak_rss_mib, 1),
            e.db_mib
        );
    }
    let _ = writeln!(
        t,
        "\nEngine overhead: Engine::create + execute against an in-process provider stub (no HTTP)"
    );
    let _ = writeln!(
        t,
        "| payees  | sync   | conc | create s | execute s | us/item | items/s | DB MiB |"
    );
    let _ = writeln!(
        t,
        "|--------:|--------|-----:|---------:|----------:|--------:|--------:|-------:|"
    );
    for o in &r.overhead {
        let _ = writeln!(
            t,
            "| {:>7} | {:<6} | {:>4} | {:>8.3} | {:>9.3} | {:>7.1} | {:>7.0} | {:>6.1} |",
            o.items,
            o.sync.label(),
            o.concurrency,
            o.create_s,
            o.execute_s,
            o.us_per_item,
            o.items_per_s,
            o.db_mib
        );
    }
    let _ = writeln!(
        t,
        "\nCheckpoint store alone: dispatch + checkpoint + result per item, one batch per transaction"
    );
    let _ = writeln!(
        t,
        "| items  | sync   | batch | dispatch us | checkpoint us | result us | total us/item |"
    );
    let _ = writeln!(
        t,
        "|-------:|--------|------:|------------:|--------------:|----------:|--------------:|"
    );
    for s in &r.store {
        let _ = writeln!(
            t,
            "| {:>6} | {:<6} | {:>5} | {:>11.1} | {:>13.1} | {:>9.1} | {:>13.1} |",
            s.items,
            s.sync.label(),
            s.batch,
            s.dispatch_us,
            s.checkpoint_us,
            s.result_us,
            s.total_us
        );
    }
    if !r.workers.is_empty() {
        let _ = writeln!(
            t,
            "\nPostgres: payroll runs (`run --detach`) shared by `sluice serve` workers on one database \
             (one run: its payment step's items are shared)"
        );
        let _ = writeln!(
            t,
            "| workers | runs | payees | latency ms | wall s | items/s | calls/s |"
        );
        let _ = writeln!(
            t,
            "|--------:|-----:|-------:|-----------:|-------:|--------:|--------:|"
        );
        for w in &r.workers {
            let _ = writeln!(
                t,
                "| {:>7} | {:>4} | {:>6} | {:>10} | {:>6.2} | {:>7.0} | {:>7.0} |",
                w.workers, w.runs, w.items, w.latency_ms, w.wall_s, w.items_per_s, w.calls_per_s
            );
        }
    }
    if !r.peers.is_empty() {
        let _ = writeln!(
            t,
            "\nPeers' workload: {} durable steps of one HTTP POST each to a loopback stub server \
             (Engine::create + execute) vs a plain loop of the same POSTs, no durability",
            r.peers[0].items
        );
        let _ = writeln!(
            t,
            "| mode         | sync   | plain POSTs/s | durable steps/s | ratio |"
        );
        let _ = writeln!(
            t,
            "|--------------|--------|--------------:|----------------:|------:|"
        );
        for p in &r.peers {
            let _ = writeln!(
                t,
                "| {:<12} | {:<6} | {:>13.0} | {:>15.0} | {:>5.2} |",
                mode(p.in_flight),
                p.sync.label(),
                p.plain_per_s,
                p.durable_per_s,
                p.ratio
            );
        }
    }
    if !r.console.is_empty() {
        let _ = writeln!(
            t,
            "\nConsole: pages of a run with one {}-item step, over HTTP (median of 5)",
            r.console[0].items
        );
        let _ = writeln!(t, "| page | median ms | max ms | bytes |");
        let _ = writeln!(t, "|---|---:|---:|---:|");
        for p in &r.console {
            let _ = writeln!(
                t,
                "| {} | {:.1} | {:.1} | {} |",
                p.page, p.median_ms, p.max_ms, p.bytes
            );
        }
    }
    if !r.plans.is_empty() {
        let _ = writeln!(
            t,
            "\nPlans: `sluice plan workflows/payroll.yaml` (median wall time of 3)"
        );
        let _ = writeln!(t, "| command | wall s | peak RSS MiB | file MB | note |");
        let _ = writeln!(t, "|---|---:|---:|---:|---|");
        for p in &r.plans {
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} |",
                p.name(),
                fmt_opt(p.wall_s, 3),
                fmt_opt(p.peak_rss_mib, 1),
                fmt_opt(p.file_mb, 1),
                p.note
            );
        }
    }
    let _ = writeln!(t, "\nCommands (median wall time)");
    let _ = writeln!(t, "| command | wall s | peak RSS MiB | exit | note |");
    let _ = writeln!(t, "|---|---:|---:|---:|---|");
    for c in &r.commands {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} |",
            c.name,
            fmt_opt(c.wall_s, 3),
            fmt_opt(c.peak_rss_mib, 1),
            c.exit.map_or("-".into(), |e| e.to_string()),
            c.note
        );
    }
    let _ = writeln!(t, "\nTargets");
    let _ = writeln!(t, "| target | bar | measured | met |");
    let _ = writeln!(t, "|---|---|---|---|");
    for g in &r.targets {
        let met = match g.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        let _ = writeln!(t, "| {} | {} | {} | {met} |", g.what, g.bar, g.measured);
    }
    let _ = writeln!(t, "\nTotal benchmark time: {:.0} s", r.total_s);
    t
}
