//! Step runs through the write protocol: group-commit dispatch, results, the lease fence,
//! items in doubt re-sent only unchanged, two-phase checkpoints, retries, attention, waiting
//! and skipping, two processes finishing one step, and every kind of write in one batch, all
//! or nothing.

use std::time::Duration;

use chrono::TimeDelta;
use serde_json::json;

use super::Env;
use super::fixtures::{attempt, commit, dispatch, leased_run, new_run, t0, transfer};
use crate::digest::request_digest;
use crate::ids::{ItemKey, RunId, StepId};
use crate::store::attempt::AttemptOutcome;
use crate::store::batch::WriteBatch;
use crate::store::class::ErrorClass;
use crate::store::error::StoreError;
use crate::store::keys::idempotency_key;
use crate::store::step::{
    AssetTotal, Attention, Checkpoint, Dispatch, NewStep, Outcome, RetryLater, Skip, StepCount,
    StepError, StepKey, StepPage, StepResult, StepState, Waiting,
};
use crate::store::traits::RunStore;

const MINUTE: Duration = Duration::from_secs(60);

pub(super) async fn group_commit_dispatch_then_results(env: &Env) {
    let store = &*env.store;
    let items: Vec<String> = (0..100).map(|i| format!("e{i:03}")).collect();
    let mut item_refs: Vec<&str> = items.iter().map(String::as_str).collect();
    item_refs.push("spare");
    let lease = leased_run(store, &item_refs).await;

    let batch: Vec<Dispatch> = items.iter().map(|i| dispatch(i, "10.00")).collect();
    commit(store, &lease, batch.to_vec()).await.unwrap();
    let dispatching = store
        .steps_in_state(&RunId::from("run_a"), &[StepState::Dispatching])
        .await
        .unwrap();
    assert_eq!(dispatching.len(), 100);
    let first = &dispatching[0];
    assert_eq!(first.attempts, 1);
    assert_eq!(
        first.idempotency_key,
        Some(idempotency_key(
            &RunId::from("run_a"),
            &StepId::from("pay"),
            &ItemKey::from("e000")
        ))
    );
    assert_eq!(
        first.request_digest,
        Some(request_digest(&transfer("10.00", "e000")))
    );
    assert_eq!(first.request, Some(transfer("10.00", "e000")));

    let results: Vec<StepResult> = items
        .iter()
        .enumerate()
        .map(|(i, item)| StepResult {
            key: StepKey::item("run_a", "pay", item),
            outcome: if i % 10 == 9 {
                Outcome::Failed(StepError::new(ErrorClass::Rejected, "insufficient funds"))
            } else {
                Outcome::Succeeded {
                    output: json!({"id": format!("tr_{i}"), "amount": "10.00"}),
                    provider_ref: Some(format!("tr_{i}")),
                }
            },
            attempt: Some(attempt(
                item,
                if i % 10 == 9 {
                    AttemptOutcome::Rejected
                } else {
                    AttemptOutcome::Ok
                },
            )),
        })
        .collect();
    commit(store, &lease, results.clone()).await.unwrap();

    let steps = store.load_steps(&RunId::from("run_a")).await.unwrap();
    assert_eq!(
        steps
            .iter()
            .filter(|s| s.state == StepState::Succeeded)
            .count(),
        90
    );
    assert_eq!(
        steps[0].output,
        Some(json!({"id": "tr_0", "amount": "10.00"}))
    );
    assert_eq!(steps[0].provider_ref.as_deref(), Some("tr_0"));
    assert_eq!(steps[9].state, StepState::Failed);
    assert_eq!(
        steps[9].error,
        Some(StepError::new(ErrorClass::Rejected, "insufficient funds"))
    );
    let attempts = store.load_attempts(&RunId::from("run_a")).await.unwrap();
    assert_eq!(attempts.len(), 100);
    assert_eq!(attempts[0].attempt, attempt("e000", AttemptOutcome::Ok));
    let counts = store.count_steps(&RunId::from("run_a")).await.unwrap();
    assert_eq!(
        counts,
        [
            StepCount {
                step_id: "pay".into(),
                state: StepState::Pending,
                count: 1
            },
            StepCount {
                step_id: "pay".into(),
                state: StepState::Succeeded,
                count: 90
            },
            StepCount {
                step_id: "pay".into(),
                state: StepState::Failed,
                count: 10
            },
        ]
    );

    // A success is never overwritten, and the refusal leaves the whole batch unwritten.
    let again = [
        StepResult {
            key: StepKey::item("run_a", "pay", "spare"),
            outcome: Outcome::Succeeded {
                output: json!({}),
                provider_ref: None,
            },
            attempt: None,
        },
        StepResult {
            key: StepKey::item("run_a", "pay", "e000"),
            outcome: Outcome::Failed(StepError::new(ErrorClass::Rejected, "late")),
            attempt: None,
        },
    ];
    let error = commit(store, &lease, again.to_vec()).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::InvalidTransition { from: StepState::Succeeded, to: StepState::Failed, key } if key.item_key == "e000"),
        "{error:?}"
    );
    assert_eq!(
        store.load_steps(&RunId::from("run_a")).await.unwrap(),
        steps
    );

    // Redrive: failed items go back to pending with their key.
    assert_eq!(
        store
            .reset_failed_items(&RunId::from("run_a"), Some(&StepId::from("pay")))
            .await
            .unwrap(),
        10
    );
    let redriven = store
        .load_step(&StepKey::item("run_a", "pay", "e009"))
        .await
        .unwrap();
    assert_eq!((redriven.state, redriven.error), (StepState::Pending, None));
    assert_eq!(
        redriven.idempotency_key,
        Some(idempotency_key(
            &RunId::from("run_a"),
            &StepId::from("pay"),
            &ItemKey::from("e009")
        ))
    );
    assert_eq!(
        store
            .reset_failed_items(&RunId::from("run_a"), None)
            .await
            .unwrap(),
        0
    );
}

