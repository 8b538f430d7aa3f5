//! Multi-row statements for the writes the engine commits on its hot path: dispatches,
//! two-phase checkpoints and results.
//!
//! A group commit of 64 items written one `UPDATE` at a time pays 64 round trips to SQLite's
//! connection thread, each a wake-up of another thread; here the lease fence and each kind
//! of change (one `WITH v(…) AS (VALUES …) UPDATE … FROM v` per 500 items, and the attempts'
//! multi-row `INSERT`) is one statement, so a batch costs a round trip per kind it has
//! (usually two or three, plus begin and commit) whatever its size; the rare kinds (retries,
//! skips, waits, attention) follow row by row in the same transaction. Each statement is
//! sent on its own so that its text depends only on its own row count: the shapes of the
//! usual batch sizes stay prepared, where one text for the whole batch was new for nearly
//! every batch (its kinds' counts combined) and parsing it cost a sixth of the engine's
//! instructions. The guards are the same as the
//! row-by-row path's (`transitions.rs`): each row must match exactly one step run in a state
//! it may come from. When fewer rows change than the batch has (a refused item, a key twice
//! in one batch, a lost lease), the transaction is rolled back and the caller replays the
//! batch row by row, which names the refusal exactly as before: this path only ever commits
//! batches the row-by-row path would have committed identically.

use crate::store::operator::clear_redrive;
use sqlx::{QueryBuilder, Sqlite};

use super::SqliteStore;
use super::dialect::{Ts, opt_ts, ts};
use super::ops::codec::{json_text, request_text};
use super::ops::transitions::{Writer, apply_rest};
use crate::digest::request_digest;
use crate::store::amount::AmountColumns;
use crate::store::attempt::NewAttempt;
use crate::store::batch::WriteBatch;
use crate::store::error::StoreError;
use crate::store::run::Lease;
use crate::store::step::{Checkpoint, Dispatch, Outcome, StepResult};
use crate::store::transition::Transition;

/// Rows per statement: the widest (attempts, 13 parameters a row) stays far below SQLite's
/// 32,766 parameters.
const ROWS_PER_STATEMENT: usize = 500;

/// The most rows a statement may name to be kept prepared in the connection's statement
/// cache (100 statements, least recently used out). A statement's text changes with its row
/// count: small counts come back all the time and are worth keeping (five kinds of 32 counts
/// at most, in practice a few dozen), while large ones rarely repeat, cost memory while
/// cached, and would push the store's other statements out; those are prepared for one use.
const CACHED_ROWS: usize = 32;

/// The batch's statements, each with the rows it must change (or insert).
#[derive(Default)]
struct Statements(Vec<(QueryBuilder<Sqlite>, usize)>);

impl Statements {
    /// Starts a statement that must change (or insert) `rows` rows.
    fn open(&mut self, rows: usize) -> &mut QueryBuilder<Sqlite> {
        self.0.push((QueryBuilder::new(""), rows));
        &mut self.0.last_mut().expect("just pushed").0
    }
}

/// The guard every hot transition shares: the row named by `v` is in a state `change` may
/// come from, and the writer may write it (`claimed!`: its claim, or nobody's for the run's
/// holder). Leaves the statement open for more conditions.
fn guard(q: &mut QueryBuilder<Sqlite>, change: Transition, (lease, now): Writer<'_>) {
    q.push(
        " FROM v WHERE step_runs.run_id = v.v_run AND step_runs.step_id = v.v_step \
         AND step_runs.item_key = v.v_item AND step_runs.",
    );
    q.push(change.guard());
    q.push(" AND ((step_runs.claim_owner = ")
        .push_bind(lease.owner.clone())
        .push(" AND step_runs.claim_expires_at > ")
        .push_bind(now.to_owned())
        .push(") OR (step_runs.claim_owner IS NULL AND ")
        .push_bind(lease.holds_run())
        .push("))");
}

/// The fence of `transitions::fence`: only the current, unexpired holder may write. One row;
/// none for an [`items`](Lease::items) lease, whose rows are fenced by their claims.
fn push_fence(st: &mut Statements, lease: &Lease, now: &Ts) {
    if !lease.holds_run() {
        return;
    }
    st.open(1)
        .push("UPDATE runs SET updated_at = ")
        .push_bind(now)
        .push(" WHERE id = ")
        .push_bind(&lease.run_id)
        .push(" AND lease_owner = ")
        .push_bind(&lease.owner)
        .push(" AND lease_expires_at > ")
        .push_bind(now);
}

