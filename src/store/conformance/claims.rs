//! Item claims: workers sharing the items of one `for_each` step take them a few at a time,
//! in plan order, passing over live claims and taking over expired ones; every write to an
//! item is fenced by its claim; published steps are listed while they have an item to claim;
//! heartbeats renew claims and a worker that stops gives them back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use serde_json::json;

use super::Env;
use super::fixtures::{commit, dispatch, lease_for_a_day, new_run, shared_run};
use crate::ids::{RunId, StepId};
use crate::store::claim::{ClaimRole, ClaimSummary, ItemClaim, SharedStep};
use crate::store::class::ErrorClass;
use crate::store::clock::Clock;
use crate::store::error::StoreError;
use crate::store::notice::StoreNotice;
use crate::store::run::Lease;
use crate::store::step::{
    Attention, Checkpoint, Dispatch, NewStep, Outcome, RetryLater, StepError, StepKey, StepResult,
    StepState,
};
use crate::store::traits::Store;

const MINUTE: Duration = Duration::from_secs(60);

/// The claim of up to `limit` open items of `run_a`'s `pay` with `after < seq <= last`, by
/// `owner` for `ttl`, as the run's holder claims (a helper's: `..` it with its role).
fn claim(owner: &str, after: i64, last: i64, limit: u32, ttl: Duration) -> ItemClaim {
    ItemClaim {
        role: ClaimRole::Holder,
        run_id: "run_a".into(),
        step_id: "pay".into(),
        owner: owner.into(),
        ttl,
        after,
        last,
        limit,
    }
}

/// Claims, and names the items taken.
async fn claim_keys(store: &dyn Store, claim: &ItemClaim) -> Vec<String> {
    let taken = store.claim_items(claim).await.unwrap();
    taken
        .into_iter()
        .map(|r| r.key.item_key.into_string())
        .collect()
}

/// The `seq` of each step run of a step, by item key (`""`: the step's own row).
async fn seqs(store: &dyn Store, run_id: &str, step_id: &str) -> HashMap<String, i64> {
    let rows = store
        .load_step_rows(&RunId::from(run_id), &StepId::from(step_id))
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| (r.key.item_key.into_string(), r.seq))
        .collect()
}

fn key(item: &str) -> StepKey {
    StepKey::item("run_a", "pay", item)
}

fn succeeded(item: &str) -> StepResult {
    StepResult {
        key: key(item),
        outcome: Outcome::Succeeded {
            output: json!({"id": format!("tr_{item}")}),
            provider_ref: None,
        },
        attempt: None,
    }
}

/// `run_id`'s step `step_id` over items `first_seq + 1 ..= last_seq`, published by `engine`.
fn shared_step(run_id: &str, step_id: &str, first_seq: i64, last_seq: i64) -> SharedStep {
    SharedStep {
        run_id: run_id.into(),
        step_id: step_id.into(),
        holder: "engine".into(),
        scope: r#"{"inputs": {"budget": "25000.00"}}"#.into(),
        elements: r#"{"keys": ["e1", "e2"], "list": [{"id": 1}, {"id": 2}]}"#.into(),
        first_seq,
        last_seq,
    }
}

fn assert_claim_lost(error: &StoreError, item: &str, writer: &str, claimer: Option<&str>) {
    assert!(
        matches!(error, StoreError::ClaimLost { key: k, owner, holder }
            if *k == key(item) && owner == writer && holder.as_deref() == claimer),
        "{error:?}"
    );
}

pub(super) async fn claims_take_open_items_in_order_and_pass_over_live_claims(env: &Env) {
    let (store, clock) = (&*env.store, &env.clock);
    let holder = shared_run(store, &["e1", "e2", "e3", "e4", "e5", "e6"]).await;
    let seq = seqs(store, "run_a", "pay").await;
    let (first, last) = (seq[""], seq["e6"]);
    commit(store, &holder, vec![succeeded("e2")]).await.unwrap();

    // Only items after `after` through `last`.
    let between = claim("w1", seq["e3"], seq["e4"], 10, MINUTE);
    assert_eq!(claim_keys(store, &between).await, ["e4"]);
    // In plan order up to the limit, never the step's own row nor a settled item; the rows
    // come back whole.
    let taken = store
        .claim_items(&claim("w1", first - 1, last, 2, MINUTE))
        .await
        .unwrap();
    let e1 = store.load_step(&key("e1")).await.unwrap();
    let e3 = store.load_step(&key("e3")).await.unwrap();
    assert_eq!(taken, [e1, e3]);

    // Another worker passes over live claims, and finds nothing more once it has the rest.
    let w2 = claim("w2", first, last, 10, 2 * MINUTE);
    assert_eq!(claim_keys(store, &w2).await, ["e5", "e6"]);
    assert!(store.claim_items(&w2).await.unwrap().is_empty());

    // w1 stopped renewing: once its claims expire, the next claimer takes its items.
    clock.advance(TimeDelta::seconds(61));
    let w3 = claim("w3", first, last, 10, MINUTE);
    assert_eq!(claim_keys(store, &w3).await, ["e1", "e3", "e4"]);
}