pub(super) async fn only_the_lease_holder_may_dispatch(env: &Env) {
    let store = &*env.store;
    let clock = &env.clock;
    let lease = leased_run(store, &["e1"]).await;
    clock.advance(TimeDelta::seconds(61));
    let error = commit(store, &lease, vec![dispatch("e1", "10.00")])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::LeaseLost { holder: None, .. }),
        "{error:?}"
    );

    let other = store
        .acquire_lease(&RunId::from("run_a"), "other", MINUTE)
        .await
        .unwrap();
    let error = commit(store, &lease, vec![dispatch("e1", "10.00")])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::LeaseLost { holder: Some(h), .. } if h == "other"),
        "{error:?}"
    );
    let step = store
        .load_step(&StepKey::item("run_a", "pay", "e1"))
        .await
        .unwrap();
    assert_eq!((step.state, step.attempts), (StepState::Pending, 0));
    commit(store, &other, vec![dispatch("e1", "10.00")])
        .await
        .unwrap();
}

pub(super) async fn an_item_in_doubt_is_resent_only_with_the_same_request(env: &Env) {
    let store = &*env.store;
    let lease = leased_run(store, &["e1", "e2"]).await;
    commit(store, &lease, vec![dispatch("e1", "10.00")])
        .await
        .unwrap();

    // Lookup proved it absent: the same request goes out again and counts an attempt.
    commit(store, &lease, vec![dispatch("e1", "10.00")])
        .await
        .unwrap();
    let key = StepKey::item("run_a", "pay", "e1");
    assert_eq!(store.load_step(&key).await.unwrap().attempts, 2);

    // A changed amount is refused, naming the field, and the batch is not applied.
    let error = commit(
        store,
        &lease,
        vec![dispatch("e2", "5.00"), dispatch("e1", "10.01")],
    )
    .await
    .unwrap_err();
    match &error {
        StoreError::RequestChanged {
            key: k,
            differences,
        } => {
            assert_eq!(k, &key);
            assert_eq!(differences, &["amount"]);
        }
        other => panic!("expected RequestChanged, got {other:?}"),
    }
    assert!(error.to_string().contains("changed: amount"), "{error}");
    let e2 = store
        .load_step(&StepKey::item("run_a", "pay", "e2"))
        .await
        .unwrap();
    assert_eq!(e2.state, StepState::Pending);

    let mut other_key = dispatch("e1", "10.00");
    other_key.idempotency_key = "sl_other".into();
    let error = commit(store, &lease, vec![other_key]).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::RequestChanged { differences, .. } if differences == &["idempotency_key"]),
        "{error:?}"
    );

    // Unknown items are named.
    let error = commit(store, &lease, vec![dispatch("e404", "1.00")])
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::StepNotFound { .. }),
        "{error:?}"
    );
}