/// The dispatches, one statement per 500.
fn push_dispatches(
    st: &mut Statements,
    lease: &Lease,
    batch: &[Dispatch],
    now: &Ts,
) -> Result<(), StoreError> {
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        let rows = chunk
            .iter()
            .map(|d| {
                let request = request_text(&d.request)?;
                let amount = AmountColumns::of(Some(&d.request));
                Ok((d, request_digest(&d.request), request, amount))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let q = st.open(chunk.len());
        q.push(
            " WITH v(v_run, v_step, v_item, v_key, v_digest, v_request, v_asset, v_units, \
             v_scale) AS (",
        );
        q.push_values(rows, |mut row, (d, digest, request, amount)| {
            row.push_bind(&lease.run_id)
                .push_bind(&d.step_id)
                .push_bind(&d.item_key)
                .push_bind(&d.idempotency_key)
                .push_bind(digest)
                .push_bind(request)
                .push_bind(amount.asset)
                .push_bind(amount.units)
                .push_bind(amount.scale);
        });
        q.push(concat!(
            ") UPDATE step_runs SET state = 'dispatching', idempotency_key = v.v_key, ",
            clear_redrive!(),
            "request_digest = v.v_digest, request_json = v.v_request, asset = v.v_asset, \
             amount_units = v.v_units, amount_scale = v.v_scale, \
             attempts = step_runs.attempts + 1, next_attempt_at = NULL, updated_at = ",
        ))
        .push_bind(now);
        guard(q, Transition::Dispatch, (lease, now));
        // A step already dispatching is re-sent only with its key and request.
        q.push(
            " AND (step_runs.state = 'pending' OR (step_runs.idempotency_key = v.v_key \
             AND step_runs.request_digest = v.v_digest))",
        );
    }
    Ok(())
}

/// The two-phase checkpoints, one statement per 500.
fn push_checkpoints(
    st: &mut Statements,
    batch: &[Checkpoint],
    (lease, now): Writer<'_>,
) -> Result<(), StoreError> {
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        let rows = chunk
            .iter()
            .map(|c| Ok((c, json_text("checkpoint_json", &c.checkpoint)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let q = st.open(chunk.len());
        q.push(" WITH v(v_run, v_step, v_item, v_ref, v_cp) AS (");
        q.push_values(rows, |mut row, (c, checkpoint)| {
            row.push_bind(&c.key.run_id)
                .push_bind(&c.key.step_id)
                .push_bind(&c.key.item_key)
                .push_bind(&c.provider_ref)
                .push_bind(checkpoint);
        });
        q.push(
            ") UPDATE step_runs SET state = 'in_flight', provider_ref = v.v_ref, \
             checkpoint_json = v.v_cp, updated_at = ",
        )
        .push_bind(now);
        guard(q, Transition::Checkpoint, (lease, now));
    }
    Ok(())
}

/// The results: one statement per 500 successes, one per 500 failures, and the multi-row
/// insert of their attempts.
fn push_results(
    st: &mut Statements,
    batch: &[StepResult],
    (lease, now): Writer<'_>,
) -> Result<(), StoreError> {
    let mut succeeded = Vec::new();
    let mut failed = Vec::new();
    for r in batch {
        match &r.outcome {
            Outcome::Succeeded {
                output,
                provider_ref,
            } => succeeded.push((r, json_text("output_json", output)?, provider_ref)),
            Outcome::Failed(error) => failed.push((r, error)),
        }
    }
    // Owned rows, so each output's JSON text is moved into its parameter, not copied.
    let mut succeeded = succeeded.into_iter().peekable();
    while succeeded.peek().is_some() {
        let q = st.open(succeeded.len().min(ROWS_PER_STATEMENT));
        q.push(" WITH v(v_run, v_step, v_item, v_output, v_ref) AS (");
        q.push_values(
            succeeded.by_ref().take(ROWS_PER_STATEMENT),
            |mut row, (r, output, provider_ref)| {
                row.push_bind(&r.key.run_id)
                    .push_bind(&r.key.step_id)
                    .push_bind(&r.key.item_key)
                    .push_bind(output)
                    .push_bind(provider_ref);
            },
        );
        q.push(
            ") UPDATE step_runs SET state = 'succeeded', output_json = v.v_output, \
             provider_ref = COALESCE(v.v_ref, step_runs.provider_ref), error_class = NULL, \
             error_message = NULL, next_attempt_at = NULL, claim_owner = NULL, \
             claim_expires_at = NULL, updated_at = ",
        )
        .push_bind(now);
        guard(q, Transition::Succeed, (lease, now));
    }
    for chunk in failed.chunks(ROWS_PER_STATEMENT) {
        let q = st.open(chunk.len());
        q.push(" WITH v(v_run, v_step, v_item, v_class, v_message) AS (");
        q.push_values(chunk, |mut row, (r, error)| {
            row.push_bind(&r.key.run_id)
                .push_bind(&r.key.step_id)
                .push_bind(&r.key.item_key)
                .push_bind(error.class.as_str())
                .push_bind(&error.message);
        });
        q.push(
            ") UPDATE step_runs SET state = 'failed', error_class = v.v_class, \
             error_message = v.v_message, next_attempt_at = NULL, claim_owner = NULL, \
             claim_expires_at = NULL, updated_at = ",
        )
        .push_bind(now);
        guard(q, Transition::Fail, (lease, now));
    }
    let attempts: Vec<&NewAttempt> = batch.iter().filter_map(|r| r.attempt.as_ref()).collect();
    for chunk in attempts.chunks(ROWS_PER_STATEMENT) {
        let q = st.open(chunk.len());
        q.push(
            " INSERT INTO attempts (run_id, step_id, item_key, attempt_no, operation, \
             idempotency_key, request_digest, started_at, finished_at, outcome, \
             error_class, error_message, http_status) ",
        );
        q.push_values(chunk, |mut row, a| {
            row.push_bind(&a.key.run_id)
                .push_bind(&a.key.step_id)
                .push_bind(&a.key.item_key)
                .push_bind(i64::from(a.attempt_no))
                .push_bind(a.operation.as_str())
                .push_bind(&a.idempotency_key)
                .push_bind(&a.request_digest)
                .push_bind(ts(a.started_at))
                .push_bind(opt_ts(a.finished_at))
                .push_bind(a.outcome.as_str())
                .push_bind(a.error.as_ref().map(|e| e.class.as_str()))
                .push_bind(a.error.as_ref().map(|e| e.message.as_str()))
                .push_bind(a.http_status.map(i64::from));
        });
    }
    Ok(())
}

/// Commits `batch` with the fence and multi-row statements, then the rare kinds row by row,
/// in one write transaction, if each statement changed exactly the rows it names: it changes
/// at most those, so the count is reached exactly when every row matched its guard. Anything
/// else (a refused row, an error such as an attempt of an unknown step) rolls back and
/// returns `false`: nothing was written, and the row-by-row replay reports it exactly.
pub(super) async fn commit_batched(
    store: &SqliteStore,
    lease: &Lease,
    batch: &WriteBatch,
    now: &Ts,
) -> Result<bool, StoreError> {
    let mut statements = Statements::default();
    push_fence(&mut statements, lease, now);
    push_dispatches(&mut statements, lease, &batch.dispatches, now)?;
    push_checkpoints(&mut statements, &batch.checkpoints, (lease, now))?;
    push_results(&mut statements, &batch.results, (lease, now))?;
    let mut tx = store.begin_write().await?;
    for (mut q, rows) in statements.0 {
        let statement = q.build().persistent(rows <= CACHED_ROWS);
        match statement.execute(&mut *tx).await {
            Ok(done) if done.rows_affected() == rows as u64 => {}
            Ok(_) | Err(_) => return Ok(false),
        }
    }
    apply_rest(&mut tx, batch, (lease, now)).await?;
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::ops::transitions::apply_rows;
    use super::*;
    use crate::ids::RunId;
    use crate::store::attempt::AttemptOutcome;
    use crate::store::class::ErrorClass;
    use crate::store::sqlite::testing::{attempt, dispatch, leased_run, store_in};
    use crate::store::step::{Skip, StepError, StepKey, StepState};
    use crate::store::traits::StepStore;

    fn items(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("e{i}")).collect()
    }

    /// `batch` row by row in one transaction, as the replay writes it.
    async fn row_by_row(store: &SqliteStore, lease: &Lease, batch: &WriteBatch) {
        let now = ts(store.now());
        let mut tx = store.begin_write().await.unwrap();
        apply_rows(&mut tx, lease, batch, &now).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn batched(store: &SqliteStore, lease: &Lease, batch: &WriteBatch) -> bool {
        let now = ts(store.now());
        commit_batched(store, lease, batch, &now).await.unwrap()
    }

    fn pay(item: &str) -> StepKey {
        StepKey::item("run_a", "pay", item)
    }

    /// The same batches through the multi-row path on one store and row by row on another
    /// leave identical rows and attempts, with every kind of write in one batch.
    #[tokio::test]
    async fn batches_write_exactly_what_row_by_row_writes() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ((fast, _), (slow, _)) = (store_in(&a).await, store_in(&b).await);
        let mut keys = items(7);
        keys.push("spare".into());
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let (lease_fast, lease_slow) = (
            leased_run(&fast, &refs).await,
            leased_run(&slow, &refs).await,
        );
        let keys = &keys[..7];

        let dispatches = WriteBatch::from(
            keys.iter()
                .map(|k| dispatch(k, "10.00"))
                .collect::<Vec<_>>(),
        );
        // e0..e2 are created (checkpoint), e3..e6 finish, `spare` is skipped: one batch.
        let mixed = WriteBatch {
            checkpoints: keys[..3]
                .iter()
                .map(|k| Checkpoint {
                    key: pay(k),
                    provider_ref: format!("tr_{k}"),
                    checkpoint: json!({"object": "transfer", "id": format!("tr_{k}")}),
                })
                .collect(),
            results: keys[3..]
                .iter()
                .enumerate()
                .map(|(i, k)| StepResult {
                    key: pay(k),
                    outcome: if i == 1 {
                        Outcome::Failed(StepError::new(ErrorClass::Rejected, "insufficient funds"))
                    } else {
                        Outcome::Succeeded {
                            output: json!({"id": format!("tr_{k}"), "amount": "10.00"}),
                            provider_ref: (i % 2 == 0).then(|| format!("ref_{k}")),
                        }
                    },
                    attempt: (i != 2).then(|| attempt(k, AttemptOutcome::Ok)),
                })
                .collect(),
            skips: vec![Skip {
                key: pay("spare"),
                reason: "`if` is false".into(),
            }],
            ..WriteBatch::default()
        };

        for batch in [&dispatches, &mixed] {
            assert!(batched(&fast, &lease_fast, batch).await);
            row_by_row(&slow, &lease_slow, batch).await;
        }
        assert_eq!(
            fast.load_steps(&RunId::from("run_a")).await.unwrap(),
            slow.load_steps(&RunId::from("run_a")).await.unwrap()
        );
        assert_eq!(
            fast.load_attempts(&RunId::from("run_a")).await.unwrap(),
            slow.load_attempts(&RunId::from("run_a")).await.unwrap()
        );
        let steps = fast.load_steps(&RunId::from("run_a")).await.unwrap();
        let states: Vec<StepState> = steps.iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            [
                [StepState::InFlight; 3].as_slice(),
                &[
                    StepState::Succeeded,
                    StepState::Failed,
                    StepState::Succeeded,
                    StepState::Succeeded,
                    StepState::Skipped
                ]
            ]
            .concat()
        );
        assert_eq!(steps[1].provider_ref.as_deref(), Some("tr_e1"));
        assert_eq!(steps[3].provider_ref.as_deref(), Some("ref_e3"));
        assert_eq!(
            fast.load_attempts(&RunId::from("run_a"))
                .await
                .unwrap()
                .len(),
            3
        );
    }

    /// A batch with one row its guard refuses, or one key twice, is not written at all and
    /// goes to the row-by-row replay, which names the refusal.
    #[tokio::test]
    async fn a_refused_row_or_a_repeated_key_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_in(&dir).await;
        let lease = leased_run(&store, &["e1", "e2", "e3"]).await;
        let one = WriteBatch::from(vec![dispatch("e1", "1.00")]);
        store.commit_batch(&lease, &one).await.unwrap();
        let before = store.load_steps(&RunId::from("run_a")).await.unwrap();

        // e1 is dispatching with another amount: the whole batch is refused.
        let changed = WriteBatch::from(vec![
            dispatch("e2", "2.00"),
            dispatch("e1", "9.99"),
            dispatch("e3", "3.00"),
        ]);
        assert!(!batched(&store, &lease, &changed).await);
        assert_eq!(
            store.load_steps(&RunId::from("run_a")).await.unwrap(),
            before
        );
        assert!(matches!(
            store.commit_batch(&lease, &changed).await,
            Err(StoreError::RequestChanged { .. })
        ));

        // One key twice: the row changes once, so the batch is replayed row by row (where the
        // second dispatch of the same request counts another attempt).
        let twice = WriteBatch::from(vec![dispatch("e2", "2.00"), dispatch("e2", "2.00")]);
        assert!(!batched(&store, &lease, &twice).await);
        store.commit_batch(&lease, &twice).await.unwrap();
        let e2 = store.load_step(&pay("e2")).await.unwrap();
        assert_eq!((e2.state, e2.attempts), (StepState::Dispatching, 2));

        // A result for a step that is not there, and a checkpoint of a pending step.
        let ghost = StepResult {
            key: pay("e404"),
            outcome: Outcome::Succeeded {
                output: json!({}),
                provider_ref: None,
            },
            attempt: None,
        };
        let ok = StepResult {
            key: pay("e1"),
            ..ghost.clone()
        };
        let results = WriteBatch::from(vec![ok, ghost]);
        assert!(!batched(&store, &lease, &results).await);
        assert!(matches!(
            store.commit_batch(&lease, &results).await,
            Err(StoreError::StepNotFound { .. })
        ));
        let pending = Checkpoint {
            key: pay("e3"),
            provider_ref: "tr_3".into(),
            checkpoint: json!({}),
        };
        let e1 = Checkpoint {
            key: pay("e1"),
            ..pending.clone()
        };
        let checkpoints = WriteBatch::from(vec![e1, pending]);
        assert!(!batched(&store, &lease, &checkpoints).await);
        assert_eq!(
            store.load_step(&pay("e1")).await.unwrap().state,
            StepState::Dispatching
        );

        // A refused rare kind after hot kinds that matched: the batch is still not written.
        let skip_e1 = WriteBatch {
            checkpoints: vec![Checkpoint {
                key: pay("e1"),
                provider_ref: "tr_1".into(),
                checkpoint: json!({}),
            }],
            skips: vec![Skip {
                key: pay("e2"),
                reason: "dispatching cannot be skipped".into(),
            }],
            ..WriteBatch::default()
        };
        assert!(matches!(
            store.commit_batch(&lease, &skip_e1).await,
            Err(StoreError::InvalidTransition {
                from: StepState::Dispatching,
                to: StepState::Skipped,
                ..
            })
        ));
        assert_eq!(
            store.load_step(&pay("e1")).await.unwrap().state,
            StepState::Dispatching
        );
    }

    /// A lost lease refuses the batch before anything is written, dispatches or not.
    #[tokio::test]
    async fn only_the_lease_holder_writes_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let (store, clock) = store_in(&dir).await;
        let lease = leased_run(&store, &["e1", "e2"]).await;
        clock.advance(chrono::TimeDelta::seconds(61));
        let dispatches = WriteBatch::from(vec![dispatch("e1", "1.00"), dispatch("e2", "2.00")]);
        let skips = WriteBatch::from(vec![Skip {
            key: pay("e1"),
            reason: "late".into(),
        }]);
        for batch in [&dispatches, &skips] {
            assert!(!batched(&store, &lease, batch).await);
            assert!(matches!(
                store.commit_batch(&lease, batch).await,
                Err(StoreError::LeaseLost { .. })
            ));
        }
        assert!(
            store
                .load_steps(&RunId::from("run_a"))
                .await
                .unwrap()
                .iter()
                .all(|s| s.state == StepState::Pending)
        );
    }
}