pub(super) async fn helpers_claim_from_the_end_and_leave_unclaimed_items_in_doubt(env: &Env) {
    let (store, clock) = (&*env.store, &env.clock);
    let holder = shared_run(store, &["e1", "e2", "e3", "e4", "e5", "e6"]).await;
    let seq = seqs(store, "run_a", "pay").await;
    let (first, last) = (seq[""], seq["e6"]);
    // The holder walks from the start without claims: e1 settled, e2 dispatched (in doubt,
    // if it died now).
    commit(store, &holder, vec![succeeded("e1")]).await.unwrap();
    commit(store, &holder, vec![dispatch("e2", "10.00")])
        .await
        .unwrap();

    // Helpers take pending items nobody claims, from the end, never the unclaimed e2.
    let helper = |owner: &str, limit: u32| ItemClaim {
        role: ClaimRole::Helper,
        ..claim(owner, first, last, limit, MINUTE)
    };
    assert_eq!(claim_keys(store, &helper("w2", 2)).await, ["e5", "e6"]);
    let below_e5 = ItemClaim {
        last: seq["e5"] - 1,
        ..helper("w3", 10)
    };
    assert_eq!(claim_keys(store, &below_e5).await, ["e3", "e4"]);
    assert!(
        store
            .claim_items(&helper("w3", 10))
            .await
            .unwrap()
            .is_empty()
    );

    // w2 dispatched e6 and died: once its claims expire, a helper takes e5 and e6 (e6 in
    // doubt, to look up), and still not e2, which only the run's holder reconciles.
    let w2 = Lease::items("run_a", "w2");
    commit(store, &w2, vec![dispatch("e6", "10.00")])
        .await
        .unwrap();
    clock.advance(TimeDelta::seconds(61));
    assert_eq!(
        claim_keys(store, &helper("w4", 10)).await,
        ["e3", "e4", "e5", "e6"]
    );
    // The holder's own claim takes what nobody holds, e2 included, from the start.
    clock.advance(TimeDelta::seconds(61));
    let all = claim("engine", first, last, 10, MINUTE);
    assert_eq!(
        claim_keys(store, &all).await,
        ["e2", "e3", "e4", "e5", "e6"]
    );
}

