//! `sluice workers`: the `serve` workers sharing the database, whether they are alive, the
//! runs each one holds and the items of shared steps each one claims.

use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::common::DbArgs;
use super::exit;
use crate::store::{ClaimSummary, RunFilter, RunRecord, RunStatus, WorkerRecord};

/// List the `serve` workers, the runs they hold and the items they claim.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  sluice workers
  sluice workers --all --db postgres://sluice@db/sluice

A worker is live while its heartbeat (renewed every third of its lease TTL) has not expired.
A worker that was killed shows as gone until its row is dropped a day later; the runs it held
are taken over by the other workers once their leases expire, and so are the items of shared
steps it claimed. Leases and claims held by processes that are not workers (`sluice run`,
`sluice resume`) are listed after the workers.")]
pub struct WorkersArgs {
    /// Also list workers that are gone (killed, or whose heartbeat stopped) in the last day.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Runs `workers`.
///
/// # Errors
/// A store failure.
pub async fn run(args: &WorkersArgs) -> Result<ExitCode> {
    let store = args.db.open().await?;
    let workers = store.list_workers().await?;
    let runs = store
        .list_runs(&RunFilter {
            statuses: vec![RunStatus::Pending, RunStatus::Running, RunStatus::Waiting],
            ..RunFilter::default()
        })
        .await?;
    let claims = store.list_claims().await?;
    let listing = render(&workers, (&runs, &claims), Utc::now(), args.all);
    super::print_stdout(&listing);
    Ok(exit::code(exit::SUCCESS))
}

/// The table of workers, each followed by the leases and claims it holds, then the other live
/// leases and claims.
fn render(
    workers: &[WorkerRecord],
    (runs, claims): (&[RunRecord], &[ClaimSummary]),
    now: DateTime<Utc>,
    all: bool,
) -> String {
    let live_leases: Vec<(&str, &str, DateTime<Utc>)> = runs
        .iter()
        .filter_map(|r| r.lease.as_ref().map(|l| (r.id.as_str(), l)))
        .filter(|(_, l)| l.expires_at > now)
        .map(|(id, l)| (id, l.owner.as_str(), l.expires_at))
        .collect();
    let mut out = format!(
        "{:<32} {:<5} {:<20} {:<8} {:<22} {}\n",
        "WORKER", "STATE", "HOST", "PID", "LISTEN", "HEARTBEAT"
    );
    let shown: Vec<&WorkerRecord> = workers.iter().filter(|w| all || w.is_live(now)).collect();
    for w in &shown {
        out.push_str(&format!(
            "{:<32} {:<5} {:<20} {:<8} {:<22} {} ago\n",
            w.info.id,
            if w.is_live(now) { "live" } else { "gone" },
            w.info.host,
            w.info.pid,
            w.info.listen.as_deref().unwrap_or("-"),
            ago(now, w.heartbeat_at),
        ));
        let role = |owner: &str| {
            owner
                .strip_prefix(w.info.id.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .map(|role| format!(" ({role})"))
                .unwrap_or_default()
        };
        for (run_id, owner, expires_at) in live_leases.iter().filter(|(_, o, _)| w.info.owns(o)) {
            out.push_str(&format!(
                "  holds {run_id}{}, lease expires in {}\n",
                role(owner),
                ago(*expires_at, now)
            ));
        }
        for c in claims.iter().filter(|c| w.info.owns(&c.owner)) {
            out.push_str(&format!("  {}\n", claimed(c, &role(&c.owner), now)));
        }
    }
    if shown.is_empty() {
        out.push_str(if all {
            "(no worker has reported)\n"
        } else {
            "(no live worker; `--all` also lists gone ones)\n"
        });
    }
    let other = |owner: &str| !workers.iter().any(|w| w.is_live(now) && w.info.owns(owner));
    let others: Vec<_> = live_leases.iter().filter(|(_, o, _)| other(o)).collect();
    let other_claims: Vec<_> = claims.iter().filter(|c| other(&c.owner)).collect();
    if !others.is_empty() || !other_claims.is_empty() {
        out.push_str("\nOther lease holders:\n");
        for (run_id, owner, expires_at) in others {
            out.push_str(&format!(
                "  {owner} holds {run_id}, lease expires in {}\n",
                ago(*expires_at, now)
            ));
        }
        for c in other_claims {
            out.push_str(&format!("  {} {}\n", c.owner, claimed(c, "", now)));
        }
    }
    out
}

/// `claims N items of RUN step `STEP` (ROLE), …`: one owner's live claims on one shared step.
fn claimed(c: &ClaimSummary, role: &str, now: DateTime<Utc>) -> String {
    format!(
        "claims {} item{} of {} step `{}`{role}, claims expire in {}",
        c.items,
        if c.items == 1 { "" } else { "s" },
        c.run_id,
        c.step_id,
        ago(c.expires_at, now)
    )
}

/// `later - earlier`, to the second (`0s` when not later).
fn ago(later: DateTime<Utc>, earlier: DateTime<Utc>) -> String {
    let seconds = (later - earlier).num_seconds().max(0);
    humantime::format_duration(std::time::Duration::from_secs(seconds as u64)).to_string()
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use serde_json::Value;

    use super::*;
    use crate::store::{Lease, WorkerInfo};

    fn worker(id: &str, beat: i64, now: DateTime<Utc>) -> WorkerRecord {
        WorkerRecord {
            info: WorkerInfo {
                id: id.into(),
                name: id.split(':').next().unwrap().into(),
                host: "db1".into(),
                pid: id.split(':').nth(1).unwrap().parse().unwrap(),
                listen: Some("10.0.0.1:8787".into()),
                version: "0.1.0".into(),
            },
            started_at: now - TimeDelta::hours(1),
            heartbeat_at: now - TimeDelta::seconds(beat),
            expires_at: now - TimeDelta::seconds(beat) + TimeDelta::seconds(30),
        }
    }

    fn run(id: &str, owner: &str, expires_in: i64, now: DateTime<Utc>) -> RunRecord {
        RunRecord {
            id: id.into(),
            workflow_name: "payroll".into(),
            workflow_path: "payroll.yaml".into(),
            workflow_hash: String::new(),
            inputs_hash: String::new(),
            inputs: Value::Null,
            plan_hash: None,
            status: RunStatus::Running,
            created_at: now,
            updated_at: now,
            finished_at: None,
            lease: Some(Lease {
                run_id: id.into(),
                owner: owner.into(),
                expires_at: now + TimeDelta::seconds(expires_in),
                scope: crate::store::LeaseScope::Run,
            }),
            scheduled_for: None,
            started_by: None,
            error: None,
        }
    }

    #[test]
    fn lists_live_workers_with_their_leases_then_other_holders() {
        let now = DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
            .unwrap()
            .to_utc();
        let workers = [worker("a:11:0001", 5, now), worker("b:22:0002", 90, now)];
        let runs = [
            run("run_1", "a:11:0001", 25, now),
            run("run_2", "a:11:0001/scheduler", 12, now),
            run("run_3", "b:22:0002", -60, now),
            run("run_4", "laptop:33:0003", 20, now),
        ];
        let claim = |owner: &str, items: u64| ClaimSummary {
            owner: owner.into(),
            run_id: "run_5".into(),
            step_id: "pay".into(),
            items,
            expires_at: now + TimeDelta::seconds(18),
        };
        let claims = [claim("a:11:0001/help", 32), claim("laptop:33:0003", 1)];
        let live = render(&workers, (&runs, &claims), now, false);
        assert_eq!(
            live,
            "WORKER                           STATE HOST                 PID      LISTEN                 HEARTBEAT\n\
             a:11:0001                        live  db1                  11       10.0.0.1:8787          5s ago\n  \
             holds run_1, lease expires in 25s\n  \
             holds run_2 (scheduler), lease expires in 12s\n  \
             claims 32 items of run_5 step `pay` (help), claims expire in 18s\n\
             \n\
             Other lease holders:\n  \
             laptop:33:0003 holds run_4, lease expires in 20s\n  \
             laptop:33:0003 claims 1 item of run_5 step `pay`, claims expire in 18s\n"
        );
        let all = render(&workers, (&runs, &[]), now, true);
        assert!(
            all.contains("b:22:0002                        gone  db1"),
            "{all}"
        );
        assert!(
            !all.contains("run_3"),
            "an expired lease is nobody's: {all}"
        );
        assert_eq!(
            render(&[], (&[], &[]), now, false),
            format!(
                "{:<32} {:<5} {:<20} {:<8} {:<22} {}\n(no live worker; `--all` also lists gone ones)\n",
                "WORKER", "STATE", "HOST", "PID", "LISTEN", "HEARTBEAT"
            )
        );
    }
}
