//! A checkpoint database that runs out of space, or turns read-only, mid-run: sluice stops
//! with a clear error, the database stays consistent, and once there is room again the run
//! resumes and pays every payee exactly once. Uses a real tmpfs (needs root, as CI has); where
//! mounting is not possible the test says so and passes without checking.

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice::sandbox::Faults;

use super::harness::{Harness, text};

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let path = dir.join("tmpfs");
        std::fs::create_dir_all(&path).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("note: cannot mount a tmpfs here (not root?); skipping this check");
            return None;
        }
        Some(Tmpfs(path))
    }

    fn remount(&self, options: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount {options} failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Room left on the full-disk test's tmpfs past what a fresh database takes: the run of 300
/// payees is created and pays some of them, not all.
const ROOM_KIB: u64 = 1024;

/// What a fresh database takes on disk (file, WAL and lock), in KiB, measured rather than
/// written down so that a migration that grows it does not move where the disk fills.
async fn fresh_database_kib(h: &Harness) -> u64 {
    let dir = h.dir.path().join("fresh");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("sluice.db");
    let out = h
        .sluice(&["runs", "--db", db.to_str().unwrap()], None)
        .await;
    assert!(out.status.success(), "{}", text(&out));
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len().div_ceil(4096) * 4)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_run_cleanly_and_resume_pays_each_payee_once() {
    let h = Harness::start(Faults::default()).await;
    let room = format!("{}k", fresh_database_kib(&h).await + ROOM_KIB);
    let Some(fs) = Tmpfs::mount(h.dir.path(), &room) else {
        return;
    };
    let db = fs.0.join("sluice.db");
    let db = db.to_str().unwrap();
    let (csv, payees) = h.payroll(300);
    let mut args = Harness::payroll_run("run_disk_full", &csv);
    args.extend(["--db".to_string(), db.to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.sluice(&args, None).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "the disk did not fill: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("is full; nothing of the refused write was kept"),
        "{}",
        text(&out)
    );
    let paid = h.transfers().len();
    assert!(
        paid < payees.len(),
        "everything was paid before the disk filled"
    );
    assert!(
        paid > 0,
        "the disk filled before the run started paying: {}",
        text(&out)
    );

    fs.remount("size=64m");
    for _ in 0..3 {
        let out = h
            .sluice(&["resume", "run_disk_full", "--db", db], None)
            .await;
        if out.status.code() == Some(0) {
            break;
        }
        eprintln!("{}", text(&out));
    }
    h.assert_paid_exactly_once(&payees);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_is_a_clear_error_and_stays_intact() {
    let h = Harness::start(Faults::default()).await;
    let Some(fs) = Tmpfs::mount(h.dir.path(), "16m") else {
        return;
    };
    let db = fs.0.join("sluice.db");
    let db = db.to_str().unwrap();
    let (csv, payees) = h.payroll(5);
    let mut args = Harness::payroll_run("run_ro", &csv);
    args.extend(["--db".to_string(), db.to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.sluice(&args, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = std::fs::read(db).unwrap();

    fs.remount("ro");
    let (csv2, _) = h.payroll(5);
    let mut again = Harness::payroll_run("run_ro_2", &csv2);
    again.extend(["--db".to_string(), db.to_string()]);
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    let out = h.sluice(&again, None).await;
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("cannot open the checkpoint database"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("panicked"), "{}", text(&out));
    assert_eq!(std::fs::read(db).unwrap(), before, "the database changed");
    h.assert_paid_exactly_once(&payees);
}
