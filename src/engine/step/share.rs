//! Working through a shared `for_each` step by claims (see [`claim`](crate::store::claim)):
//! helping workers claim a few items at a time from the end of the list, run them, and claim
//! again, until no item is left to claim. The run's holder walks the list from the start
//! without claims (see [`super::run`]) until it runs into items the helpers took; it then
//! claims what is left here too, and waits until every item is settled, wherever it ran,
//! before the step ends.
//!
//! Each process walks the step once in its direction, passing over items others hold, then
//! walks it again from its start whenever a claim comes back empty: that is how the items
//! of a worker that died (once its claims expire) or stopped (it gives them back) are found.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinSet;

use super::{Elements, End, Items, Shared, store_halt, taken_by_other};
use crate::engine::call::Halt;
use crate::engine::error::EngineError;
use crate::engine::writer::WriteError;
use crate::ids::{ItemKey, StepId};
use crate::plan::context::List;
use crate::store::{ClaimRole, ItemClaim, StepRecord, StepState, StoreError};
use crate::template::Scope;

/// A `for_each` step of a provider call is shared with other workers from this many items:
/// below it, the claims would cost more than the help brings.
pub const SHARE_FROM_ITEMS: usize = 64;

/// How often a process that found nothing to claim looks again (for items given back or whose
/// claims expired, and, for the holder, whether the items others run are settled).
const LOOK_AGAIN: Duration = Duration::from_millis(250);

/// Which items a process claims, and how.
#[derive(Debug, Clone)]
pub struct Claimer {
    /// The lease owner name the claims are taken under.
    pub owner: String,
    /// How long a claim lasts unless renewed.
    pub ttl: Duration,
    /// The `seq` of the step's own row.
    pub first_seq: i64,
    /// The `seq` of its last item.
    pub last_seq: i64,
}

