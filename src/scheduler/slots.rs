//! When a schedule fires: a cron expression read in an IANA time zone, turned into slot
//! instants in UTC, the missed-slot policy (`catch_up`), and each slot's deterministic run id.
//!
//! Pure: no clock, no store. The caller says what "now" is, which slot fired last, and since
//! when it has been watching; this module answers which slots are due.
//!
//! # Daylight-saving time
//!
//! The cron expression is matched against local wall-clock time, as cron does:
//!
//! - a local time that does not exist (the hour skipped when clocks go forward) does not
//!   fire: `30 2 * * *` in Europe/Berlin does not fire on 2026-03-29;
//! - a local time that happens twice (the hour repeated when clocks go back) fires once, at
//!   its first occurrence: `30 2 * * *` fires at 00:30 UTC on 2026-10-25, not again at 01:30;
//! - except that, as in cron, a schedule with `*` at the start of its minute or hour field
//!   (`*/15 * * * *`, `0 * * * *`, every second) is a rhythm, not an appointment: it keeps
//!   firing through the repeated hour, so "every 15 minutes" stays every 15 real minutes.
//!
//! The `cron` crate alone would fire an ambiguous local time twice and, iterating wall-clock
//! time, yields instants out of order inside a repeated hour; so the crate is only asked for
//! wall-clock times (in a zone without transitions) and this module maps each one to its
//! instants.

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use crate::ids::RunId;
use crate::plan::checks::schedule::{CronError, parse_cron};
use crate::spec::{CatchUp, Overlap, ScheduleConfig};

/// How far a daylight-saving transition can move local time. Real zones move by at most two
/// hours; near a transition the search looks this far around the instant asked about.
const TRANSITION_REACH: TimeDelta = TimeDelta::hours(3);

/// Why a `schedule:` block cannot be used. `plan::compile` reports both (E023, E024) with a
/// place in the file; these exist for callers that build a [`Schedule`] from an unchecked
/// config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The cron expression does not parse.
    #[error("invalid cron expression `{expr}`: {reason}")]
    Cron {
        /// The expression.
        expr: String,
        /// Why it was refused.
        reason: CronError,
    },
    /// The time zone is not an IANA name.
    #[error("unknown time zone `{0}`")]
    TimeZone(String),
}

/// A workflow's schedule, ready to compute slots.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: cron::Schedule,
    tz: Tz,
    /// `*` starts the minute or hour field: fire through a repeated hour (see the module docs).
    rhythm: bool,
    catch_up: CatchUp,
    overlap: Overlap,
}

impl Schedule {
    /// Reads a `schedule:` block.
    ///
    /// # Errors
    /// [`ScheduleError`] for a bad expression or time zone.
    pub fn new(config: &ScheduleConfig) -> Result<Self, ScheduleError> {
        let cron = parse_cron(&config.cron).map_err(|reason| ScheduleError::Cron {
            expr: config.cron.clone(),
            reason,
        })?;
        let tz = match &config.timezone {
            None => Tz::UTC,
            Some(name) => name
                .parse::<Tz>()
                .map_err(|_| ScheduleError::TimeZone(name.clone()))?,
        };
        // `parse_cron` always yields six fields, seconds first.
        let fields: Vec<&str> = cron.source().split_whitespace().collect();
        let rhythm = fields[1..3].iter().any(|f| f.starts_with('*'));
        Ok(Schedule {
            cron,
            tz,
            rhythm,
            catch_up: config.catch_up,
            overlap: config.overlap,
        })
    }

    /// The time zone the expression is read in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The missed-slot policy.
    pub fn catch_up(&self) -> CatchUp {
        self.catch_up
    }

    /// The overlap policy.
    pub fn overlap(&self) -> Overlap {
        self.overlap
    }

