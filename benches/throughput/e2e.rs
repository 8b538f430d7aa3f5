//! End-to-end runs: the release `sluice` binary runs `workflows/payroll.yaml` against the
//! loopback sandbox, as an operator would, under `/usr/bin/time -v` for its peak RSS. Also
//! the CLI's fixed costs: `validate` and no-op resumes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use sluice::catalog::ProviderKind;
use sluice::ids::RunId;
use sluice::sandbox::SandboxHandle;

use crate::data::Payroll;

/// The workflow every run executes.
pub const WORKFLOW: &str = "workflows/payroll.yaml";

/// SQLite durability, as `SLUICE_SQLITE_SYNC` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Sync {
    /// `synchronous=FULL`.
    Full,
    /// `synchronous=NORMAL`.
    Normal,
}

impl Sync {
    /// Both, FULL first.
    pub const BOTH: [Sync; 2] = [Sync::Full, Sync::Normal];

    /// The `SLUICE_SQLITE_SYNC` value.
    pub fn env(self) -> &'static str {
        match self {
            Sync::Full => "full",
            Sync::Normal => "normal",
        }
    }

    /// The pragma's name, for tables.
    pub fn label(self) -> &'static str {
        match self {
            Sync::Full => "FULL",
            Sync::Normal => "NORMAL",
        }
    }
}

/// Where the CLI runs: the binary, the repository root, the scratch directory, the sandbox.
pub struct Cli<'a> {
    /// The release `sluice` binary.
    pub bin: PathBuf,
    /// The repository root (workflows are read relative to it).
    pub root: PathBuf,
    /// Scratch directory for databases.
    pub work: PathBuf,
    /// The loopback sandbox.
    pub sandbox: &'a SandboxHandle,
    /// Whether `/usr/bin/time -v` is there to report peak RSS.
    pub time_v: bool,
}

/// One end-to-end run.
#[derive(Debug, Clone, Serialize)]
pub struct E2eRun {
    /// Payees.
    pub items: usize,
    /// Durability.
    pub sync: Sync,
    /// `--concurrency`.
    pub concurrency: u32,
    /// Wall time of the `sluice run` process, start to exit.
    pub wall_s: f64,
    /// Payees paid per second.
    pub items_per_s: f64,
    /// HTTP requests per second (calls per item × items / wall).
    pub calls_per_s: f64,
    /// Peak RSS of the `sluice` process.
    pub peak_rss_mib: Option<f64>,
    /// The database file plus its WAL after the run.
    pub db_mib: f64,
    /// The run id.
    pub run_id: String,
    /// The database, for the resume measurements.
    #[serde(skip)]
    pub db: PathBuf,
}

/// One timed CLI command (validate, resume).
#[derive(Debug, Clone, Serialize)]
pub struct CommandRun {
    /// What was run, in words.
    pub name: String,
    /// The command line, relative to the repository root.
    pub command: String,
    /// Median wall time.
    pub wall_s: Option<f64>,
    /// Peak RSS.
    pub peak_rss_mib: Option<f64>,
    /// Exit status.
    pub exit: Option<i32>,
    /// Why it was skipped, or what its output means.
    pub note: String,
}

/// What one timed process did.
struct Timed {
    wall: Duration,
    rss_mib: Option<f64>,
    output: Output,
}