/// The elements as a shared step publishes them: `{"keys": [...], "list": [...]}`.
pub fn elements_json(elements: &Elements) -> String {
    let keys = serde_json::to_string(&elements.keys).expect("strings serialise");
    format!(r#"{{"keys":{keys},"list":{}}}"#, elements.list.to_json())
}

/// The elements a shared step published.
///
/// # Errors
/// [`EngineError::ForEach`] when the text is not what [`elements_json`] writes.
pub fn parse_elements(step: &str, text: &str) -> Result<Elements, EngineError> {
    #[derive(serde::Deserialize)]
    struct Published {
        keys: Vec<ItemKey>,
        list: Vec<Value>,
    }
    let published: Published = serde_json::from_str(text).map_err(|e| EngineError::ForEach {
        step: step.into(),
        reason: format!("the shared step's elements cannot be read: {e}"),
    })?;
    if published.keys.len() != published.list.len() {
        return Err(EngineError::ForEach {
            step: step.into(),
            reason: "the shared step has a different number of keys and elements".into(),
        });
    }
    Ok(Elements {
        keys: published.keys,
        list: List::of(published.list),
    })
}

/// Runs the claimable items of step `index` in this process until none is left to claim
/// (and, for the [`ClaimRole::Holder`], until every item is settled); returns how many items
/// ran here, and why it stopped early if an open breaker held an item back (it then claims
/// nothing more and gives back the claims it holds). An item another worker took meanwhile
/// (its claim lost, or settled) is left to it.
///
/// # Errors
/// [`Halt`] when a claim or a checkpoint cannot be written; the items in flight here are
/// recorded first.
pub async fn work(
    shared: &Arc<Shared>,
    index: usize,
    scope: Scope,
    elements: &Elements,
    claimer: &Claimer,
    role: ClaimRole,
) -> Result<(usize, Option<String>), Halt> {
    let step = &shared.compiled.config.steps[index];
    let mut items = Items::new(shared, index, scope);
    // Twice what runs at once, so the next items are at hand when one finishes.
    let parallel = step
        .max_parallel
        .map_or(usize::MAX, |n| n.max(1) as usize)
        .min(shared.slots.available_permits().max(1));
    let block = u32::try_from(parallel.saturating_mul(2).clamp(2, 256)).unwrap_or(256);
    let positions: HashMap<&str, usize> = elements
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut claim = ItemClaim {
        role,
        run_id: shared.run_id.clone(),
        step_id: StepId::from(&step.id),
        owner: claimer.owner.clone(),
        ttl: claimer.ttl,
        after: claimer.first_seq,
        last: claimer.last_seq,
        limit: block,
    };
    let mut queue: VecDeque<StepRecord> = VecDeque::new();
    let mut tasks: JoinSet<Result<End, Halt>> = JoinSet::new();
    let mut halt: Option<Halt> = None;
    let mut held: Option<String> = None;
    let mut ran = 0;
    let reap = |done: Result<Result<End, Halt>, tokio::task::JoinError>,
                (halt, held): (&mut Option<Halt>, &mut Option<String>)| {
        match done.expect("item tasks do not panic") {
            Err(h) if taken_by_other(&h) => {
                tracing::warn!(error = %h, "An item claimed here was taken over by another worker.");
            }
            Err(h) => {
                halt.get_or_insert(h);
            }
            Ok(End::Held(why)) => {
                held.get_or_insert(why);
            }
            Ok(_) => {}
        }
    };
    while halt.is_none() && held.is_none() {
        while let Some(done) = tasks.try_join_next() {
            reap(done, (&mut halt, &mut held));
        }
        if queue.is_empty() && shared.writer.is_draining() {
            // Stopping: claim nothing more; what is in flight records, then the claims go back.
            halt = Some(Halt::Store(WriteError::Draining));
            continue;
        }
        if queue.is_empty() {
            match shared.store.claim_items(&claim).await {
                Err(e) => {
                    halt = Some(store_halt(e));
                    continue;
                }
                Ok(rows) if !rows.is_empty() => {
                    match role {
                        ClaimRole::Holder => {
                            claim.after = rows.last().map_or(claim.after, |r| r.seq)
                        }
                        ClaimRole::Helper => {
                            claim.last = rows.first().map_or(claim.last, |r| r.seq - 1)
                        }
                    }
                    queue.extend(rows);
                }
                // The first walk is over: from its start again, for items given back or
                // whose claims expired.
                Ok(_) if (claim.after, claim.last) != (claimer.first_seq, claimer.last_seq) => {
                    (claim.after, claim.last) = (claimer.first_seq, claimer.last_seq);
                }
                Ok(_) => {
                    if tasks.is_empty() {
                        match role {
                            ClaimRole::Helper => break,
                            ClaimRole::Holder => {
                                match open_items(shared, &StepId::from(&step.id)).await {
                                    Ok(0) => break,
                                    Ok(_) => {}
                                    Err(e) => {
                                        halt = Some(store_halt(e));
                                        continue;
                                    }
                                }
                            }
                        }
                    }
                    tokio::select! {
                        Some(done) = tasks.join_next(), if !tasks.is_empty() => reap(done, (&mut halt, &mut held)),
                        () = tokio::time::sleep(LOOK_AGAIN) => {}
                    }
                }
            }
            continue;
        }
        let Some(record) = queue.pop_front() else {
            continue;
        };
        let Some(value) = positions
            .get(record.key.item_key.as_str())
            .and_then(|&i| elements.list.get(i))
        else {
            let message = format!("item `{}` is not in the list", record.key.item_key);
            let end = super::record_failure(shared, &record, message).await;
            if let Err(h) = end {
                halt.get_or_insert(h);
            }
            continue;
        };
        ran += 1;
        items.start(&mut tasks, record, value, |end| end).await;
    }
    while let Some(done) = tasks.join_next().await {
        reap(done, (&mut halt, &mut held));
    }
    if held.is_some()
        && let Err(e) = shared
            .store
            .release_claims(&shared.run_id, &claimer.owner)
            .await
    {
        tracing::warn!(error = %e, "Cannot give back item claims; they expire.");
    }
    match halt {
        Some(halt) => Err(halt),
        None => Ok((ran, held)),
    }
}

/// How many of the step's items are not settled yet, wherever they run.
pub(super) async fn open_items(shared: &Shared, step_id: &StepId) -> Result<u64, StoreError> {
    let counts = shared.store.count_steps(&shared.run_id).await?;
    let open: u64 = counts
        .iter()
        .filter(|c| c.step_id == *step_id)
        .filter(|c| {
            matches!(
                c.state,
                StepState::Pending | StepState::Dispatching | StepState::InFlight
            )
        })
        .map(|c| c.count)
        .sum();
    // The step's own row is counted with its items, and is open until the step ends.
    Ok(open.saturating_sub(1))
}

/// The published scope of a step, as JSON text.
pub fn scope_json(scope: &Scope) -> String {
    serde_json::to_string(scope.data()).expect("JSON values serialise")
}
