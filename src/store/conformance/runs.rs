//! Runs and leases: creating big runs, listing, leases held, expired, taken over and raced
//! for, and workers claiming runs.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;

use super::Env;
use super::fixtures::{new_run, t0};
use crate::ids::{RunId, StepId};
use crate::store::error::StoreError;
use crate::store::run::{Claim, Lease, NewLease, NewRun, RunFilter, RunRecord, RunStatus};
use crate::store::step::{NewStep, StepState};
use crate::store::traits::Store;

const MINUTE: Duration = Duration::from_secs(60);

pub(super) async fn creates_a_run_with_ten_thousand_items_and_loads_them_in_plan_order(env: &Env) {
    let store = &env.store;
    let mut steps = vec![NewStep::step("check_budget"), NewStep::step("fund")];
    steps.extend((0..10_000).map(|i| NewStep::item("pay", format!("emp-{i:05}"))));
    steps.push(NewStep::item("pay", "emp-zero").skipped("amount is 0"));
    steps.push(NewStep::step("report"));

    let started = Instant::now();
    store.create_run(&new_run("run_big"), &steps).await.unwrap();
    let elapsed = started.elapsed();
    println!("created 10,004 step runs in {elapsed:?}");

    let loaded = store.load_steps(&RunId::from("run_big")).await.unwrap();
    assert_eq!(loaded.len(), steps.len());
    for (i, (record, step)) in loaded.iter().zip(&steps).enumerate() {
        assert_eq!(record.seq, i as i64);
        assert_eq!(record.key.run_id, "run_big");
        assert_eq!(record.key.step_id, step.step_id);
        assert_eq!(record.key.item_key, step.item_key);
    }
    assert_eq!(loaded[0].state, StepState::Pending);
    assert_eq!(loaded[0].updated_at, t0());
    assert_eq!(loaded[2].key.item_key, "emp-00000");
    let zero = &loaded[10_002];
    assert_eq!(zero.state, StepState::Skipped);
    assert_eq!(zero.skip_reason.as_deref(), Some("amount is 0"));

    // A step at a time, as the executor reads a run: the same rows, in the same order.
    for step_id in ["check_budget", "fund", "pay", "report"] {
        let rows = store
            .load_step_rows(&RunId::from("run_big"), &StepId::from(step_id))
            .await
            .unwrap();
        let expected: Vec<_> = loaded
            .iter()
            .filter(|r| r.key.step_id == step_id)
            .cloned()
            .collect();
        assert_eq!(rows, expected, "{step_id}");
    }
    assert_eq!(
        store
            .load_step_rows(&RunId::from("run_big"), &StepId::from("pay"))
            .await
            .unwrap()
            .len(),
        10_001
    );
    assert!(
        store
            .load_step_rows(&RunId::from("run_big"), &StepId::from("nope"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .load_step_rows(&RunId::from("run_none"), &StepId::from("pay"))
            .await
            .unwrap()
            .is_empty()
    );

    let run = store.load_run(&RunId::from("run_big")).await.unwrap();
    assert_eq!(run.status, RunStatus::Pending);
    assert_eq!(run.inputs["budget"].as_str(), Some("25000.00"));
    assert_eq!(run.created_at, t0());
    assert!(run.lease.is_none() && run.finished_at.is_none());
}

pub(super) async fn refuses_duplicate_runs_and_steps_without_writing_anything(env: &Env) {
    let store = &env.store;
    store
        .create_run(&new_run("run_a"), &[NewStep::step("fund")])
        .await
        .unwrap();
    let error = store.create_run(&new_run("run_a"), &[]).await.unwrap_err();
    assert!(matches!(&error, StoreError::RunExists { run_id } if run_id == "run_a"));
    assert_eq!(
        store.load_steps(&RunId::from("run_a")).await.unwrap().len(),
        1
    );

    let twice = [NewStep::item("pay", "e1"), NewStep::item("pay", "e1")];
    let error = store
        .create_run(&new_run("run_b"), &twice)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "run `run_b` lists step `pay` item `e1` twice"
    );
    assert!(matches!(
        store.load_run(&RunId::from("run_b")).await,
        Err(StoreError::RunNotFound { .. })
    ));
}

pub(super) async fn lists_runs_newest_first_by_workflow_and_status(env: &Env) {
    let (store, clock) = (&env.store, &env.clock);
    for (id, workflow) in [
        ("run_1", "payroll"),
        ("run_2", "sweep"),
        ("run_3", "payroll"),
    ] {
        let run = NewRun {
            workflow_name: workflow.into(),
            ..new_run(id)
        };
        store.create_run(&run, &[]).await.unwrap();
        clock.advance(TimeDelta::seconds(1));
    }
    // Two runs created in the same instant come by id, compared byte by byte.
    for id in ["run_B", "run_a"] {
        store.create_run(&new_run(id), &[]).await.unwrap();
    }
    store
        .set_run_status(
            &RunId::from("run_3"),
            RunStatus::Failed,
            Some("step `pay` failed"),
        )
        .await
        .unwrap();

    let ids = |runs: Vec<RunRecord>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_runs(&RunFilter::default()).await.unwrap()),
        ["run_a", "run_B", "run_3", "run_2", "run_1"]
    );
    let sweep = RunFilter {
        workflow: Some("sweep".into()),
        ..RunFilter::default()
    };
    assert_eq!(ids(store.list_runs(&sweep).await.unwrap()), ["run_2"]);
    let payroll = RunFilter {
        workflow: Some("payroll".into()),
        limit: Some(2),
        ..RunFilter::default()
    };
    assert_eq!(
        ids(store.list_runs(&payroll).await.unwrap()),
        ["run_a", "run_B"]
    );
    let failed = RunFilter {
        statuses: vec![RunStatus::Failed, RunStatus::NeedsAttention],
        limit: Some(5),
        ..payroll
    };
    let second = RunFilter {
        created_from: Some(t0() + TimeDelta::seconds(1)),
        created_before: Some(t0() + TimeDelta::seconds(2)),
        ..RunFilter::default()
    };
    assert_eq!(ids(store.list_runs(&second).await.unwrap()), ["run_2"]);
    let runs = store.list_runs(&failed).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].error.as_deref(), Some("step `pay` failed"));
    assert_eq!(runs[0].finished_at, Some(t0() + TimeDelta::seconds(3)));

    store
        .set_run_status(&RunId::from("run_3"), RunStatus::Running, None)
        .await
        .unwrap();
    let run = store.load_run(&RunId::from("run_3")).await.unwrap();
    assert_eq!((run.finished_at, run.error), (None, None));
    assert!(matches!(
        store
            .set_run_status(&RunId::from("run_9"), RunStatus::Running, None)
            .await,
        Err(StoreError::RunNotFound { .. })
    ));
}