pub(super) async fn two_phase_checkpoints_retries_and_attention(env: &Env) {
    let store = &*env.store;
    let lease = leased_run(store, &["e1", "e2", "e3"]).await;
    let batch = [
        dispatch("e1", "1.00"),
        dispatch("e2", "2.00"),
        dispatch("e3", "3.00"),
    ];
    commit(store, &lease, batch.to_vec()).await.unwrap();
    let (e1, e2, e3) = (
        StepKey::item("run_a", "pay", "e1"),
        StepKey::item("run_a", "pay", "e2"),
        StepKey::item("run_a", "pay", "e3"),
    );

    // e1: created, quote checkpointed before commit; in flight it cannot be re-dispatched.
    let quote = json!({"quote_id": "q_1", "expires_at": "2025-03-07T09:05:00Z"});
    commit(
        store,
        &lease,
        vec![Checkpoint {
            key: e1.clone(),
            provider_ref: "tr_1".into(),
            checkpoint: quote.clone(),
        }],
    )
    .await
    .unwrap();
    let step = store.load_step(&e1).await.unwrap();
    assert_eq!(step.state, StepState::InFlight);
    assert_eq!(
        (step.provider_ref.as_deref(), step.checkpoint),
        (Some("tr_1"), Some(quote))
    );
    let error = commit(store, &lease, vec![dispatch("e1", "1.00")])
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        StoreError::InvalidTransition {
            from: StepState::InFlight,
            ..
        }
    ));

    // e2: a 503 before anything landed: back to pending, due later. e1's commit: stays in flight.
    let later = t0() + TimeDelta::seconds(2);
    let retries = [e2.clone(), e1.clone()].map(|key| RetryLater {
        key,
        error: StepError::new(ErrorClass::Retryable, "HTTP 503"),
        next_attempt_at: later,
        attempt: None,
    });
    commit(store, &lease, retries.to_vec()).await.unwrap();
    let step = store.load_step(&e2).await.unwrap();
    assert_eq!(
        (step.state, step.next_attempt_at),
        (StepState::Pending, Some(later))
    );
    assert_eq!(
        step.error,
        Some(StepError::new(ErrorClass::Retryable, "HTTP 503"))
    );
    assert_eq!(
        store.load_step(&e1).await.unwrap().state,
        StepState::InFlight
    );

    // e3: in doubt, lookup cannot tell.
    commit(
        store,
        &lease,
        vec![Attention {
            key: e3.clone(),
            message: "check transfer for sl_… at whalestack".into(),
        }],
    )
    .await
    .unwrap();
    let step = store.load_step(&e3).await.unwrap();
    assert_eq!(step.state, StepState::NeedsAttention);
    assert_eq!(
        step.error.unwrap(),
        StepError::new(
            ErrorClass::NeedsAttention,
            "check transfer for sl_… at whalestack"
        )
    );
    let doubt = store
        .steps_in_state(
            &RunId::from("run_a"),
            &[StepState::InFlight, StepState::NeedsAttention],
        )
        .await
        .unwrap();
    assert_eq!(doubt.iter().map(|s| &s.key).collect::<Vec<_>>(), [&e1, &e3]);
    assert!(
        store
            .steps_in_state(&RunId::from("run_a"), &[])
            .await
            .unwrap()
            .is_empty()
    );

    let attempt = attempt("e1", AttemptOutcome::Found);
    store
        .record_attempts(std::slice::from_ref(&attempt))
        .await
        .unwrap();
    assert_eq!(
        store.load_attempts(&RunId::from("run_a")).await.unwrap()[0].attempt,
        attempt
    );
    let mut orphan = attempt;
    orphan.key.item_key = "e404".into();
    assert!(matches!(
        store.record_attempts(&[orphan]).await,
        Err(StoreError::StepNotFound { .. })
    ));
}

