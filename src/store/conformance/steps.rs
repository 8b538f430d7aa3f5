//! Step runs through the write protocol: group-commit dispatch, results, the lease fence,
//! items in doubt re-sent only unchanged, two-phase checkpoints, retries, attention, waiting
//! and skipping, and two processes finishing one step.

use std::time::Duration;

use chrono::TimeDelta;
use serde_json::json;

use super::Env;
use super::fixtures::{attempt, dispatch, leased_run, new_run, t0, transfer};
use crate::store::error::StoreError;
use crate::store::keys::{idempotency_key, request_digest};
use crate::store::step::{
    Attention, Checkpoint, Dispatch, NewStep, Outcome, RetryLater, Skip, StepCount, StepError,
    StepKey, StepResult, StepState, Waiting,
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
    store.mark_dispatching(&lease, &batch).await.unwrap();
    let dispatching = store
        .steps_in_state("run_a", &[StepState::Dispatching])
        .await
        .unwrap();
    assert_eq!(dispatching.len(), 100);
    let first = &dispatching[0];
    assert_eq!(first.attempts, 1);
    assert_eq!(
        first.idempotency_key,
        Some(idempotency_key("run_a", "pay", "e000"))
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
                Outcome::Failed(StepError::new("rejected", "insufficient funds"))
            } else {
                Outcome::Succeeded {
                    output: json!({"id": format!("tr_{i}"), "amount": "10.00"}),
                    provider_ref: Some(format!("tr_{i}")),
                }
            },
            attempt: Some(attempt(item, if i % 10 == 9 { "rejected" } else { "ok" })),
        })
        .collect();
    store.record_results(&results).await.unwrap();

    let steps = store.load_steps("run_a").await.unwrap();
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
        Some(StepError::new("rejected", "insufficient funds"))
    );
    let attempts = store.load_attempts("run_a").await.unwrap();
    assert_eq!(attempts.len(), 100);
    assert_eq!(attempts[0].attempt, attempt("e000", "ok"));
    let counts = store.count_steps("run_a").await.unwrap();
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
            outcome: Outcome::Failed(StepError::new("rejected", "late")),
            attempt: None,
        },
    ];
    let error = store.record_results(&again).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::InvalidTransition { from: StepState::Succeeded, to: StepState::Failed, key } if key.item_key == "e000"),
        "{error:?}"
    );
    assert_eq!(store.load_steps("run_a").await.unwrap(), steps);

    // Redrive: failed items go back to pending with their key.
    assert_eq!(
        store
            .reset_failed_items("run_a", Some("pay"))
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
        Some(idempotency_key("run_a", "pay", "e009"))
    );
    assert_eq!(store.reset_failed_items("run_a", None).await.unwrap(), 0);
}

pub(super) async fn only_the_lease_holder_may_dispatch(env: &Env) {
    let store = &*env.store;
    let clock = &env.clock;
    let lease = leased_run(store, &["e1"]).await;
    clock.advance(TimeDelta::seconds(61));
    let error = store
        .mark_dispatching(&lease, &[dispatch("e1", "10.00")])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::LeaseLost { holder: None, .. }),
        "{error:?}"
    );

    let other = store.acquire_lease("run_a", "other", MINUTE).await.unwrap();
    let error = store
        .mark_dispatching(&lease, &[dispatch("e1", "10.00")])
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
    store
        .mark_dispatching(&other, &[dispatch("e1", "10.00")])
        .await
        .unwrap();
}