pub(super) async fn one_process_holds_a_run_and_the_other_learns_who(env: &Env) {
    let (first, clock) = (&env.store, &env.clock);
    let second = env.second().await;
    first.create_run(&new_run("run_a"), &[]).await.unwrap();

    let lease = first
        .acquire_lease(&RunId::from("run_a"), "host-a:100", MINUTE)
        .await
        .unwrap();
    assert_eq!(lease.expires_at, t0() + TimeDelta::minutes(1));
    let error = second
        .acquire_lease(&RunId::from("run_a"), "host-b:200", MINUTE)
        .await
        .unwrap_err();
    match &error {
        StoreError::Leased {
            owner, expires_at, ..
        } => {
            assert_eq!(owner, "host-a:100");
            assert_eq!(*expires_at, lease.expires_at);
        }
        other => panic!("expected Leased, got {other:?}"),
    }
    assert!(
        error.to_string().contains("held by `host-a:100`"),
        "{error}"
    );
    // The holder may take it again, which extends it.
    clock.advance(TimeDelta::seconds(30));
    let again = first
        .acquire_lease(&RunId::from("run_a"), "host-a:100", MINUTE)
        .await
        .unwrap();
    assert_eq!(again.expires_at, t0() + TimeDelta::seconds(90));
    assert_eq!(
        second.load_run(&RunId::from("run_a")).await.unwrap().lease,
        Some(again.clone())
    );

    // Released, the other process gets it at once.
    first.release_lease(&again).await.unwrap();
    let taken = second
        .acquire_lease(&RunId::from("run_a"), "host-b:200", MINUTE)
        .await
        .unwrap();
    assert_eq!(taken.owner, "host-b:200");
    // Releasing a lease no longer held changes nothing.
    first.release_lease(&again).await.unwrap();
    assert_eq!(
        first.load_run(&RunId::from("run_a")).await.unwrap().lease,
        Some(taken)
    );
    assert!(matches!(
        first
            .acquire_lease(&RunId::from("run_none"), "x", MINUTE)
            .await,
        Err(StoreError::RunNotFound { .. })
    ));
}