pub(super) async fn waiting_and_skipping(env: &Env) {
    let store = &*env.store;
    // Code that needs less than the whole store takes less.
    let runs: &dyn RunStore = store;
    let steps = [
        NewStep::step("funded"),
        NewStep::step("note"),
        NewStep::step("pay"),
    ];
    runs.create_run(&new_run("run_a"), &steps).await.unwrap();
    let lease = runs
        .acquire_lease(&RunId::from("run_a"), "engine", MINUTE)
        .await
        .unwrap();
    let funded = StepKey::step("run_a", "funded");
    let deadline = t0() + TimeDelta::hours(2);
    commit(
        store,
        &lease,
        vec![Waiting {
            key: funded.clone(),
            request: Some(json!({"event": "SWAP_COMPLETED", "match": {"id": "sw_1"}})),
            next_check_at: Some(t0() + TimeDelta::minutes(5)),
            deadline_at: Some(deadline),
        }],
    )
    .await
    .unwrap();
    let waiting = store.waiting_steps().await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].key, funded);
    assert_eq!(waiting[0].deadline_at, Some(deadline));
    assert_eq!(waiting[0].request.as_ref().unwrap()["match"]["id"], "sw_1");

    commit(
        store,
        &lease,
        vec![Skip {
            key: StepKey::step("run_a", "note"),
            reason: "if: was false".into(),
        }],
    )
    .await
    .unwrap();
    let note = store
        .load_step(&StepKey::step("run_a", "note"))
        .await
        .unwrap();
    assert_eq!(
        (note.state, note.skip_reason.as_deref()),
        (StepState::Skipped, Some("if: was false"))
    );
    // A skipped step does not start waiting.
    let error = commit(
        store,
        &lease,
        vec![Waiting {
            key: StepKey::step("run_a", "note"),
            request: None,
            next_check_at: None,
            deadline_at: None,
        }],
    )
    .await
    .unwrap_err();
    assert!(matches!(
        error,
        StoreError::InvalidTransition {
            from: StepState::Skipped,
            to: StepState::Waiting,
            ..
        }
    ));

    commit(
        store,
        &lease,
        vec![StepResult {
            key: funded.clone(),
            outcome: Outcome::Succeeded {
                output: json!({"state": "COMPLETED"}),
                provider_ref: None,
            },
            attempt: None,
        }],
    )
    .await
    .unwrap();
    assert!(store.waiting_steps().await.unwrap().is_empty());
}

pub(super) async fn two_handles_finishing_one_step_cannot_both_succeed(env: &Env) {
    let items: Vec<String> = (0..20).map(|i| format!("e{i:02}")).collect();
    let item_refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let lease = leased_run(&*env.store, &item_refs).await;
    let batch: Vec<Dispatch> = items.iter().map(|i| dispatch(i, "10.00")).collect();
    commit(&*env.store, &lease, batch.clone()).await.unwrap();

    // Two handles (as two processes sharing one lease owner would) each believe they finished
    // every item; per item, exactly one wins.
    let finisher = |store: std::sync::Arc<dyn crate::store::Store>, who: &'static str| {
        let items = items.clone();
        let lease = lease.clone();
        tokio::spawn(async move {
            let mut won = Vec::new();
            for item in items {
                let result = StepResult {
                    key: StepKey::item("run_a", "pay", &item),
                    outcome: Outcome::Succeeded {
                        output: json!({"by": who}),
                        provider_ref: Some(format!("tr_{item}")),
                    },
                    attempt: Some(attempt(&item, AttemptOutcome::Ok)),
                };
                match commit(&*store, &lease, vec![result]).await {
                    Ok(()) => won.push(item),
                    Err(StoreError::InvalidTransition {
                        from: StepState::Succeeded,
                        ..
                    }) => {}
                    Err(other) => panic!("{who}: {other:?}"),
                }
            }
            won
        })
    };
    let (a, b) = tokio::join!(
        finisher(env.store.clone(), "a"),
        finisher(env.second().await, "b")
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), items.len(), "a: {a:?}, b: {b:?}");
    let steps = env.store.load_steps(&RunId::from("run_a")).await.unwrap();
    for step in &steps {
        let by = step.output.as_ref().unwrap()["by"].as_str().unwrap();
        let winners = if by == "a" { &a } else { &b };
        assert!(winners.iter().any(|w| *w == step.key.item_key), "{step:?}");
    }
    // Only the winning result's attempt was recorded.
    assert_eq!(
        env.store
            .load_attempts(&RunId::from("run_a"))
            .await
            .unwrap()
            .len(),
        items.len()
    );
}

pub(super) async fn batches_in_opposite_orders_from_two_handles_both_commit(env: &Env) {
    let items: Vec<String> = (0..20).map(|i| format!("e{i:02}")).collect();
    let steps: Vec<NewStep> = items.iter().map(|i| NewStep::item("pay", i)).collect();
    env.store
        .create_run(&new_run("run_a"), &steps)
        .await
        .unwrap();
    let lease = env
        .store
        .acquire_lease(&RunId::from("run_a"), "engine", MINUTE)
        .await
        .unwrap();
    let waiting = |reversed: bool| {
        let mut batch: Vec<Waiting> = items
            .iter()
            .map(|item| Waiting {
                key: StepKey::item("run_a", "pay", item),
                request: Some(json!({"event": "TRANSFER_COMPLETED"})),
                next_check_at: None,
                deadline_at: None,
            })
            .collect();
        if reversed {
            batch.reverse();
        }
        batch
    };
    // Each batch would hold the rows the other one waits for, were rows locked in batch order.
    let writer = |store: std::sync::Arc<dyn crate::store::Store>, batch: Vec<Waiting>| {
        let lease = lease.clone();
        tokio::spawn(async move {
            for _ in 0..30 {
                commit(&*store, &lease, batch.clone()).await?;
            }
            Ok::<_, StoreError>(())
        })
    };
    let (a, b) = tokio::join!(
        writer(env.store.clone(), waiting(false)),
        writer(env.second().await, waiting(true))
    );
    a.unwrap().unwrap();
    b.unwrap().unwrap();
    assert_eq!(env.store.waiting_steps().await.unwrap().len(), items.len());
}

