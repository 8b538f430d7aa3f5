//! Store notices on Postgres: `pg_notify` inside the transaction that makes the change (so a
//! notice is delivered only if the change committed, and only after it did), and a `LISTEN`
//! connection per worker that turns them back into [`StoreNotice`]s.
//!
//! The channel is per database, not per schema: a worker may hear of runs in another schema
//! of the same database, finds no such run, and ignores it.

use serde_json::{Value, json};
use sqlx::PgConnection;
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;

use crate::store::error::StoreError;
use crate::store::notice::StoreNotice;
use crate::store::step::StepKey;

/// The `LISTEN` channel.
const CHANNEL: &str = "sluice";

/// Queues `notice` in the caller's transaction.
pub(super) async fn notify(
    conn: &mut PgConnection,
    notice: &StoreNotice,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload(notice))
        .execute(conn)
        .await?;
    Ok(())
}

/// The notice as JSON text (ids and keys may hold any character).
fn payload(notice: &StoreNotice) -> String {
    match notice {
        StoreNotice::RunFree { run_id } => json!({ "free": run_id }),
        StoreNotice::StepShared { run_id, step_id } => json!({ "shared": [run_id, step_id] }),
        StoreNotice::Woken(key) => json!({ "woken": [key.run_id, key.step_id, key.item_key] }),
    }
    .to_string()
}

/// Reads a payload [`notify`] wrote; `None` for anything else.
fn parse(payload: &str) -> Option<StoreNotice> {
    let value: Value = serde_json::from_str(payload).ok()?;
    if let Some(run_id) = value.get("free").and_then(Value::as_str) {
        return Some(StoreNotice::RunFree {
            run_id: run_id.into(),
        });
    }
    if let Some(shared) = value.get("shared") {
        let [run, step] = shared.as_array()?.as_slice() else {
            return None;
        };
        return Some(StoreNotice::StepShared {
            run_id: run.as_str()?.into(),
            step_id: step.as_str()?.into(),
        });
    }
    let [run, step, item] = value.get("woken")?.as_array()?.as_slice() else {
        return None;
    };
    Some(StoreNotice::Woken(StepKey::item(
        run.as_str()?,
        step.as_str()?,
        item.as_str()?,
    )))
}

/// Listens on a connection of its own and forwards every notice until the receiver is
/// dropped. A lost connection is re-established by sqlx; what was sent meanwhile is missed.
pub(super) async fn listen(
    pool: &PgPool,
) -> Result<mpsc::UnboundedReceiver<StoreNotice>, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(notification) => {
                    if let Some(notice) = parse(notification.payload())
                        && tx.send(notice).is_err()
                    {
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "Store notices interrupted; relying on scans.");
                    if tx.is_closed() {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_foreign_ones_are_ignored() {
        for notice in [
            StoreNotice::RunFree {
                run_id: "run_1".into(),
            },
            StoreNotice::Woken(StepKey::item("run_1", "pay", "E\t1 \"x\"")),
            StoreNotice::StepShared {
                run_id: "run_1".into(),
                step_id: "pay \"all\"".into(),
            },
        ] {
            assert_eq!(parse(&payload(&notice)), Some(notice));
        }
        assert_eq!(parse("hello"), None);
        assert_eq!(parse(r#"{"woken": ["a", "b"]}"#), None);
        assert_eq!(parse(r#"{"shared": ["a", "b", "c"]}"#), None);
        assert_eq!(parse(r#"{"shared": "a"}"#), None);
    }
}
