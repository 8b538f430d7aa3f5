//! A sandbox on loopback, a scratch directory with its own checkpoint database, and the real
//! `sluice` binary pointed at both through the environment, as an operator would run it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use rust_decimal::Decimal;
use sluice::catalog::ProviderKind;
use sluice::sandbox::{AutoPay, Faults, LedgerEntry, SandboxConfig, SandboxHandle};

use crate::support::root;

/// A payee row of a generated payroll.
#[derive(Debug, Clone)]
pub struct Payee {
    pub id: String,
    pub name: String,
    pub amount: Decimal,
}

pub struct Harness {
    pub sandbox: SandboxHandle,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start(faults: Faults) -> Harness {
        Self::start_with(faults, |_| {}).await
    }

    /// As `start`, with `edit` applied to the sandbox's configuration (webhook targets,
    /// auto-pay) first.
    pub async fn start_with(faults: Faults, edit: impl FnOnce(&mut SandboxConfig)) -> Harness {
        let mut config = SandboxConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            speed: 50,
            auto_pay: Some(AutoPay::default()),
            auto_target_accounts: true,
            faults,
            balances: [(
                ProviderKind::Whalestack,
                [("EURC".to_string(), Decimal::new(100_000_000, 0))].into(),
            )]
            .into(),
            ..SandboxConfig::default()
        };
        edit(&mut config);
        Harness {
            sandbox: sluice::sandbox::start(config)
                .await
                .expect("sandbox starts"),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("sluice.db")
    }

    /// `sluice ARGS` with the providers' URLs and credentials pointing at the sandbox.
    pub fn command(&self, args: &[&str], failpoints: Option<&str>) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
        cmd.args(args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .env("SLUICE_DB", self.db())
            .env("RUST_LOG", "sluice=warn")
            .env_remove("FAILPOINTS");
        for (kind, prefix) in [
            (ProviderKind::Whalestack, "WHALESTACK"),
            (ProviderKind::White, "WHITE"),
            (ProviderKind::Whitestones, "WHITESTONES"),
            (ProviderKind::Whitepay, "WHITEPAY"),
            (ProviderKind::Http, "LEDGER"),
        ] {
            cmd.env(format!("{prefix}_BASE_URL"), self.sandbox.base_url(kind));
        }
        if let Some(fp) = failpoints {
            cmd.env("FAILPOINTS", fp);
        }
        cmd
    }

    pub async fn sluice(&self, args: &[&str], failpoints: Option<&str>) -> Output {
        let mut cmd = self.command(args, failpoints);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    /// Writes a payroll CSV of `n` payees with distinct amounts and returns them.
    pub fn payroll(&self, n: usize) -> (PathBuf, Vec<Payee>) {
        let mut csv = String::from("employee_id,name,amount,iban_label\n");
        let mut payees = Vec::new();
        for i in 1..=n {
            let amount = Decimal::new((i as i64) * 1013 % 100_000 + 100, 2);
            let p = Payee {
                id: format!("E{i:04}"),
                name: format!("Payee {i}"),
                amount,
            };
            csv.push_str(&format!(
                "{},{},{},{} EUR\n",
                p.id, p.name, p.amount, p.name
            ));
            payees.push(p);
        }
        let path = self.dir.path().join("payroll.csv");
        std::fs::write(&path, csv).unwrap();
        (path, payees)
    }

    /// `run workflows/payroll.yaml` arguments for `csv`, with a budget large enough for any
    /// generated payroll.
    pub fn payroll_run(run_id: &str, csv: &std::path::Path) -> Vec<String> {
        [
            "run",
            "workflows/payroll.yaml",
            "--run-id",
            run_id,
            "--input",
            &format!("payees=@{}", csv.display()),
            "--input",
            "budget=100000000.00",
        ]
        .map(String::from)
        .to_vec()
    }

    /// A copy of an example workflow whose awaits poll every 100ms instead of every minute.
    pub fn fast_workflow(&self, name: &str) -> String {
        let text = std::fs::read_to_string(root().join("workflows").join(name)).unwrap();
        let fast: String = text
            .lines()
            .map(|l| match l.split_once("poll_every:") {
                Some((indent, _)) => format!("{indent}poll_every: 100ms\n"),
                None => format!("{l}\n"),
            })
            .collect();
        let path = self.dir.path().join(name);
        std::fs::write(&path, fast).unwrap();
        path.display().to_string()
    }

    /// A copy of an example workflow with each `(from, to)` text replacement applied.
    pub fn variant(&self, name: &str, file: &str, edits: &[(&str, &str)]) -> String {
        let mut text = std::fs::read_to_string(root().join("workflows").join(name)).unwrap();
        for (from, to) in edits {
            assert!(text.contains(from), "`{from}` is not in {name}");
            text = text.replace(from, to);
        }
        let path = self.dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    pub fn transfers(&self) -> Vec<LedgerEntry> {
        self.sandbox
            .ledger()
            .into_iter()
            .filter(|e| e.kind == "transfer.debit")
            .collect()
    }

    /// The amounts the sandbox paid, by payee name in ledger order: a payroll transfer's note
    /// is `Payroll RUN NAME…`, and generated payee names are two words.
    pub fn paid_by_name(&self) -> BTreeMap<String, Vec<Decimal>> {
        let mut by_name: BTreeMap<String, Vec<Decimal>> = BTreeMap::new();
        for e in self.transfers() {
            let note = e.reference.clone().unwrap_or_default();
            let name = note
                .split_whitespace()
                .skip(2)
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            by_name.entry(name).or_default().push(-e.amount);
        }
        by_name
    }

    /// Every payee was paid exactly once, with exactly its amount.
    pub fn assert_paid_exactly_once(&self, payees: &[Payee]) {
        let by_name = self.paid_by_name();
        for p in payees {
            let paid = by_name.get(&p.name).cloned().unwrap_or_default();
            assert_eq!(
                paid,
                vec![p.amount],
                "{} ({}) was paid {paid:?}",
                p.name,
                p.id
            );
        }
        assert_eq!(
            by_name.len(),
            payees.len(),
            "unexpected transfers: {by_name:?}"
        );
    }
}

/// Text of a process's output, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