pub(super) async fn claims_fence_every_write_to_a_shared_item(env: &Env) {
    let (store, clock) = (&*env.store, &env.clock);
    let holder = shared_run(store, &["e1", "e2", "e3", "e4"]).await;
    let seq = seqs(store, "run_a", "pay").await;
    let (first, last) = (seq[""], seq["e4"]);
    store
        .share_step(&shared_step("run_a", "pay", first, last))
        .await
        .unwrap();
    let w2 = Lease::items("run_a", "w2");
    let by_w2 = claim("w2", first, last, 2, MINUTE);
    assert_eq!(claim_keys(store, &by_w2).await, ["e1", "e2"]);
    let by_holder = claim("holder", first, last, 1, MINUTE);
    assert_eq!(claim_keys(store, &by_holder).await, ["e3"]);
    let pay = (RunId::from("run_a"), StepId::from("pay"));
    assert_eq!(store.steps_to_help().await.unwrap(), [pay], "e4 is free");

    // A helper writes the items it claimed (a changed request is still refused), and only
    // those: nothing of a refused batch is written.
    commit(store, &w2, vec![dispatch("e1", "10.00")])
        .await
        .unwrap();
    let error = commit(store, &w2, vec![dispatch("e1", "20.00")])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::RequestChanged { .. }),
        "{error:?}"
    );
    let batch = vec![dispatch("e2", "10.00"), dispatch("e4", "10.00")];
    let error = commit(store, &w2, batch).await.unwrap_err();
    assert_claim_lost(&error, "e4", "w2", None);
    let e2 = store.load_step(&key("e2")).await.unwrap();
    assert_eq!(e2.state, StepState::Pending);
    let error = commit(store, &w2, vec![dispatch("e3", "10.00")])
        .await
        .unwrap_err();
    assert_claim_lost(&error, "e3", "w2", Some("holder"));

    // The run's holder writes what nobody claims and what it claimed, not a helper's items.
    let batch = vec![dispatch("e4", "10.00"), dispatch("e3", "10.00")];
    commit(store, &holder, batch).await.unwrap();
    let error = commit(store, &holder, vec![dispatch("e2", "10.00")])
        .await
        .unwrap_err();
    assert_claim_lost(&error, "e2", "holder", Some("w2"));

    // A settled item's claim ends with it: only e2 is left to renew.
    commit(store, &w2, vec![succeeded("e1")]).await.unwrap();
    assert_eq!(store.renew_claims("w2", MINUTE).await.unwrap(), 1);

    // An expired claim refuses its owner, and the holder too, until it is claimed again.
    clock.advance(TimeDelta::seconds(61));
    let error = commit(store, &w2, vec![dispatch("e2", "10.00")])
        .await
        .unwrap_err();
    assert_claim_lost(&error, "e2", "w2", Some("w2"));
    let error = commit(store, &holder, vec![dispatch("e2", "10.00")])
        .await
        .unwrap_err();
    assert_claim_lost(&error, "e2", "holder", Some("w2"));

    // Claimed again (with the items in doubt whose claims expired), every kind of write goes
    // through; settling ends the claims.
    let again = claim("w2", first, last, 10, MINUTE);
    assert_eq!(claim_keys(store, &again).await, ["e2", "e3", "e4"]);
    commit(store, &w2, vec![dispatch("e2", "10.00")])
        .await
        .unwrap();
    let checkpoint = Checkpoint {
        key: key("e2"),
        provider_ref: "q_2".into(),
        checkpoint: json!({"quote": "q_2"}),
    };
    commit(store, &w2, vec![checkpoint]).await.unwrap();
    let retry = RetryLater {
        key: key("e2"),
        error: StepError::new(ErrorClass::Retryable, "HTTP 503"),
        next_attempt_at: clock.now() + TimeDelta::seconds(5),
        attempt: None,
    };
    commit(store, &w2, vec![retry]).await.unwrap();
    let attention = Attention {
        key: key("e2"),
        message: "the quote expired".into(),
    };
    commit(store, &w2, vec![attention]).await.unwrap();
    let failed = StepResult {
        key: key("e3"),
        outcome: Outcome::Failed(StepError::new(ErrorClass::Rejected, "closed account")),
        attempt: None,
    };
    commit(store, &w2, vec![failed, succeeded("e4")])
        .await
        .unwrap();
    assert_eq!(store.renew_claims("w2", MINUTE).await.unwrap(), 0);
    let states: Vec<StepState> = store
        .load_step_rows(&RunId::from("run_a"), &StepId::from("pay"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.state)
        .collect();
    let settled = [
        StepState::Pending,
        StepState::Succeeded,
        StepState::NeedsAttention,
        StepState::Failed,
        StepState::Succeeded,
    ];
    assert_eq!(states, settled, "the step's own row, then its items");

    // Nothing is left to claim, even once every claim would have expired.
    clock.advance(TimeDelta::seconds(61));
    let anyone = claim("w9", first - 1, last, 10, MINUTE);
    assert!(store.claim_items(&anyone).await.unwrap().is_empty());
    assert!(store.steps_to_help().await.unwrap().is_empty());
}