    /// The first slot strictly after `t`, if the expression has one (it may name only dates
    /// that never come, such as 30 February).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let reach = self.reach(t);
        let start = self.wall(t) - reach;
        let mut best: Option<(DateTime<Utc>, NaiveDateTime)> = None;
        for wall in self.cron.after(&Utc.from_utc_datetime(&start)) {
            let wall = wall.naive_utc();
            // Past `reach` beyond the best wall time, no later wall time maps to an earlier
            // instant (offsets differ by less than that).
            if best.is_some_and(|(_, at)| wall > at + reach) {
                break;
            }
            for slot in self.instants(wall) {
                if slot > t && best.is_none_or(|(b, _)| slot < b) {
                    best = Some((slot, wall));
                }
            }
        }
        best.map(|(slot, _)| slot)
    }

    /// The last slot strictly before `t`, if there is one.
    pub fn prev_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let reach = self.reach(t);
        let start = self.wall(t) + reach;
        let mut best: Option<(DateTime<Utc>, NaiveDateTime)> = None;
        for wall in self.cron.after(&Utc.from_utc_datetime(&start)).rev() {
            let wall = wall.naive_utc();
            if best.is_some_and(|(_, at)| wall < at - reach) {
                break;
            }
            for slot in self.instants(wall) {
                if slot < t && best.is_none_or(|(b, _)| slot > b) {
                    best = Some((slot, wall));
                }
            }
        }
        best.map(|(slot, _)| slot)
    }

    /// The slots after `t`, in order.
    pub fn upcoming(&self, t: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        std::iter::successors(self.next_after(t), |&slot| self.next_after(slot))
    }

    /// The slots due at `now`, oldest first, at most `limit` of them.
    ///
    /// `last` is the latest slot already fired (or skipped), from the store; `since` is when
    /// the caller started watching this schedule. Slots from `since` on came due while it
    /// watched: they are all due, however late. Slots after `last` but before `since` were
    /// missed while nothing watched: `catch_up` decides (`none`: dropped, `latest`: only the
    /// last one, `all`: every one). A schedule that never fired has nothing to catch up.
    pub fn due(
        &self,
        last: Option<DateTime<Utc>>,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut due = Vec::new();
        if let Some(last) = last {
            match self.catch_up {
                CatchUp::None => {}
                CatchUp::Latest => due.extend(self.prev_before(since).filter(|s| *s > last)),
                CatchUp::All => {
                    due.extend(self.upcoming(last).take_while(|s| *s < since).take(limit));
                }
            }
        }
        let watched_from = since - TimeDelta::nanoseconds(1);
        let from = last.map_or(watched_from, |last| last.max(watched_from));
        let room = limit.saturating_sub(due.len());
        due.extend(self.upcoming(from).take_while(|s| *s <= now).take(room));
        due
    }

    /// The slots [`due`](Self::due) passes over for good: those after `last` but before
    /// `since`, missed while nothing watched, that `catch_up` does not fire (`none`: every
    /// one, `latest`: all but the last, `all`: none). At most the `limit` latest of them,
    /// oldest first, and whether earlier ones were left out.
    pub fn missed(
        &self,
        last: Option<DateTime<Utc>>,
        since: DateTime<Utc>,
        limit: usize,
    ) -> (Vec<DateTime<Utc>>, bool) {
        let Some(last) = last else {
            return (Vec::new(), false);
        };
        let fired_late = match self.catch_up {
            CatchUp::All => return (Vec::new(), false),
            CatchUp::None => 0,
            CatchUp::Latest => 1,
        };
        let mut earlier =
            std::iter::successors(self.prev_before(since), |&slot| self.prev_before(slot))
                .take_while(|slot| *slot > last)
                .skip(fired_late);
        let mut missed: Vec<DateTime<Utc>> = earlier.by_ref().take(limit).collect();
        let more = earlier.next().is_some();
        missed.reverse();
        (missed, more)
    }

    /// The local wall-clock time at `t`.
    fn wall(&self, t: DateTime<Utc>) -> NaiveDateTime {
        self.tz.from_utc_datetime(&t.naive_utc()).naive_local()
    }

    /// How far around `t` a search must look: zero unless a transition is near, when wall
    /// time and UTC stop moving together.
    fn reach(&self, t: DateTime<Utc>) -> TimeDelta {
        let offset = |at: DateTime<Utc>| self.tz.offset_from_utc_datetime(&at.naive_utc()).fix();
        let here = offset(t);
        if offset(t - TRANSITION_REACH) == here && offset(t + TRANSITION_REACH) == here {
            TimeDelta::zero()
        } else {
            TRANSITION_REACH
        }
    }

    /// The instants at which local wall-clock time `wall` fires (module docs: none in a
    /// skipped hour, the first occurrence in a repeated one, both for a rhythm).
    fn instants(&self, wall: NaiveDateTime) -> impl Iterator<Item = DateTime<Utc>> {
        let (first, second) = match self.tz.from_local_datetime(&wall) {
            LocalResult::None => (None, None),
            LocalResult::Single(at) => (Some(at.to_utc()), None),
            LocalResult::Ambiguous(a, b) => {
                let (a, b) = (a.to_utc().min(b.to_utc()), a.to_utc().max(b.to_utc()));
                (Some(a), self.rhythm.then_some(b))
            }
        };
        first.into_iter().chain(second)
    }
}