/// The steps of `run_a` in plan order, as `(item, state)`.
async fn states(store: &dyn crate::store::Store) -> Vec<(String, StepState)> {
    let steps = store.load_steps(&RunId::from("run_a")).await.unwrap();
    steps
        .into_iter()
        .map(|s| (s.key.item_key.into_string(), s.state))
        .collect()
}

/// One of each kind of write, on items that start from `pending` (p*, s1, w1) and from
/// `dispatching` (d1..d4).
fn every_kind() -> WriteBatch {
    let key = |item: &str| StepKey::item("run_a", "pay", item);
    WriteBatch {
        dispatches: vec![dispatch("p1", "5.00")],
        checkpoints: vec![Checkpoint {
            key: key("d1"),
            provider_ref: "tr_d1".into(),
            checkpoint: json!({"quote_id": "q_1"}),
        }],
        results: vec![StepResult {
            key: key("d2"),
            outcome: Outcome::Succeeded {
                output: json!({"id": "tr_d2"}),
                provider_ref: Some("tr_d2".into()),
            },
            attempt: Some(attempt("d2", AttemptOutcome::Ok)),
        }],
        retries: vec![RetryLater {
            key: key("d3"),
            error: StepError::new(ErrorClass::Retryable, "HTTP 503"),
            next_attempt_at: t0() + TimeDelta::seconds(2),
            attempt: Some(attempt("d3", AttemptOutcome::Retryable)),
        }],
        skips: vec![Skip {
            key: key("s1"),
            reason: "`if` is false".into(),
        }],
        waiting: vec![Waiting {
            key: key("w1"),
            request: Some(json!({"event": "TRANSFER_COMPLETED"})),
            next_check_at: None,
            deadline_at: None,
        }],
        attention: vec![Attention {
            key: key("d4"),
            message: "lookup could not tell".into(),
        }],
    }
}

