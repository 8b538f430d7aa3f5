//! Deterministic identifiers the write protocol depends on: idempotency keys and run ids.
//! Request digests and diffs are [`crate::digest`]'s.
//!
//! These are pure functions so that a resumed process derives exactly the key and digest the
//! crashed one committed.

use chrono::{DateTime, Utc};

use crate::ids::{ItemKey, RunId, StepId};
use crate::signing::sha256_hex;

/// The idempotency key of one step (or one `for_each` item) of a run: `sl_` followed by the
/// first 32 hex digits of SHA-256 over `run_id`, `step_id` and `item_key` separated by NUL
/// bytes. Ids cannot contain NUL, so distinct triples never collide by concatenation.
pub fn idempotency_key(run_id: &RunId, step_id: &StepId, item_key: &ItemKey) -> String {
    let digest = sha256_hex(&[
        run_id.as_bytes(),
        b"\0",
        step_id.as_bytes(),
        b"\0",
        item_key.as_bytes(),
    ]);
    format!("sl_{}", &digest[..32])
}

/// A new run id: `run_`, the creation time as 12 hex digits of Unix milliseconds, then 16 random
/// hex digits. Ids sort by creation time as text, and two processes creating runs in the same
/// millisecond still get distinct ids. Scheduled runs do not use this: they take a deterministic
/// id from the workflow name and slot time, chosen by the scheduler.
pub fn new_run_id(now: DateTime<Utc>) -> RunId {
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    format!("run_{millis:012x}{:016x}", rand::random::<u64>()).into()
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn idempotency_key_is_deterministic_and_separates_its_parts() {
        let key = idempotency_key(
            &RunId::from("run_1"),
            &StepId::from("pay"),
            &ItemKey::from("emp-7"),
        );
        assert_eq!(
            key,
            idempotency_key(
                &RunId::from("run_1"),
                &StepId::from("pay"),
                &ItemKey::from("emp-7")
            )
        );
        assert_eq!(key.len(), 3 + 32);
        assert!(key.starts_with("sl_"));
        assert!(key[3..].bytes().all(|b| b.is_ascii_hexdigit()));
        // printf 'run_1\0pay\0emp-7' | sha256sum | cut -c1-32
        assert_eq!(key, "sl_006a7c61daaa54ab7c0341558597ded7");
        assert_ne!(
            key,
            idempotency_key(
                &RunId::from("run_1"),
                &StepId::from("pay"),
                &ItemKey::from("emp-8")
            )
        );
        assert_ne!(
            key,
            idempotency_key(
                &RunId::from("run_2"),
                &StepId::from("pay"),
                &ItemKey::from("emp-7")
            )
        );
        // Moving a character across the separator gives another key.
        assert_ne!(
            idempotency_key(
                &RunId::from("run_1"),
                &StepId::from("pa"),
                &ItemKey::from("yemp-7")
            ),
            idempotency_key(
                &RunId::from("run_1"),
                &StepId::from("pay"),
                &ItemKey::from("emp-7")
            )
        );
        assert_ne!(
            idempotency_key(
                &RunId::from("run_1"),
                &StepId::from("pay"),
                &ItemKey::from("")
            ),
            idempotency_key(
                &RunId::from("run_1"),
                &StepId::from("pay\0"),
                &ItemKey::from("")
            )
        );
    }

    #[test]
    fn run_ids_sort_by_creation_time() {
        let early = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let late = DateTime::parse_from_rfc3339("2025-01-01T00:00:00.001Z")
            .unwrap()
            .to_utc();
        let (a, b) = (new_run_id(early), new_run_id(late));
        assert!(a.starts_with("run_") && a.len() == 4 + 12 + 16, "{a}");
        assert!(a < b, "{a} < {b}");
        assert_ne!(new_run_id(early), new_run_id(early));
    }
}