pub(super) async fn an_item_in_doubt_is_resent_only_with_the_same_request(env: &Env) {
    let store = &*env.store;
    let lease = leased_run(store, &["e1", "e2"]).await;
    store
        .mark_dispatching(&lease, &[dispatch("e1", "10.00")])
        .await
        .unwrap();

    // Lookup proved it absent: the same request goes out again and counts an attempt.
    store
        .mark_dispatching(&lease, &[dispatch("e1", "10.00")])
        .await
        .unwrap();
    let key = StepKey::item("run_a", "pay", "e1");
    assert_eq!(store.load_step(&key).await.unwrap().attempts, 2);

    // A changed amount is refused, naming the field, and the batch is not applied.
    let error = store
        .mark_dispatching(&lease, &[dispatch("e2", "5.00"), dispatch("e1", "10.01")])
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
    let error = store
        .mark_dispatching(&lease, &[other_key])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::RequestChanged { differences, .. } if differences == &["idempotency_key"]),
        "{error:?}"
    );

    // Unknown items are named.
    let error = store
        .mark_dispatching(&lease, &[dispatch("e404", "1.00")])
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
    store.mark_dispatching(&lease, &batch).await.unwrap();
    let (e1, e2, e3) = (
        StepKey::item("run_a", "pay", "e1"),
        StepKey::item("run_a", "pay", "e2"),
        StepKey::item("run_a", "pay", "e3"),
    );

    // e1: created, quote checkpointed before commit; in flight it cannot be re-dispatched.
    let quote = json!({"quote_id": "q_1", "expires_at": "2025-03-07T09:05:00Z"});
    store
        .record_checkpoints(&[Checkpoint {
            key: e1.clone(),
            provider_ref: "tr_1".into(),
            checkpoint: quote.clone(),
        }])
        .await
        .unwrap();
    let step = store.load_step(&e1).await.unwrap();
    assert_eq!(step.state, StepState::InFlight);
    assert_eq!(
        (step.provider_ref.as_deref(), step.checkpoint),
        (Some("tr_1"), Some(quote))
    );
    let error = store
        .mark_dispatching(&lease, &[dispatch("e1", "1.00")])
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
        error: StepError::new("retryable", "HTTP 503"),
        next_attempt_at: later,
        attempt: None,
    });
    store.record_retries(&retries).await.unwrap();
    let step = store.load_step(&e2).await.unwrap();
    assert_eq!(
        (step.state, step.next_attempt_at),
        (StepState::Pending, Some(later))
    );
    assert_eq!(step.error, Some(StepError::new("retryable", "HTTP 503")));
    assert_eq!(
        store.load_step(&e1).await.unwrap().state,
        StepState::InFlight
    );

    // e3: in doubt, lookup cannot tell.
    store
        .mark_needs_attention(&[Attention {
            key: e3.clone(),
            message: "check transfer for sl_… at whalestack".into(),
        }])
        .await
        .unwrap();
    let step = store.load_step(&e3).await.unwrap();
    assert_eq!(step.state, StepState::NeedsAttention);
    assert_eq!(
        step.error.unwrap().message,
        "check transfer for sl_… at whalestack"
    );
    let doubt = store
        .steps_in_state("run_a", &[StepState::InFlight, StepState::NeedsAttention])
        .await
        .unwrap();
    assert_eq!(doubt.iter().map(|s| &s.key).collect::<Vec<_>>(), [&e1, &e3]);
    assert!(store.steps_in_state("run_a", &[]).await.unwrap().is_empty());

    let attempt = attempt("e1", "absent");
    store
        .record_attempts(std::slice::from_ref(&attempt))
        .await
        .unwrap();
    assert_eq!(
        store.load_attempts("run_a").await.unwrap()[0].attempt,
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
    let funded = StepKey::step("run_a", "funded");
    let deadline = t0() + TimeDelta::hours(2);
    store
        .mark_waiting(&[Waiting {
            key: funded.clone(),
            request: Some(json!({"event": "SWAP_COMPLETED", "match": {"id": "sw_1"}})),
            next_check_at: Some(t0() + TimeDelta::minutes(5)),
            deadline_at: Some(deadline),
        }])
        .await
        .unwrap();
    let waiting = store.waiting_steps().await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].key, funded);
    assert_eq!(waiting[0].deadline_at, Some(deadline));
    assert_eq!(waiting[0].request.as_ref().unwrap()["match"]["id"], "sw_1");

    store
        .mark_skipped(&[Skip {
            key: StepKey::step("run_a", "note"),
            reason: "if: was false".into(),
        }])
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
    let error = store
        .mark_waiting(&[Waiting {
            key: StepKey::step("run_a", "note"),
            request: None,
            next_check_at: None,
            deadline_at: None,
        }])
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

    store
        .record_results(&[StepResult {
            key: funded.clone(),
            outcome: Outcome::Succeeded {
                output: json!({"state": "COMPLETED"}),
                provider_ref: None,
            },
            attempt: None,
        }])
        .await
        .unwrap();
    assert!(store.waiting_steps().await.unwrap().is_empty());
}

pub(super) async fn two_handles_finishing_one_step_cannot_both_succeed(env: &Env) {
    let items: Vec<String> = (0..20).map(|i| format!("e{i:02}")).collect();
    let item_refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let lease = leased_run(&*env.store, &item_refs).await;
    let batch: Vec<Dispatch> = items.iter().map(|i| dispatch(i, "10.00")).collect();
    env.store.mark_dispatching(&lease, &batch).await.unwrap();

    // Two processes each believe they finished every item; per item, exactly one wins.
    let finisher = |store: std::sync::Arc<dyn crate::store::Store>, who: &'static str| {
        let items = items.clone();
        tokio::spawn(async move {
            let mut won = Vec::new();
            for item in items {
                let result = StepResult {
                    key: StepKey::item("run_a", "pay", &item),
                    outcome: Outcome::Succeeded {
                        output: json!({"by": who}),
                        provider_ref: Some(format!("tr_{item}")),
                    },
                    attempt: Some(attempt(&item, "ok")),
                };
                match store.record_results(&[result]).await {
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
    let steps = env.store.load_steps("run_a").await.unwrap();
    for step in &steps {
        let by = step.output.as_ref().unwrap()["by"].as_str().unwrap();
        let winners = if by == "a" { &a } else { &b };
        assert!(winners.contains(&step.key.item_key), "{step:?}");
    }
    // Only the winning result's attempt was recorded.
    assert_eq!(
        env.store.load_attempts("run_a").await.unwrap().len(),
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
        tokio::spawn(async move {
            for _ in 0..30 {
                store.mark_waiting(&batch).await?;
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