pub(super) async fn one_batch_commits_every_kind_of_write_together(env: &Env) {
    let store = &*env.store;
    let lease = leased_run(store, &["d1", "d2", "d3", "d4", "p1", "s1", "w1"]).await;
    let sent = ["d1", "d2", "d3", "d4"].map(|i| dispatch(i, "10.00"));
    commit(store, &lease, sent.to_vec()).await.unwrap();

    commit(store, &lease, every_kind()).await.unwrap();
    let expected = [
        ("d1", StepState::InFlight),
        ("d2", StepState::Succeeded),
        ("d3", StepState::Pending),
        ("d4", StepState::NeedsAttention),
        ("p1", StepState::Dispatching),
        ("s1", StepState::Skipped),
        ("w1", StepState::Waiting),
    ]
    .map(|(item, state)| (item.to_owned(), state));
    assert_eq!(states(store).await, expected);
    let attempts = store.load_attempts(&RunId::from("run_a")).await.unwrap();
    let outcomes: Vec<(&str, &str)> = attempts
        .iter()
        .map(|a| (a.attempt.key.item_key.as_str(), a.attempt.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, [("d2", "ok"), ("d3", "retryable")]);
    let p1 = store
        .load_step(&StepKey::item("run_a", "pay", "p1"))
        .await
        .unwrap();
    assert_eq!((p1.attempts, p1.request), (1, Some(transfer("5.00", "p1"))));

    // Nothing to write commits nothing, and succeeds.
    commit(store, &lease, WriteBatch::default()).await.unwrap();
    assert_eq!(states(store).await, expected);
}

pub(super) async fn a_batch_with_one_refused_write_writes_nothing(env: &Env) {
    let store = &*env.store;
    let lease = leased_run(store, &["d1", "d2", "d3", "d4", "p1", "s1", "w1", "ok"]).await;
    let mut sent = ["d1", "d2", "d3", "d4"]
        .map(|i| dispatch(i, "10.00"))
        .to_vec();
    sent.push(dispatch("ok", "1.00"));
    commit(store, &lease, sent).await.unwrap();
    commit(
        store,
        &lease,
        vec![StepResult {
            key: StepKey::item("run_a", "pay", "ok"),
            outcome: Outcome::Succeeded {
                output: json!({}),
                provider_ref: None,
            },
            attempt: None,
        }],
    )
    .await
    .unwrap();
    let before = store.load_steps(&RunId::from("run_a")).await.unwrap();

    // The last write of the last kind is refused: none of the others lands either, and the
    // error names the refused write as its kind's own refusal would.
    let mut batch = every_kind();
    batch.attention.push(Attention {
        key: StepKey::item("run_a", "pay", "ok"),
        message: "in doubt".into(),
    });
    let error = commit(store, &lease, batch).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::InvalidTransition { key, from: StepState::Succeeded, to: StepState::NeedsAttention } if key.item_key == "ok"),
        "{error:?}"
    );
    assert_eq!(
        store.load_steps(&RunId::from("run_a")).await.unwrap(),
        before
    );
    assert!(
        store
            .load_attempts(&RunId::from("run_a"))
            .await
            .unwrap()
            .is_empty()
    );

    // The first write refused (a changed request): the same.
    let mut batch = every_kind();
    batch.dispatches.insert(0, dispatch("d1", "99.00"));
    let error = commit(store, &lease, batch).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::RequestChanged { key, differences } if key.item_key == "d1" && differences == &["amount"]),
        "{error:?}"
    );
    assert_eq!(
        store.load_steps(&RunId::from("run_a")).await.unwrap(),
        before
    );

    // An attempt of a step that does not exist.
    let mut batch = every_kind();
    batch.results[0].attempt = Some(attempt("e404", AttemptOutcome::Ok));
    let error = commit(store, &lease, batch).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::StepNotFound { key } if key.item_key == "e404"),
        "{error:?}"
    );
    assert_eq!(
        store.load_steps(&RunId::from("run_a")).await.unwrap(),
        before
    );
    assert!(
        store
            .load_attempts(&RunId::from("run_a"))
            .await
            .unwrap()
            .is_empty()
    );
}

pub(super) async fn every_batch_is_fenced_by_its_runs_lease(env: &Env) {
    let store = &*env.store;
    let lease = leased_run(store, &["d1", "d2", "d3", "d4", "p1", "s1", "w1"]).await;
    let sent = ["d1", "d2", "d3", "d4"].map(|i| dispatch(i, "10.00"));
    commit(store, &lease, sent.to_vec()).await.unwrap();
    let before = store.load_steps(&RunId::from("run_a")).await.unwrap();

    // A write of another run's step is refused before anything is written.
    let mut batch = every_kind();
    batch.skips[0].key.run_id = "run_b".into();
    let error = commit(store, &lease, batch).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::OutsideLease { key, run_id } if key.run_id == "run_b" && run_id == "run_a"),
        "{error:?}"
    );

    // Once the lease ran out, nothing is written: not only dispatches, but results,
    // checkpoints and waits too (the next holder reconciles what this one left).
    env.clock.advance(TimeDelta::seconds(61));
    let mut no_dispatch = every_kind();
    no_dispatch.dispatches.clear();
    for batch in [every_kind(), no_dispatch] {
        let error = commit(store, &lease, batch).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::LeaseLost { holder: None, .. }),
            "{error:?}"
        );
    }
    let other = store
        .acquire_lease(&RunId::from("run_a"), "other", MINUTE)
        .await
        .unwrap();
    let error = commit(
        store,
        &lease,
        vec![Skip {
            key: StepKey::item("run_a", "pay", "s1"),
            reason: "late".into(),
        }],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, StoreError::LeaseLost { holder: Some(h), .. } if h == "other"),
        "{error:?}"
    );
    assert_eq!(
        store.load_steps(&RunId::from("run_a")).await.unwrap(),
        before
    );
    commit(store, &other, every_kind()).await.unwrap();
}

