//! The throughput and overhead benchmark of sluice (README "Benchmark"), in one command:
//! `bench/run.sh` (or `cargo bench --bench throughput -- [--quick]`).
//!
//! 1. generates payroll CSVs of 1,000, 10,000 and 100,000 payees from a fixed seed;
//! 2. starts the sandbox on loopback in this process: webhooks off, clock stopped (no
//!    artificial latency; a transfer stays `PROCESSING` after its commit, which is where
//!    the engine's part ends), unknown target accounts registered on first use;
//! 3. runs `workflows/payroll.yaml` through the release `sluice` binary on a fresh SQLite
//!    database at `synchronous=FULL` and `NORMAL`, at concurrency 1, 16 and 64;
//! 4. measures wall time, items/s, provider calls/s, peak RSS (`/usr/bin/time -v`), DB size;
//! 5. runs the same batch through the engine against an in-process provider stub, which
//!    isolates the cost of checkpoints and scheduling;
//! 6. times `sluice validate` and `sluice resume` of a completed 10k run, and measures
//!    `sluice plan` on 10k and 100k rows (time, peak RSS, plan file size; see [`plan`]);
//! 7. prints the tables and writes `bench/results.json`;
//! 8. with `SLUICE_BENCH_POSTGRES` set, runs eight payroll runs on Postgres with 1, 2 and 4
//!    `sluice serve` workers sharing them (see [`workers`]);
//! 9. runs the peers' workload: 1,000 durable steps of one HTTP POST each to a stub server,
//!    one at a time and 16 in flight, against a plain loop of the same POSTs (see [`peers`]);
//! 10. times the operator console's pages of a 100,000-item step (see [`console`]).
//!
//! Not part of `cargo test`. `--quick` (about a minute) runs 1,000 payees only.

mod console;
mod data;
mod e2e;
mod overhead;
mod peers;
mod plan;
mod report;
mod store;
mod stub;
mod workers;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use rust_decimal::Decimal;
use sluice::catalog::ProviderKind;
use sluice::sandbox::SandboxConfig;

use e2e::{Cli, Sync};
use report::Results;