impl Cli<'_> {
    /// `sluice ARGS` pointed at the sandbox, with `db` as `SLUICE_DB` when given.
    pub fn command(&self, args: &[&str], db: Option<&Path>, sync: Sync, log: &str) -> Command {
        let mut cmd = if self.time_v {
            let mut c = Command::new("/usr/bin/time");
            c.arg("-v").arg(&self.bin);
            c
        } else {
            Command::new(&self.bin)
        };
        cmd.args(args)
            .current_dir(&self.root)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", log)
            .env("SLUICE_SQLITE_SYNC", sync.env())
            .env(
                "WHALESTACK_BASE_URL",
                self.sandbox.base_url(ProviderKind::Whalestack),
            )
            .env_remove("FAILPOINTS")
            .stdin(Stdio::null());
        if let Some(db) = db {
            cmd.env("SLUICE_DB", db);
        }
        cmd
    }

    fn timed(&self, mut cmd: Command) -> std::io::Result<Timed> {
        let started = Instant::now();
        let output = cmd.output()?;
        let wall = started.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let rss_mib = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|kb| kb.trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0);
        Ok(Timed {
            wall,
            rss_mib,
            output,
        })
    }

    fn run_args(payroll: &Payroll, run_id: &str, concurrency: u32) -> Vec<String> {
        vec![
            "run".into(),
            WORKFLOW.into(),
            "--run-id".into(),
            run_id.into(),
            "--concurrency".into(),
            concurrency.to_string(),
            "--input".into(),
            format!("payees=@{}", payroll.path.display()),
            "--input".into(),
            format!("budget={}", payroll.total),
        ]
    }

    /// `sluice run` of `payroll` on a fresh database.
    ///
    /// # Errors
    /// When the process cannot start or the run does not succeed.
    pub fn run(
        &self,
        payroll: &Payroll,
        sync: Sync,
        concurrency: u32,
        calls_per_item: f64,
    ) -> Result<E2eRun, String> {
        let name = format!("e2e-{}-{}-c{concurrency}", payroll.rows, sync.env());
        let db = fresh_db(&self.work, &name)?;
        let run_id = format!("bench_{}_{}_c{concurrency}", payroll.rows, sync.env());
        let args = Self::run_args(payroll, &run_id, concurrency);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.sandbox.reset();
        let t = self
            .timed(self.command(&args, Some(&db), sync, "sluice=info"))
            .map_err(|e| format!("cannot start `{}`: {e}", self.bin.display()))?;
        if !t.output.status.success() {
            return Err(format!(
                "`sluice run` of {} payees failed:\n{}",
                payroll.rows,
                tail(&t.output)
            ));
        }
        let wall_s = t.wall.as_secs_f64();
        Ok(E2eRun {
            items: payroll.rows,
            sync,
            concurrency,
            wall_s,
            items_per_s: payroll.rows as f64 / wall_s,
            calls_per_s: calls_per_item * payroll.rows as f64 / wall_s,
            peak_rss_mib: t.rss_mib,
            db_mib: db_bytes(&db) as f64 / (1024.0 * 1024.0),
            run_id,
            db,
        })
    }

    /// HTTP requests per payee: one run with the adapters' per-request debug line on, counted.
    /// Measured once, on its own, so that no timed run pays for the logging.
    ///
    /// # Errors
    /// When the run fails.
    pub fn calls_per_item(&self, payroll: &Payroll) -> Result<f64, String> {
        let db = fresh_db(&self.work, "calls")?;
        let args = Self::run_args(payroll, "bench_calls", 16);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.sandbox.reset();
        let t = self
            .timed(self.command(
                &args,
                Some(&db),
                Sync::Normal,
                "warn,sluice::providers::http=debug",
            ))
            .map_err(|e| format!("cannot start `{}`: {e}", self.bin.display()))?;
        if !t.output.status.success() {
            return Err(format!("the calibration run failed:\n{}", tail(&t.output)));
        }
        let calls = String::from_utf8_lossy(&t.output.stderr)
            .lines()
            .filter(|l| l.contains("Provider answered."))
            .count();
        Ok(calls as f64 / payroll.rows as f64)
    }

    /// `sluice validate` (median of `repeat`).
    pub fn validate(&self, repeat: usize) -> CommandRun {
        let args = ["validate", WORKFLOW];
        self.median("validate", &args, None, repeat, |_| String::new())
    }

    /// `sluice resume` of the finished run in `done`, and of the same run after its status is
    /// set back to `running`, as if the process had died after its last checkpoint: every
    /// row is read and found settled, nothing is sent.
    pub fn resumes(&self, done: &E2eRun, repeat: usize) -> Vec<CommandRun> {
        let args = ["resume", done.run_id.as_str()];
        let finished = self.median(
            &format!("resume of a finished {}-payee run", done.items),
            &args,
            Some(&done.db),
            repeat,
            |out| first_line(&out.stderr),
        );
        let mut crashed = Vec::new();
        for _ in 0..repeat {
            if let Err(e) = reopen(&done.db, &done.run_id) {
                return vec![finished, failed_command("resume after a crash", &e)];
            }
            crashed.push(self.median(
                &format!(
                    "resume of a {}-payee run whose items are all settled",
                    done.items
                ),
                &args,
                Some(&done.db),
                1,
                |out| first_line(&out.stdout),
            ));
        }
        crashed.sort_by(|a, b| a.wall_s.partial_cmp(&b.wall_s).expect("finite"));
        let median = crashed.swap_remove(crashed.len() / 2);
        vec![finished, median]
    }

    /// `sluice ARGS` run `repeat` times at FULL: the median's wall time, peak RSS, exit
    /// status, and `note` of its output.
    pub fn median(
        &self,
        name: &str,
        args: &[&str],
        db: Option<&Path>,
        repeat: usize,
        note: impl Fn(&Output) -> String,
    ) -> CommandRun {
        let command = format!("sluice {}", args.join(" "));
        let mut runs = Vec::new();
        for _ in 0..repeat.max(1) {
            match self.timed(self.command(args, db, Sync::Full, "sluice=info")) {
                Ok(t) => runs.push(t),
                Err(e) => return failed_command(name, &e.to_string()),
            }
        }
        runs.sort_by_key(|t| t.wall);
        let t = &runs[runs.len() / 2];
        CommandRun {
            name: name.into(),
            command,
            wall_s: Some(t.wall.as_secs_f64()),
            peak_rss_mib: t.rss_mib,
            exit: t.output.status.code(),
            note: note(&t.output),
        }
    }
}

fn failed_command(name: &str, error: &str) -> CommandRun {
    CommandRun {
        name: name.into(),
        command: String::new(),
        wall_s: None,
        peak_rss_mib: None,
        exit: None,
        note: format!("FAILED: {error}"),
    }
}

/// Sets a finished run back to `running`, as a process killed after its last checkpoint
/// leaves it.
fn reopen(db: &Path, run_id: &str) -> Result<(), String> {
    use sluice::store::{RunStatus, RunStore, SqliteConfig, SqliteStore};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let store = SqliteStore::open(SqliteConfig::new(db))
            .await
            .map_err(|e| e.to_string())?;
        store
            .set_run_status(&RunId::from(run_id), RunStatus::Running, None)
            .await
            .map_err(|e| e.to_string())?;
        store.close().await;
        Ok(())
    })
}

/// A path for a new database named `name` in `work`, with any old one removed.
pub fn fresh_db(work: &Path, name: &str) -> Result<PathBuf, String> {
    let db = work.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove `{}`: {e}", p.display())),
        }
    }
    Ok(db)
}

/// The database and its WAL, in bytes.
pub fn db_bytes(db: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum()
}

fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with("Command being timed"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn tail(out: &Output) -> String {
    let text = format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