/// `retry --failed` sends a failed write whose provider object is known back to `dispatching`,
/// marked to be looked up first, and one that never reached the provider to `pending`; the
/// next dispatch (same key, same request) clears the mark.
pub(super) async fn a_failed_write_whose_object_is_known_is_redriven_behind_a_lookup(env: &Env) {
    let store = &*env.store;
    let lease = leased_run(store, &["e1", "e2"]).await;
    commit(
        store,
        &lease,
        vec![dispatch("e1", "1.00"), dispatch("e2", "2.00")],
    )
    .await
    .unwrap();
    let (e1, e2) = (
        StepKey::item("run_a", "pay", "e1"),
        StepKey::item("run_a", "pay", "e2"),
    );
    let checkpoint = Checkpoint {
        key: e1.clone(),
        provider_ref: "tr_1".into(),
        checkpoint: json!({"id": "tr_1"}),
    };
    let failed = |key: &StepKey| StepResult {
        key: key.clone(),
        outcome: Outcome::Failed(StepError::new(ErrorClass::Rejected, "HTTP 400")),
        attempt: None,
    };
    commit(store, &lease, vec![checkpoint]).await.unwrap();
    commit(store, &lease, vec![failed(&e1), failed(&e2)])
        .await
        .unwrap();

    assert_eq!(
        store
            .reset_failed_items(&RunId::from("run_a"), None)
            .await
            .unwrap(),
        2
    );
    let (one, two) = (
        store.load_step(&e1).await.unwrap(),
        store.load_step(&e2).await.unwrap(),
    );
    assert_eq!(one.state, StepState::Dispatching);
    assert_eq!(one.error.map(|e| e.class), Some(ErrorClass::OperatorRetry));
    assert_eq!(one.provider_ref.as_deref(), Some("tr_1"));
    assert_eq!((two.state, two.error), (StepState::Pending, None));

    commit(store, &lease, vec![dispatch("e1", "1.00")])
        .await
        .unwrap();
    let one = store.load_step(&e1).await.unwrap();
    assert_eq!((one.state, one.error), (StepState::Dispatching, None));
    assert_eq!(one.attempts, 2);
}

pub(super) async fn a_steps_items_are_read_a_page_at_a_time(env: &Env) {
    let store = &*env.store;
    let items: Vec<String> = (0..250).map(|i| format!("e{i:03}")).collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let lease = leased_run(store, &refs).await;
    let doubtful: Vec<Dispatch> = ["e010", "e100", "e200"]
        .iter()
        .map(|i| dispatch(i, "10.00"))
        .collect();
    commit(store, &lease, doubtful).await.unwrap();

    let page = |after_seq, state, key_prefix: Option<&str>| StepPage {
        run_id: RunId::from("run_a"),
        step_id: StepId::from("pay"),
        state,
        key_prefix: key_prefix.map(str::to_owned),
        after_seq,
        limit: 100,
    };
    let keys = |rows: &[crate::store::step::StepRecord]| {
        rows.iter()
            .map(|r| r.key.item_key.to_string())
            .collect::<Vec<_>>()
    };
    let first = store.page_steps(&page(None, None, None)).await.unwrap();
    assert_eq!(first.len(), 100);
    assert_eq!(first[0].key.item_key, ItemKey::from("e000"));
    let last = store
        .page_steps(&page(Some(first[99].seq), None, None))
        .await
        .unwrap();
    assert_eq!(last[0].key.item_key, ItemKey::from("e100"));
    let end = store
        .page_steps(&page(Some(last[99].seq), None, None))
        .await
        .unwrap();
    assert_eq!(keys(&end).last().map(String::as_str), Some("e249"));
    assert_eq!(end.len(), 50);

    let dispatching = store
        .page_steps(&page(None, Some(StepState::Dispatching), None))
        .await
        .unwrap();
    assert_eq!(keys(&dispatching), ["e010", "e100", "e200"]);
    let by_key = store
        .page_steps(&page(None, None, Some("e10")))
        .await
        .unwrap();
    assert_eq!(by_key.len(), 10);
    assert!(keys(&by_key).iter().all(|k| k.starts_with("e10")));
    let none = store
        .page_steps(&page(None, Some(StepState::Dispatching), Some("E10")))
        .await
        .unwrap();
    assert!(none.is_empty(), "the key match is case-sensitive");

    let totals = store
        .asset_totals(&[RunId::from("run_a")], Some(&StepId::from("pay")))
        .await
        .unwrap();
    assert_eq!(
        totals,
        [AssetTotal {
            state: StepState::Dispatching,
            asset: "EURC".into(),
            total: "30.00".parse().unwrap(),
            count: 3,
        }],
        "pending items have no request yet"
    );
    assert!(store.asset_totals(&[], None).await.unwrap().is_empty());

    store
        .record_attempts(&[attempt("e010", AttemptOutcome::InDoubt)])
        .await
        .unwrap();
    let e010 = store
        .load_step_attempts(&StepKey::item("run_a", "pay", "e010"))
        .await
        .unwrap();
    assert_eq!(e010.len(), 1);
    assert_eq!(e010[0].attempt.outcome, AttemptOutcome::InDoubt);
    store
        .record_attempts(&[attempt("e100", AttemptOutcome::Ok)])
        .await
        .unwrap();
    let recent = store
        .recent_attempts(&RunId::from("run_a"), 1)
        .await
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(
        recent[0].attempt.key.item_key,
        ItemKey::from("e100"),
        "the latest"
    );
    let both = store
        .recent_attempts(&RunId::from("run_a"), 5)
        .await
        .unwrap();
    assert!(both[0].id < both[1].id, "in recording order");
    let e200 = StepKey::item("run_a", "pay", "e200");
    assert!(store.load_step_attempts(&e200).await.unwrap().is_empty());
}

