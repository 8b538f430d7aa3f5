//! The store's behaviour, tested once and run against every backend: each test below runs as
//! `store::conformance::sqlite::…` on a fresh SQLite file and as
//! `store::conformance::postgres::…` in a fresh Postgres schema (see
//! [`TestSchema`](super::postgres::testing::TestSchema) for when those run or skip).
//!
//! Tests take an [`Env`]: the store under test, the manual clock it reads, and a way to open a
//! second handle on the same database, as a second process would. What only one backend has
//! (a SQLite file that is not a database, a Postgres URL's password) is tested beside that
//! backend.

mod claims;
mod discrepancies;
mod env;
mod events;
pub(crate) mod fixtures;
mod notifications;
mod operator;
mod retention;
mod runs;
mod schedule;
mod settlements;
mod steps;
mod workers;

pub(crate) use env::Env;

/// Instantiates every listed test once per backend.
macro_rules! conformance {
    ($($module:ident { $($test:ident),* $(,)? })*) => {
        mod sqlite {
            $(mod $module {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $test() {
                        let env = crate::store::conformance::Env::sqlite().await;
                        crate::store::conformance::$module::$test(&env).await;
                        env.finish().await;
                    }
                )*
            })*
        }

        mod postgres {
            $(mod $module {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $test() {
                        let Some(env) = crate::store::conformance::Env::postgres().await else {
                            return;
                        };
                        crate::store::conformance::$module::$test(&env).await;
                        env.finish().await;
                    }
                )*
            })*
        }
    };
}

conformance! {
    runs {
        creates_a_run_with_ten_thousand_items_and_loads_them_in_plan_order,
        refuses_duplicate_runs_and_steps_without_writing_anything,
        lists_runs_newest_first_by_workflow_and_status,
        one_process_holds_a_run_and_the_other_learns_who,
        an_expired_lease_lets_another_process_take_over,
        a_dead_holders_lease_is_taken_over_only_from_that_holder,
        workers_claim_the_oldest_free_run_once,
        claims_pass_over_held_excluded_and_other_status_runs,
        concurrent_claimers_never_get_the_same_run,
        writers_on_two_handles_take_turns_and_one_wins_a_lease_race,
    }
    steps {
        group_commit_dispatch_then_results,
        only_the_lease_holder_may_dispatch,
        an_item_in_doubt_is_resent_only_with_the_same_request,
        two_phase_checkpoints_retries_and_attention,
        waiting_and_skipping,
        two_handles_finishing_one_step_cannot_both_succeed,
        batches_in_opposite_orders_from_two_handles_both_commit,
        one_batch_commits_every_kind_of_write_together,
        a_batch_with_one_refused_write_writes_nothing,
        every_batch_is_fenced_by_its_runs_lease,
        a_failed_write_whose_object_is_known_is_redriven_behind_a_lookup,
        a_steps_items_are_read_a_page_at_a_time,
        totals_by_state_and_asset_are_exact_whatever_the_scale_or_size,
    }
    events {
        an_event_wakes_its_waiter_in_the_same_transaction_and_a_duplicate_changes_nothing,
        an_event_that_arrives_before_its_waiter_is_found_and_matched_later,
        one_delivery_received_twice_at_once_is_stored_and_wakes_once,
    }
    notifications {
        a_status_change_owes_its_notifications_once_and_claims_fence_deliveries,
        serve_routes_join_a_run_once_and_its_later_changes_owe_them,
    }
    operator {
        approval_is_recorded_with_who_when_and_why,
        approvals_are_judged_by_the_policy_the_row_records,
        a_denial_fails_the_step_and_the_run,
        resolving_items_in_doubt,
        cancel_keeps_steps_in_doubt_and_retry_redrives_failures,
        a_resume_is_recorded_without_changing_a_step_and_refused_once_finished,
    }
    retention {
        prunes_only_runs_finished_before_the_date,
    }
    schedule {
        a_slot_is_claimed_once_across_two_handles,
        a_slot_run_is_created_with_its_claim_or_not_at_all,
        a_slot_fired_from_two_handles_at_once_starts_one_run,
        a_slot_that_cannot_start_is_claimed_with_a_failed_run,
        every_slot_says_what_became_of_it,
        missed_slots_owe_one_notification_with_their_record_once,
    }
    settlements {
        a_settlement_is_recorded_once_and_a_failure_after_commit_is_owed,
    }
    discrepancies {
        a_discrepancy_is_recorded_once_while_open_and_cleared_by_a_match,
        a_dismissal_clears_one_case_with_its_audit_row_and_keeps_it_closed,
    }
    workers {
        workers_report_heartbeats_expire_and_leave,
        notices_name_free_runs_and_woken_steps_on_postgres_only,
    }
    claims {
        claims_take_open_items_in_order_and_pass_over_live_claims,
        helpers_claim_from_the_end_and_leave_unclaimed_items_in_doubt,
        claims_fence_every_write_to_a_shared_item,
        shared_steps_are_published_replaced_withdrawn_and_listed_while_open,
        claims_are_renewed_by_heartbeats_and_given_back_on_release,
        concurrent_workers_each_take_and_settle_their_own_items,
        sharing_a_step_notifies_workers_on_postgres_only,
    }
}