pub(super) async fn shared_steps_are_published_replaced_withdrawn_and_listed_while_open(env: &Env) {
    let (store, clock) = (&*env.store, &env.clock);
    let steps = [
        NewStep::step("pay"),
        NewStep::item("pay", "e1"),
        NewStep::item("pay", "e2"),
        NewStep::step("refund"),
        NewStep::item("refund", "r1"),
    ];
    store.create_run(&new_run("run_a"), &steps).await.unwrap();
    let lease = lease_for_a_day(store, "run_a").await;
    let pay_seq = seqs(store, "run_a", "pay").await;
    let refund_seq = seqs(store, "run_a", "refund").await;
    let pay = shared_step("run_a", "pay", pay_seq[""], pay_seq["e2"]);
    let refund = shared_step("run_a", "refund", refund_seq[""], refund_seq["r1"]);

    assert_eq!(
        store
            .load_shared_step(&RunId::from("run_a"), &StepId::from("pay"))
            .await
            .unwrap(),
        None
    );
    store.share_step(&pay).await.unwrap();
    assert_eq!(
        store
            .load_shared_step(&RunId::from("run_a"), &StepId::from("pay"))
            .await
            .unwrap(),
        Some(pay.clone())
    );
    // A new holder publishes again: the step is replaced, not added.
    let pay = SharedStep {
        holder: "engine-2".into(),
        scope: r#"{"inputs": {"budget": "1.00"}}"#.into(),
        ..pay
    };
    store.share_step(&pay).await.unwrap();
    assert_eq!(
        store
            .load_shared_step(&RunId::from("run_a"), &StepId::from("pay"))
            .await
            .unwrap(),
        Some(pay.clone())
    );
    clock.advance(TimeDelta::seconds(1));
    store.share_step(&refund).await.unwrap();
    let listed = |steps: &[&str]| -> Vec<(RunId, StepId)> {
        steps
            .iter()
            .map(|s| (RunId::from("run_a"), StepId::from(*s)))
            .collect()
    };
    assert_eq!(
        store.steps_to_help().await.unwrap(),
        listed(&["pay", "refund"]),
        "oldest first"
    );

    // Listed only while an item is open and nobody's claim on it is live.
    let refund_claim = ItemClaim {
        step_id: "refund".into(),
        ..claim("w1", refund_seq[""], refund_seq["r1"], 10, MINUTE)
    };
    assert_eq!(store.claim_items(&refund_claim).await.unwrap().len(), 1);
    assert_eq!(store.steps_to_help().await.unwrap(), listed(&["pay"]));
    commit(store, &lease, vec![succeeded("e1"), succeeded("e2")])
        .await
        .unwrap();
    assert!(store.steps_to_help().await.unwrap().is_empty());
    clock.advance(TimeDelta::seconds(61));
    assert_eq!(store.steps_to_help().await.unwrap(), listed(&["refund"]));

    store
        .unshare_step(&RunId::from("run_a"), &StepId::from("refund"))
        .await
        .unwrap();
    store
        .unshare_step(&RunId::from("run_a"), &StepId::from("refund"))
        .await
        .unwrap();
    assert_eq!(
        store
            .load_shared_step(&RunId::from("run_a"), &StepId::from("refund"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .load_shared_step(&RunId::from("run_a"), &StepId::from("pay"))
            .await
            .unwrap(),
        Some(pay)
    );
    assert!(store.steps_to_help().await.unwrap().is_empty());
}

pub(super) async fn claims_are_renewed_by_heartbeats_and_given_back_on_release(env: &Env) {
    let (store, clock) = (&*env.store, &env.clock);
    shared_run(store, &["e1", "e2", "e3"]).await;
    let seq = seqs(store, "run_a", "pay").await;
    let (first, last) = (seq[""], seq["e3"]);
    let half_a_minute = Duration::from_secs(30);
    let w1 = claim("w1", first, last, 2, half_a_minute);
    assert_eq!(claim_keys(store, &w1).await, ["e1", "e2"]);

    // Renewed at 20 s, the claims outlive their first expiry (30 s): at 40 s only e3 is free.
    clock.advance(TimeDelta::seconds(20));
    assert_eq!(store.renew_claims("w1", half_a_minute).await.unwrap(), 2);
    clock.advance(TimeDelta::seconds(20));
    let w2 = claim("w2", first, last, 10, MINUTE);
    assert_eq!(claim_keys(store, &w2).await, ["e3"]);
    // Listed per owner and step, with when the last of them runs out.
    let now = clock.now();
    let summary = |owner: &str, items: u64, expires_at| ClaimSummary {
        owner: owner.into(),
        run_id: "run_a".into(),
        step_id: "pay".into(),
        items,
        expires_at,
    };
    assert_eq!(
        store.list_claims().await.unwrap(),
        [
            summary("w1", 2, now + TimeDelta::seconds(10)),
            summary("w2", 1, now + TimeDelta::seconds(60)),
        ]
    );

    // Not renewed in time (50 s), they are gone: a late heartbeat does not bring them back.
    clock.advance(TimeDelta::seconds(20));
    assert_eq!(store.renew_claims("w1", half_a_minute).await.unwrap(), 0);
    let w3 = claim("w3", first, last, 10, MINUTE);
    assert_eq!(claim_keys(store, &w3).await, ["e1", "e2"]);

    // A worker that stops gives its claims back, for others to take at once.
    assert_eq!(
        store
            .release_claims(&RunId::from("run_a"), "w3")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .release_claims(&RunId::from("run_a"), "w3")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .release_claims(&RunId::from("run_b"), "w3")
            .await
            .unwrap(),
        0
    );
    let w4 = claim("w4", first, last, 10, MINUTE);
    assert_eq!(claim_keys(store, &w4).await, ["e1", "e2"]);
    assert_eq!(store.renew_claims("w2", MINUTE).await.unwrap(), 1);
    // Expired claims are not listed; settled items hold none.
    clock.advance(TimeDelta::seconds(61));
    assert!(store.list_claims().await.unwrap().is_empty());
}

pub(super) async fn concurrent_workers_each_take_and_settle_their_own_items(env: &Env) {
    const ITEMS: usize = 60;
    let items: Vec<String> = (0..ITEMS).map(|i| format!("e{i:02}")).collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let holder = shared_run(&*env.store, &refs).await;
    let seq = seqs(&*env.store, "run_a", "pay").await;
    let (first, last) = (seq[""], seq["e59"]);
    // Each worker claims a few items, dispatches them, renews, and settles them, until none
    // is left; the holder works beside the helpers under its run lease.
    let worker = |store: Arc<dyn Store>, lease: Lease| {
        let claim = claim(&lease.owner, first, last, 4, MINUTE);
        tokio::spawn(async move {
            let mut taken = Vec::new();
            loop {
                let rows = store.claim_items(&claim).await?;
                if rows.is_empty() {
                    return Ok::<_, StoreError>(taken);
                }
                let keys: Vec<String> = rows
                    .into_iter()
                    .map(|r| r.key.item_key.into_string())
                    .collect();
                let dispatches: Vec<Dispatch> = keys.iter().map(|k| dispatch(k, "10.00")).collect();
                commit(&*store, &lease, dispatches).await?;
                store.renew_claims(&lease.owner, MINUTE).await?;
                let results: Vec<StepResult> = keys.iter().map(|k| succeeded(k)).collect();
                commit(&*store, &lease, results).await?;
                taken.extend(keys);
            }
        })
    };
    let (a, b, c) = tokio::join!(
        worker(env.store.clone(), holder),
        worker(env.second().await, Lease::items("run_a", "w2")),
        worker(env.second().await, Lease::items("run_a", "w3")),
    );
    let taken: Vec<Vec<String>> = [a, b, c].map(|r| r.unwrap().unwrap()).into();
    let mut all: Vec<&String> = taken.iter().flatten().collect();
    all.sort();
    assert_eq!(
        all,
        items.iter().collect::<Vec<_>>(),
        "each item once: {taken:?}"
    );
    let rows = env
        .store
        .load_step_rows(&RunId::from("run_a"), &StepId::from("pay"))
        .await
        .unwrap();
    assert!(
        rows[1..]
            .iter()
            .all(|r| r.state == StepState::Succeeded && r.attempts == 1)
    );
}

pub(super) async fn sharing_a_step_notifies_workers_on_postgres_only(env: &Env) {
    let store = &*env.store;
    let listener = env.second().await;
    let mut notices = match (env.is_postgres(), listener.notices().await.unwrap()) {
        (true, Some(notices)) => notices,
        // SQLite sends none: its workers scan.
        (false, None) => return,
        (postgres, notices) => panic!("postgres: {postgres}, notices: {}", notices.is_some()),
    };
    // Other tests share the channel: this one's run has its own id.
    let id = RunId::from(format!("shared_{:08x}", rand::random::<u32>()));
    let steps = [NewStep::step("pay"), NewStep::item("pay", "e1")];
    store.create_run(&new_run(&id), &steps).await.unwrap();
    let seq = seqs(store, &id, "pay").await;
    let (first, last) = (seq[""], seq["e1"]);
    let step = shared_step(&id, "pay", first, last);
    store.share_step(&step).await.unwrap();
    let helper = ItemClaim {
        run_id: id.clone(),
        ..claim("w1", first, last, 10, MINUTE)
    };
    assert_eq!(store.claim_items(&helper).await.unwrap().len(), 1);
    // Given back, the item is announced again.
    assert_eq!(store.release_claims(&id, "w1").await.unwrap(), 1);

    let shared = StoreNotice::StepShared {
        run_id: id.clone(),
        step_id: "pay".into(),
    };
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let notice = tokio::time::timeout(Duration::from_secs(10), notices.recv())
            .await
            .expect("notices arrive")
            .expect("the listener runs");
        if matches!(&notice, StoreNotice::StepShared { run_id, .. } if *run_id == id) {
            seen.push(notice);
        }
    }
    assert_eq!(seen, [shared.clone(), shared]);
}
