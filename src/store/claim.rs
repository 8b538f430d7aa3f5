//! Sharing one `for_each` step's items between processes (`sluice serve` workers).
//!
//! The run's holder publishes a large batch step as a [`SharedStep`]: its rendered template
//! scope and its elements, which is all a worker needs (with the workflow file) to render and
//! run any of its items. From then on every process working on the step, the holder included,
//! takes items with an [`ItemClaim`] a few at a time (`FOR UPDATE SKIP LOCKED` on Postgres)
//! and renews its claims with its heartbeat. A worker that dies stops renewing; once its
//! claims expire, the next claim takes its items, and an item it left in doubt goes through
//! the normal reconcile path (looked up, never resent blind).
//!
//! Claims fence writes as leases do: a step write commits only while its writer's claim on
//! the row holds, or, for the run's holder, while nobody claims the row ([`claimed!`]). A
//! settled item's claim is cleared in the same statement.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::run::Lease;
use super::step::StepKey;
use crate::ids::{RunId, StepId};

/// A `for_each` step its run's holder has opened to other workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedStep {
    /// The run.
    pub run_id: RunId,
    /// The step.
    pub step_id: StepId,
    /// The lease owner of the run's holder when it published the step.
    pub holder: String,
    /// The step's template scope (everything but the element), as JSON text.
    pub scope: String,
    /// The elements: `{"keys": [...], "list": [...]}` as JSON text, in list order.
    pub elements: String,
    /// The `seq` of the step's own row; its items follow it.
    pub first_seq: i64,
    /// The `seq` of its last item.
    pub last_seq: i64,
}

/// Which items [`ClaimStore::claim_items`](super::ClaimStore::claim_items) takes: up to
/// `limit` items of the step with `after < seq <= last` that its [`ClaimRole`] may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemClaim {
    /// Who claims: the run's holder or a helper.
    pub role: ClaimRole,
    /// The run.
    pub run_id: RunId,
    /// The step.
    pub step_id: StepId,
    /// Who claims, a lease owner name.
    pub owner: String,
    /// How long the claims last unless renewed.
    pub ttl: Duration,
    /// Only items after this `seq` (a claimer walks the step once, then again from its start
    /// for items whose claims expired).
    pub after: i64,
    /// The `seq` of the step's last item.
    pub last: i64,
    /// The most items taken.
    pub limit: u32,
}

/// The live claims one owner holds on one step: what `sluice workers` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimSummary {
    /// The lease owner holding them.
    pub owner: String,
    /// The run.
    pub run_id: RunId,
    /// The step.
    pub step_id: StepId,
    /// How many items.
    pub items: u64,
    /// When the last of them runs out unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// Who claims items, which decides which items and in what order.
///
/// The run's holder walks the step's items from the first without claiming them (its run
/// lease covers items nobody claims, and costs no extra write per item), while helpers claim
/// from the last backwards; when the holder runs into items helpers took, it claims what is
/// left like them. An item the holder dispatched without a claim is its own until it settles:
/// helpers never take an unclaimed item in doubt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRole {
    /// The run's holder: open items (`pending`, `dispatching`, `in_flight`) nobody claims or
    /// whose claim expired, lowest `seq` first. Unclaimed items in doubt are left by a holder
    /// that died; it reconciles them.
    Holder,
    /// A helper: `pending` items nobody claims, and open items whose claim expired (those in
    /// doubt are looked up before anything is sent), highest `seq` first.
    Helper,
}

/// The items a [`ClaimRole`] may take, as SQL over the parameter `$now`: a literal, for
/// `concat!`.
macro_rules! claimable {
    (Holder, $now:literal) => {
        concat!(
            "state IN ('pending', 'dispatching', 'in_flight') \
             AND (claim_owner IS NULL OR claim_expires_at <= $",
            $now,
            ")"
        )
    };
    (Helper, $now:literal) => {
        concat!(
            "((state = 'pending' AND claim_owner IS NULL) \
             OR (state IN ('pending', 'dispatching', 'in_flight') AND claim_expires_at <= $",
            $now,
            "))"
        )
    };
}
pub(crate) use claimable;

/// The claim condition of every guarded step update, ` AND (…)`, over three parameters: the
/// writer's lease owner, now, and whether the writer holds the run (who may also write rows
/// nobody claims). A literal, so that statements stay `&'static str`.
macro_rules! claimed {
    ($owner:literal, $now:literal, $holds_run:literal) => {
        concat!(
            " AND ((claim_owner = $",
            $owner,
            " AND claim_expires_at > $",
            $now,
            ") OR (claim_owner IS NULL AND $",
            $holds_run,
            "))"
        )
    };
}
pub(crate) use claimed;

/// The [`StoreError::ClaimLost`] for `lease`'s write of `key`, a row claimed by `claim_owner`
/// until `expires_at`, when the writer may not write it as [`claimed!`] decides in SQL; `None`
/// when it may. Times are as the backend stores them (SQLite's fixed-width text orders as
/// time does).
pub(crate) fn claim_lost<T: PartialOrd>(
    key: &StepKey,
    lease: &Lease,
    (claim_owner, expires_at): (Option<String>, Option<T>),
    now: T,
) -> Option<StoreError> {
    let may_write = match (&claim_owner, expires_at) {
        (Some(by), Some(expires_at)) => *by == lease.owner && expires_at > now,
        _ => lease.holds_run(),
    };
    (!may_write).then(|| StoreError::ClaimLost {
        key: key.clone(),
        owner: lease.owner.clone(),
        holder: claim_owner,
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::*;

    #[test]
    fn the_claim_condition_names_its_parameters_and_matches_claim_lost() {
        assert_eq!(
            claimed!(4, 5, 6),
            " AND ((claim_owner = $4 AND claim_expires_at > $5) OR (claim_owner IS NULL AND $6))"
        );
        let now = Utc::now();
        let later = now + TimeDelta::seconds(1);
        let key = StepKey::item("run_a", "pay", "e1");
        let holder = Lease {
            run_id: "run_a".into(),
            owner: "w1".into(),
            expires_at: later,
            scope: super::super::run::LeaseScope::Run,
        };
        let helper = Lease::items("run_a", "w1");
        let lost = |lease: &Lease, owner: Option<&str>, expires_at| {
            claim_lost(&key, lease, (owner.map(str::to_owned), expires_at), now)
        };
        assert!(lost(&holder, None, None).is_none());
        assert!(lost(&helper, None, None).is_some());
        assert!(lost(&helper, Some("w1"), Some(later)).is_none());
        assert!(lost(&holder, Some("w1"), Some(now)).is_some());
        assert!(matches!(
            lost(&holder, Some("w2"), Some(later)),
            Some(StoreError::ClaimLost { owner, holder: Some(by), .. }) if owner == "w1" && by == "w2"
        ));
    }
}