pub(super) async fn totals_by_state_and_asset_are_exact_whatever_the_scale_or_size(env: &Env) {
    let store = &*env.store;
    let lease = leased_run(store, &["e1", "e2", "e3", "u1", "u2", "big", "w1", "x1"]).await;
    let with = |item: &str, request: serde_json::Value| Dispatch {
        request,
        ..dispatch(item, "0")
    };
    let writes = vec![
        dispatch("e1", "0.10"),
        dispatch("e2", "0.20"),
        dispatch("e3", "-0.05"),
        with("u1", json!({"currency": "USD", "amount": "1.5"})),
        with("u2", json!({"currency": "USD", "amount": "2.25"})),
        // 25 digits: more than 64 bits hold, so it is summed from its request.
        with(
            "big",
            json!({"asset": "ETH", "amount": "1234567.123456789012345678"}),
        ),
        with("x1", json!({"url": "https://example.test", "amount": "3"})),
    ];
    commit(store, &lease, writes).await.unwrap();
    let waiting = Waiting {
        key: StepKey::item("run_a", "pay", "w1"),
        request: Some(transfer("7.00", "w1")),
        next_check_at: None,
        deadline_at: None,
    };
    commit(store, &lease, vec![waiting]).await.unwrap();
    let done = StepResult {
        key: StepKey::item("run_a", "pay", "e1"),
        outcome: Outcome::Succeeded {
            output: json!({"id": "tr_1"}),
            provider_ref: Some("tr_1".into()),
        },
        attempt: None,
    };
    commit(store, &lease, vec![done]).await.unwrap();

    let total = |state, asset: &str, total: &str, count| AssetTotal {
        state,
        asset: asset.into(),
        total: total.parse().unwrap(),
        count,
    };
    let expected = [
        total(
            StepState::Dispatching,
            "ETH",
            "1234567.123456789012345678",
            1,
        ),
        total(StepState::Dispatching, "EURC", "0.15", 2),
        total(StepState::Dispatching, "USD", "3.75", 2),
        total(StepState::Waiting, "EURC", "7.00", 1),
        total(StepState::Succeeded, "EURC", "0.10", 1),
    ];
    let mut of_step = store
        .asset_totals(&[RunId::from("run_a")], Some(&StepId::from("pay")))
        .await
        .unwrap();
    of_step.sort_by(|a, b| (a.state, &a.asset).cmp(&(b.state, &b.asset)));
    assert_eq!(
        of_step, expected,
        "0.20 - 0.05 is 0.15, never 0.15000000000000002"
    );
    let of_run = store
        .asset_totals(&[RunId::from("run_a")], None)
        .await
        .unwrap();
    assert_eq!(of_run.len(), expected.len());
    assert!(of_run.iter().all(|t| expected.contains(t)));
    assert!(
        store
            .asset_totals(&[RunId::from("run_b")], None)
            .await
            .unwrap()
            .is_empty()
    );

    // The key search is a range of keys: every key with the prefix, none without.
    let search = |prefix: &str| StepPage {
        run_id: RunId::from("run_a"),
        step_id: StepId::from("pay"),
        state: None,
        key_prefix: Some(prefix.to_owned()),
        after_seq: None,
        limit: 100,
    };
    let keys = |rows: Vec<crate::store::step::StepRecord>| {
        rows.into_iter()
            .map(|r| r.key.item_key.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(store.page_steps(&search("e")).await.unwrap()),
        ["e1", "e2", "e3"]
    );
    assert_eq!(keys(store.page_steps(&search("u2")).await.unwrap()), ["u2"]);
    assert!(store.page_steps(&search("E")).await.unwrap().is_empty());
    assert!(store.page_steps(&search("z")).await.unwrap().is_empty());
}