/// The run id of a workflow's slot: `sched_<workflow>_<slot in UTC as 20261121T090000Z>`.
/// Deterministic, so every process that fires the slot names the same run and only one can
/// create it.
pub fn slot_run_id(workflow: &str, slot: DateTime<Utc>) -> RunId {
    format!("sched_{workflow}_{}", slot.format("%Y%m%dT%H%M%SZ")).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn schedule(cron: &str, tz: &str, catch_up: CatchUp) -> Schedule {
        Schedule::new(&ScheduleConfig {
            cron: cron.into(),
            timezone: Some(tz.into()),
            catch_up,
            overlap: Overlap::Allow,
            inputs: Default::default(),
        })
        .unwrap()
    }

    fn between(s: &Schedule, from: &str, to: &str) -> Vec<String> {
        s.upcoming(at(from))
            .take_while(|t| *t <= at(to))
            .map(|t| t.to_rfc3339())
            .collect()
    }

    #[test]
    fn a_skipped_local_time_does_not_fire() {
        // Europe/Berlin jumps from 02:00 CET to 03:00 CEST at 01:00 UTC on 2026-03-29.
        let s = schedule("30 2 * * *", "Europe/Berlin", CatchUp::All);
        assert_eq!(
            between(&s, "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z"),
            [
                "2026-03-27T01:30:00+00:00",
                "2026-03-28T01:30:00+00:00",
                "2026-03-30T00:30:00+00:00",
            ]
        );
        assert_eq!(
            s.prev_before(at("2026-03-30T00:00:00Z")),
            Some(at("2026-03-28T01:30:00Z"))
        );
        // An hourly rhythm loses the hour that does not exist and nothing else.
        let hourly = schedule("0 * * * *", "Europe/Berlin", CatchUp::All);
        assert_eq!(
            between(&hourly, "2026-03-28T23:30:00Z", "2026-03-29T02:00:00Z"),
            [
                "2026-03-29T00:00:00+00:00",
                "2026-03-29T01:00:00+00:00",
                "2026-03-29T02:00:00+00:00",
            ]
        );
    }

    #[test]
    fn a_repeated_local_time_fires_once_and_a_rhythm_keeps_its_pace() {
        // Europe/Berlin goes back from 03:00 CEST to 02:00 CET at 01:00 UTC on 2026-10-25:
        // 02:30 happens at 00:30 UTC and again at 01:30 UTC.
        let s = schedule("30 2 * * *", "Europe/Berlin", CatchUp::All);
        assert_eq!(
            between(&s, "2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z"),
            [
                "2026-10-24T00:30:00+00:00",
                "2026-10-25T00:30:00+00:00",
                "2026-10-26T01:30:00+00:00",
            ]
        );
        // Asked from inside the repeated hour, the second 02:30 is still not a slot.
        assert_eq!(
            s.next_after(at("2026-10-25T01:00:00Z")),
            Some(at("2026-10-26T01:30:00Z"))
        );
        assert_eq!(
            s.prev_before(at("2026-10-25T02:00:00Z")),
            Some(at("2026-10-25T00:30:00Z"))
        );

        // Every 30 minutes stays every 30 real minutes through both 02:xx hours, in order.
        let half = schedule("*/30 * * * *", "Europe/Berlin", CatchUp::All);
        assert_eq!(
            between(&half, "2026-10-24T23:45:00Z", "2026-10-25T02:00:00Z"),
            [
                "2026-10-25T00:00:00+00:00",
                "2026-10-25T00:30:00+00:00",
                "2026-10-25T01:00:00+00:00",
                "2026-10-25T01:30:00+00:00",
                "2026-10-25T02:00:00+00:00",
            ]
        );
        assert_eq!(
            half.prev_before(at("2026-10-25T01:10:00Z")),
            Some(at("2026-10-25T01:00:00Z"))
        );
        assert_eq!(
            half.prev_before(at("2026-10-25T01:00:00Z")),
            Some(at("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn five_and_six_fields_in_utc_and_elsewhere() {
        let utc = Schedule::new(&ScheduleConfig {
            cron: "0 9 * * FRI".into(),
            timezone: None,
            catch_up: CatchUp::Latest,
            overlap: Overlap::Skip,
            inputs: Default::default(),
        })
        .unwrap();
        assert_eq!(utc.timezone(), Tz::UTC);
        assert_eq!(
            utc.next_after(at("2026-11-16T00:00:00Z")),
            Some(at("2026-11-20T09:00:00Z"))
        );
        let tokyo = schedule("0 9 * * FRI", "Asia/Tokyo", CatchUp::Latest);
        assert_eq!(
            tokyo.next_after(at("2026-11-16T00:00:00Z")),
            Some(at("2026-11-20T00:00:00Z"))
        );
        let secondly = schedule("* * * * * *", "Europe/Berlin", CatchUp::Latest);
        assert_eq!(
            between(
                &secondly,
                "2026-10-25T00:59:58.500Z",
                "2026-10-25T01:00:01Z"
            ),
            [
                "2026-10-25T00:59:59+00:00",
                "2026-10-25T01:00:00+00:00",
                "2026-10-25T01:00:01+00:00",
            ]
        );
        let never = schedule("0 0 30 2 *", "UTC", CatchUp::Latest);
        assert_eq!(never.next_after(at("2026-01-01T00:00:00Z")), None);
        let bad = |cron: &str, tz: &str| {
            Schedule::new(&ScheduleConfig {
                cron: cron.into(),
                timezone: Some(tz.into()),
                catch_up: CatchUp::Latest,
                overlap: Overlap::Skip,
                inputs: Default::default(),
            })
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            bad("0 9 * * FRI", "Mars/Olympus"),
            "unknown time zone `Mars/Olympus`"
        );
        assert!(bad("0 9 * *", "UTC").starts_with("invalid cron expression `0 9 * *`: "));
    }

    #[test]
    fn catch_up_decides_what_happens_to_slots_missed_before_watching() {
        let last = Some(at("2026-11-21T09:00:00Z"));
        let since = at("2026-11-21T12:30:00Z");
        let now = at("2026-11-21T13:00:00Z");
        let due = |catch_up| {
            schedule("0 * * * *", "UTC", catch_up)
                .due(last, since, now, 100)
                .iter()
                .map(|t| t.format("%H:%M").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(due(CatchUp::None), ["13:00"]);
        assert_eq!(due(CatchUp::Latest), ["12:00", "13:00"]);
        assert_eq!(due(CatchUp::All), ["10:00", "11:00", "12:00", "13:00"]);

        let s = schedule("0 * * * *", "UTC", CatchUp::All);
        // Never fired: nothing to catch up; the slot at the very instant watching began is due.
        assert_eq!(
            s.due(None, at("2026-11-21T12:00:00Z"), now, 100),
            [at("2026-11-21T12:00:00Z"), at("2026-11-21T13:00:00Z")]
        );
        // A limit, and a clock that went back behind the last slot.
        assert_eq!(
            s.due(last, since, now, 2),
            [at("2026-11-21T10:00:00Z"), at("2026-11-21T11:00:00Z")]
        );
        assert!(
            s.due(Some(now), since, at("2026-11-21T12:00:00Z"), 100)
                .is_empty()
        );
    }

    #[test]
    fn missed_slots_are_those_catch_up_passes_over() {
        let last = Some(at("2026-11-21T09:00:00Z"));
        let since = at("2026-11-21T12:30:00Z");
        let missed = |catch_up, limit| {
            let (slots, more) = schedule("0 * * * *", "UTC", catch_up).missed(last, since, limit);
            let shown: Vec<String> = slots
                .iter()
                .map(|t| t.format("%H:%M").to_string())
                .collect();
            (shown, more)
        };
        assert_eq!(
            missed(CatchUp::None, 100),
            (vec!["10:00".into(), "11:00".into(), "12:00".into()], false)
        );
        // `latest` fires 12:00 late (see `due`): only the slots before it are missed.
        assert_eq!(
            missed(CatchUp::Latest, 100),
            (vec!["10:00".into(), "11:00".into()], false)
        );
        assert_eq!(missed(CatchUp::All, 100), (vec![], false));
        // A limit keeps the latest ones and says earlier ones were left out.
        assert_eq!(
            missed(CatchUp::None, 2),
            (vec!["11:00".into(), "12:00".into()], true)
        );
        // Never fired: nothing was missed.
        let s = schedule("0 * * * *", "UTC", CatchUp::None);
        assert_eq!(s.missed(None, since, 100), (vec![], false));
    }

    #[test]
    fn run_ids_name_the_workflow_and_the_slot_in_utc() {
        assert_eq!(
            slot_run_id("payroll", at("2026-11-21T09:00:00+01:00")),
            "sched_payroll_20261121T080000Z"
        );
    }
}