pub(super) async fn an_expired_lease_lets_another_process_take_over(env: &Env) {
    let (first, clock) = (&env.store, &env.clock);
    let second = env.second().await;
    first.create_run(&new_run("run_a"), &[]).await.unwrap();
    let lease = first
        .acquire_lease(&RunId::from("run_a"), "a", MINUTE)
        .await
        .unwrap();

    clock.advance(TimeDelta::seconds(59));
    let lease = first.renew_lease(&lease, MINUTE).await.unwrap();
    assert_eq!(lease.expires_at, t0() + TimeDelta::seconds(119));
    clock.advance(TimeDelta::seconds(59));
    assert!(
        second
            .acquire_lease(&RunId::from("run_a"), "b", MINUTE)
            .await
            .is_err()
    );

    clock.advance(TimeDelta::seconds(1));
    let taken = second
        .acquire_lease(&RunId::from("run_a"), "b", MINUTE)
        .await
        .unwrap();
    assert_eq!(taken.owner, "b");
    let error = first.renew_lease(&lease, MINUTE).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::LeaseLost { holder: Some(h), .. } if h == "b"),
        "{error:?}"
    );
}

pub(super) async fn a_dead_holders_lease_is_taken_over_only_from_that_holder(env: &Env) {
    let store = &env.store;
    let second = env.second().await;
    store.create_run(&new_run("run_a"), &[]).await.unwrap();
    store
        .acquire_lease(&RunId::from("run_a"), "host:100", MINUTE)
        .await
        .unwrap();

    // Before expiry, from the holder named: compare and swap.
    let taken = second
        .take_over_lease(&RunId::from("run_a"), "host:100", "host:200", MINUTE)
        .await
        .unwrap();
    assert_eq!(
        (taken.owner.as_str(), taken.expires_at),
        ("host:200", t0() + TimeDelta::minutes(1))
    );
    // The same take-over again finds someone else holding it, and says who.
    let error = store
        .take_over_lease(&RunId::from("run_a"), "host:100", "host:300", MINUTE)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::LeaseLost { holder: Some(h), owner, .. } if h == "host:200" && owner == "host:300"),
        "{error:?}"
    );
    assert_eq!(
        store.load_run(&RunId::from("run_a")).await.unwrap().lease,
        Some(taken)
    );
    assert!(matches!(
        store
            .take_over_lease(&RunId::from("run_none"), "a", "b", MINUTE)
            .await,
        Err(StoreError::RunNotFound { .. })
    ));
}

pub(super) async fn workers_claim_the_oldest_free_run_once(env: &Env) {
    let (store, clock) = (&env.store, &env.clock);
    for id in ["run_1", "run_2", "run_3"] {
        store.create_run(&new_run(id), &[]).await.unwrap();
        clock.advance(TimeDelta::seconds(1));
    }
    store
        .set_run_status(&RunId::from("run_1"), RunStatus::Succeeded, None)
        .await
        .unwrap();
    let live = Claim {
        statuses: vec![RunStatus::Pending, RunStatus::Running],
        ..Claim::default()
    };
    let a = store
        .claim_next_run("a", MINUTE, &live)
        .await
        .unwrap()
        .unwrap();
    let b = store
        .claim_next_run("b", MINUTE, &live)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.run_id.as_str(), b.run_id.as_str()), ("run_2", "run_3"));
    assert_eq!(a.expires_at, t0() + TimeDelta::seconds(63));
    assert_eq!(
        store.claim_next_run("c", MINUTE, &live).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_next_run("c", MINUTE, &Claim::default())
            .await
            .unwrap(),
        None
    );
    clock.advance(TimeDelta::minutes(2));
    let c = store
        .claim_next_run("c", MINUTE, &live)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.run_id.as_str(), c.owner.as_str()), ("run_2", "c"));
    assert_eq!(
        store.load_run(&RunId::from("run_2")).await.unwrap().lease,
        Some(c)
    );
    // The first worker learns it lost the run when it next renews.
    assert!(matches!(
        store.renew_lease(&a, MINUTE).await,
        Err(StoreError::LeaseLost { holder: Some(h), .. }) if h == "c"
    ));
}