/// The throughput and overhead benchmark.
#[derive(Debug, Parser)]
#[command(name = "throughput")]
struct Args {
    /// 1,000 payees only: every configuration once, in about a minute (for CI).
    #[arg(long)]
    quick: bool,
    /// A name for this run, kept in the JSON (`before`, `after`).
    #[arg(long, default_value = "current")]
    label: String,
    /// Where to write the JSON results, relative to the repository root.
    #[arg(long, default_value = "bench/results.json")]
    out: PathBuf,
    /// Payroll sizes (default: 1000,10000,100000; with `--quick`: 1000).
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<usize>,
    /// Concurrencies (default: 1,16,64; the 100k runs use the widest).
    #[arg(long, value_delimiter = ',')]
    concurrency: Vec<u32>,
    /// Durabilities (default: full,normal).
    #[arg(long, value_delimiter = ',')]
    sync: Vec<String>,
    /// Only these parts: `e2e`, `overhead`, `store`, `commands`, `plan`, `workers`, `peers`,
    /// `console` (default: all).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Items of the step whose console pages are timed (default: 100000; with `--quick`:
    /// 1000).
    #[arg(long, value_name = "N")]
    console_items: Option<usize>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Concurrencies of the matrix.
const CONCURRENCY: &[u32] = &[1, 16, 64];

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_sluice"));
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create `target/bench`: {e}"))?;
    let part = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);

    let sizes: &[usize] = match (&args.sizes[..], args.quick) {
        ([], true) => &[1_000],
        ([], false) => &[1_000, 10_000, 100_000],
        (given, _) => given,
    };
    let payrolls = sizes
        .iter()
        .map(|&n| data::write(&work, n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot write the payroll CSVs: {e}"))?;
    let concurrency = if args.concurrency.is_empty() {
        CONCURRENCY
    } else {
        &args.concurrency[..]
    };
    let syncs: Vec<Sync> = if args.sync.is_empty() {
        Sync::BOTH.to_vec()
    } else {
        Sync::BOTH
            .into_iter()
            .filter(|s| args.sync.iter().any(|a| a.eq_ignore_ascii_case(s.env())))
            .collect()
    };
    let widest = concurrency.iter().copied().max().unwrap_or(64);
    let by_size = |n: usize| payrolls.iter().find(|p| p.rows == n);
    let small = &payrolls[0];
    let (medium, large) = (by_size(10_000), by_size(100_000));

    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let sandbox = rt
        .block_on(sluice::sandbox::start(SandboxConfig {
            addr: "127.0.0.1:0".parse().expect("a loopback address"),
            speed: 0,
            auto_target_accounts: true,
            balances: [(
                ProviderKind::Whalestack,
                [("EURC".to_string(), Decimal::from(1_000_000_000_000u64))].into(),
            )]
            .into(),
            ..SandboxConfig::default()
        }))
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    let cli = Cli {
        bin,
        root: root.clone(),
        work: work.clone(),
        sandbox: &sandbox,
        time_v: std::path::Path::new("/usr/bin/time").exists(),
    };
    if !cli.time_v {
        eprintln!("note: /usr/bin/time is missing; peak RSS is not measured");
    }

    let mut results = Results {
        label: args.label.clone(),
        commit: git_describe(&root),
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        quick: args.quick,
        calls_per_item: 0.0,
        e2e: Vec::new(),
        overhead: Vec::new(),
        store: Vec::new(),
        commands: Vec::new(),
        plans: Vec::new(),
        workers: Vec::new(),
        peers: Vec::new(),
        console: Vec::new(),
        targets: Vec::new(),
        total_s: 0.0,
    };

    if part("e2e") {
        // Counted on 1,000 payees: the count per payee does not depend on the batch's size.
        let calibration = match by_size(1_000) {
            Some(p) => p.clone(),
            None => data::write(&work, 1_000).map_err(|e| e.to_string())?,
        };
        results.calls_per_item = cli.calls_per_item(&calibration)?;
        eprintln!("calls per payee: {:.3}", results.calls_per_item);
        let mut matrix: Vec<(&data::Payroll, Sync, u32)> = Vec::new();
        for p in payrolls.iter().filter(|p| p.rows <= 10_000) {
            for &sync in &syncs {
                for &c in concurrency {
                    matrix.push((p, sync, c));
                }
            }
        }
        // 100,000 payees one at a time would take most of an hour; the scale run uses the
        // widest concurrency, where per-item cost is lowest and comparable with 10k.
        if let Some(p) = large {
            for &sync in &syncs {
                matrix.push((p, sync, widest));
            }
        }
        for (p, sync, c) in matrix {
            let r = cli.run(p, sync, c, results.calls_per_item)?;
            eprintln!(
                "e2e {:>6} {:<6} c{:<3} {:>7.2} s {:>6.0} items/s rss {} MiB",
                r.items,
                sync.label(),
                c,
                r.wall_s,
                r.items_per_s,
                r.peak_rss_mib.map_or("-".into(), |m| format!("{m:.0}"))
            );
            results.e2e.push(r);
        }
    }

    if part("overhead") {
        let mut matrix: Vec<(&data::Payroll, Sync, u32)> = Vec::new();
        let base = medium.unwrap_or(small);
        for &sync in &syncs {
            for &c in concurrency {
                matrix.push((base, sync, c));
            }
        }
        if let Some(p) = large {
            for &sync in &syncs {
                matrix.push((p, sync, widest));
            }
        }
        for (p, sync, c) in matrix {
            let r = rt.block_on(overhead::run(&root, &work, p, sync, c))?;
            eprintln!(
                "overhead {:>6} {:<6} c{:<3} {:>7.1} us/item",
                r.items,
                sync.label(),
                c,
                r.us_per_item
            );
            results.overhead.push(r);
        }
    }

    if part("store") {
        for &sync in &syncs {
            for batch in [1, 16, 64] {
                // One item per transaction is slow enough that fewer items tell as much.
                let items = if args.quick || batch == 1 {
                    1_000
                } else {
                    10_000
                };
                let r = rt.block_on(store::run(&work, items, sync, batch))?;
                eprintln!(
                    "store {:>6} {:<6} batch {:<3} {:>7.1} us/item",
                    r.items,
                    sync.label(),
                    batch,
                    r.total_us
                );
                results.store.push(r);
            }
        }
    }

    if part("commands") {
        results.commands.push(cli.validate(5));
        // The resume measurements need a completed run: the FULL one at the widest concurrency.
        let base = medium.unwrap_or(small);
        let done = match results
            .e2e
            .iter()
            .find(|e| e.items == base.rows && e.sync == Sync::Full && e.concurrency == widest)
        {
            Some(done) => done.clone(),
            None => cli.run(base, Sync::Full, widest, results.calls_per_item)?,
        };
        results.commands.extend(cli.resumes(&done, 3));
    }

    if part("plan") {
        // 10k and 100k rows whatever `--sizes` says (10k only with `--quick`).
        let rows: &[usize] = if args.quick {
            &[10_000]
        } else {
            &[10_000, 100_000]
        };
        for &n in rows {
            let payroll = match by_size(n) {
                Some(p) => p.clone(),
                None => data::write(&work, n).map_err(|e| e.to_string())?,
            };
            for out in [false, true] {
                let r = cli.plan(&payroll, out, 3);
                eprintln!(
                    "{:<32} {:>7} s  rss {} MiB  file {} MB  {}",
                    r.name(),
                    r.wall_s.map_or("-".into(), |w| format!("{w:.3}")),
                    r.peak_rss_mib.map_or("-".into(), |m| format!("{m:.0}")),
                    r.file_mb.map_or("-".into(), |m| format!("{m:.1}")),
                    r.note
                );
                results.plans.push(r);
            }
        }
    }

    if part("workers") {
        match std::env::var("SLUICE_BENCH_POSTGRES") {
            Ok(url) if !url.is_empty() => {
                // Many runs; one run of as many payees, whose items the workers share; and a
                // smaller one with every provider call 50 ms late.
                let late = Duration::from_millis(50);
                let series = if args.quick {
                    [
                        (4, 250, Duration::ZERO),
                        (1, 1_000, Duration::ZERO),
                        (1, 500, late),
                    ]
                } else {
                    [
                        (8, 1_250, Duration::ZERO),
                        (1, 10_000, Duration::ZERO),
                        (1, 2_000, late),
                    ]
                };
                for (runs, rows, latency) in series {
                    let payroll = data::write(&work, rows).map_err(|e| e.to_string())?;
                    let calls = if results.calls_per_item > 0.0 {
                        results.calls_per_item
                    } else {
                        cli.calls_per_item(&payroll)?
                    };
                    let rows = workers::run(&cli, &url, &payroll, (runs, latency), calls);
                    for r in rt.block_on(rows)? {
                        eprintln!(
                            "workers {} runs {} {:>6} payees latency {} ms {:>7.2} s {:>6.0} items/s",
                            r.workers, r.runs, r.items, r.latency_ms, r.wall_s, r.items_per_s
                        );
                        results.workers.push(r);
                    }
                }
            }
            _ => eprintln!("note: SLUICE_BENCH_POSTGRES is not set; the Postgres row is skipped"),
        }
    }

    if part("peers") {
        let payroll = match by_size(peers::ITEMS) {
            Some(p) => p.clone(),
            None => data::write(&work, peers::ITEMS).map_err(|e| e.to_string())?,
        };
        for r in rt.block_on(peers::run(&work, &payroll, &syncs))? {
            eprintln!(
                "peers {:>6} {:<6} {:<12} plain {:>6.0}/s durable {:>6.0}/s ratio {:.2}",
                r.items,
                r.sync.label(),
                peers::mode(r.in_flight),
                r.plain_per_s,
                r.durable_per_s,
                r.ratio
            );
            results.peers.push(r);
        }
    }

    if part("console") {
        // 100,000 items whatever `--sizes` says (1,000 with `--quick`).
        let items = match (args.console_items, args.quick) {
            (Some(n), _) => n,
            (None, true) => 1_000,
            (None, false) => 100_000,
        };
        for r in rt.block_on(console::run(&work, items))? {
            eprintln!(
                "console {:>6} {:<24} {:>8.1} ms (max {:.1}) {:>9} bytes",
                r.items, r.page, r.median_ms, r.max_ms, r.bytes
            );
            results.console.push(r);
        }
    }

    drop(cli);
    rt.block_on(sandbox.shutdown());
    results.total_s = started.elapsed().as_secs_f64();
    results.targets = report::targets(&results);
    let table = report::table(&results);
    println!("{table}");
    let out = root.join(&args.out);
    let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    std::fs::write(&out, json + "\n")
        .map_err(|e| format!("cannot write `{}`: {e}", out.display()))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

fn git_describe(root: &std::path::Path) -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".into(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
        )
}