pub(super) async fn claims_pass_over_held_excluded_and_other_status_runs(env: &Env) {
    let (store, clock) = (&env.store, &env.clock);
    for id in ["run_1", "run_2", "run_3"] {
        store.create_run(&new_run(id), &[]).await.unwrap();
        clock.advance(TimeDelta::seconds(10));
    }
    store
        .set_run_status(&RunId::from("run_1"), RunStatus::Waiting, None)
        .await
        .unwrap();
    // run_0 is free of other claims, but born leased to the `sluice run` that created it.
    let born_leased = NewRun {
        lease: Some(NewLease {
            owner: "cli".into(),
            ttl: MINUTE,
        }),
        ..new_run("run_0")
    };
    store.create_run(&born_leased, &[]).await.unwrap();
    let lease = store
        .load_run(&RunId::from("run_0"))
        .await
        .unwrap()
        .lease
        .unwrap();
    assert_eq!(
        (lease.owner.as_str(), lease.expires_at),
        ("cli", t0() + TimeDelta::seconds(90))
    );
    let claim = Claim {
        statuses: vec![RunStatus::Pending],
        except: vec!["run_2".into()],
    };
    let first = store.claim_next_run("w", MINUTE, &claim).await.unwrap();
    assert_eq!(first.map(|l| l.run_id), Some("run_3".into()));
    assert_eq!(
        store.claim_next_run("w", MINUTE, &claim).await.unwrap(),
        None
    );
    let waiting = Claim {
        statuses: vec![RunStatus::Waiting],
        ..Claim::default()
    };
    let lease = store.claim_next_run("w", MINUTE, &waiting).await.unwrap();
    assert_eq!(lease.map(|l| l.run_id), Some("run_1".into()));
    // The creator's lease is its own: it extends it, and it runs out like any other.
    let extended = store
        .acquire_lease(&RunId::from("run_0"), "cli", MINUTE)
        .await
        .unwrap();
    assert_eq!(extended.expires_at, t0() + TimeDelta::seconds(90));
    clock.advance(TimeDelta::minutes(2));
    let others = Claim {
        except: vec!["run_2".into(), "run_3".into()],
        ..claim
    };
    let late = store.claim_next_run("w", MINUTE, &others).await.unwrap();
    assert_eq!(late.map(|l| l.run_id), Some("run_0".into()));
}

pub(super) async fn concurrent_claimers_never_get_the_same_run(env: &Env) {
    const RUNS: usize = 40;
    for i in 0..RUNS {
        env.store
            .create_run(&new_run(&format!("run_{i:02}")), &[])
            .await
            .unwrap();
    }
    let claimer = |store: Arc<dyn Store>, owner: &'static str| {
        let pending = Claim {
            statuses: vec![RunStatus::Pending],
            ..Claim::default()
        };
        tokio::spawn(async move {
            let mut claimed = Vec::new();
            while let Some(lease) = store.claim_next_run(owner, MINUTE, &pending).await? {
                assert_eq!(lease.owner, owner);
                claimed.push(lease.run_id);
            }
            Ok::<_, StoreError>(claimed)
        })
    };
    let (a, b, c) = tokio::join!(
        claimer(env.store.clone(), "a"),
        claimer(env.second().await, "b"),
        claimer(env.second().await, "c"),
    );
    let claims: Vec<Vec<RunId>> = [a, b, c].map(|r| r.unwrap().unwrap()).into();
    let all: Vec<&RunId> = claims.iter().flatten().collect();
    let distinct: BTreeSet<&RunId> = all.iter().copied().collect();
    assert_eq!(all.len(), RUNS, "a run was claimed twice: {claims:?}");
    assert_eq!(distinct.len(), RUNS);
    println!(
        "claims per worker: {:?}",
        claims.iter().map(Vec::len).collect::<Vec<_>>()
    );
    // Every run ended up leased by the worker that claimed it.
    for (owner, runs) in ["a", "b", "c"].iter().zip(&claims) {
        for run_id in runs {
            let lease = env
                .store
                .load_run(&RunId::from(run_id))
                .await
                .unwrap()
                .lease
                .unwrap();
            assert_eq!(lease.owner, *owner);
        }
    }
}

pub(super) async fn writers_on_two_handles_take_turns_and_one_wins_a_lease_race(env: &Env) {
    let (first, second) = (env.store.clone(), env.second().await);
    let writer = |store: Arc<dyn Store>, prefix: &'static str| {
        tokio::spawn(async move {
            for i in 0..25 {
                let steps = [NewStep::step("fund"), NewStep::item("pay", "e1")];
                store
                    .create_run(&new_run(&format!("run_{prefix}{i}")), &steps)
                    .await?;
            }
            Ok::<_, StoreError>(())
        })
    };
    let (a, b) = tokio::join!(writer(first.clone(), "a"), writer(second.clone(), "b"));
    a.unwrap().unwrap();
    b.unwrap().unwrap();
    assert_eq!(
        first.list_runs(&RunFilter::default()).await.unwrap().len(),
        50
    );

    for round in 0..10 {
        let run_id = format!("run_a{round}");
        let race = |store: Arc<dyn Store>, owner: &'static str| {
            let run_id = run_id.clone();
            tokio::spawn(async move {
                store
                    .acquire_lease(&RunId::from(&run_id), owner, MINUTE)
                    .await
            })
        };
        let (a, b) = tokio::join!(race(first.clone(), "a"), race(second.clone(), "b"));
        let results = [a.unwrap(), b.unwrap()];
        let winners: Vec<&Lease> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(
            matches!(loser, StoreError::Leased { owner, .. } if *owner == winners[0].owner),
            "round {round}: {loser:?}"
        );
    }
}
