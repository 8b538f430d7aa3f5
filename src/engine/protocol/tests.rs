//! The protocol against a model of the store's fence and of a two-phase provider without
//! idempotency keys (Whalestack's transfers: a create makes a new quote every time, a commit of
//! an object already committed is refused), under every interleaving of processes, kills,
//! lost answers and operator retries that proptest draws.

use proptest::prelude::*;

use super::*;
use crate::store::StepState;
use crate::store::transition::Transition;

/// A provider object of the item's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Obj {
    Quote,
    Moved,
    Failed,
}

/// The item's stored row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Pending,
    Dispatching,
    InFlight(usize),
    Succeeded,
    Failed,
    Attention,
}

impl Row {
    fn settled(self) -> bool {
        matches!(self, Row::Succeeded | Row::Failed | Row::Attention)
    }

    /// The stored state, so the model's fence applies the store's own guards
    /// ([`Transition::allows`]).
    fn state(self) -> StepState {
        match self {
            Row::Pending => StepState::Pending,
            Row::Dispatching => StepState::Dispatching,
            Row::InFlight(_) => StepState::InFlight,
            Row::Succeeded => StepState::Succeeded,
            Row::Failed => StepState::Failed,
            Row::Attention => StepState::NeedsAttention,
        }
    }
}

/// One process working on the item.
#[derive(Debug)]
struct Proc {
    item: Item,
    next: Action,
    /// The object the next send continues (from a checkpoint or a lookup).
    object: Option<usize>,
    /// The object the last answer or lookup named, to be recorded by the next checkpoint.
    learnt: Option<usize>,
    alive: bool,
}

#[derive(Debug, Default)]
struct World {
    objects: Vec<Obj>,
    row: Option<Row>,
    /// Who holds the item's claim (or the run lease covering it): the fence.
    owner: Option<usize>,
    /// The object a stored checkpoint or id names.
    recorded: Option<usize>,
    redrive: Option<Redrive>,
    procs: Vec<Proc>,
}

const MAX_ATTEMPTS: u32 = 3;

impl World {
    fn new() -> Self {
        World {
            row: Some(Row::Pending),
            ..World::default()
        }
    }

    fn row(&self) -> Row {
        self.row.expect("the row exists")
    }

    /// A process starts on the item from the row as it reads it now; it holds the fence only
    /// when nobody live does (a claim taken, or a run taken over).
    fn start(&mut self) {
        let row = self.row();
        if row.settled() {
            return;
        }
        let id = self.procs.len();
        if self.owner.is_none_or(|o| !self.procs[o].alive) {
            self.owner = Some(id);
        }
        let start = match (row, self.redrive) {
            (Row::Pending, _) => Start::Fresh,
            (Row::Dispatching, Some(r)) => Start::Redrive(r),
            (Row::Dispatching, None) => Start::InDoubt,
            (Row::InFlight(_), _) => Start::Checkpointed,
            _ => unreachable!(),
        };
        let object = match row {
            Row::InFlight(o) => Some(o),
            _ => None,
        };
        let (item, next) = Item::start(Kind::Write, MAX_ATTEMPTS, start, self.recorded.is_some());
        self.procs.push(Proc {
            item,
            next,
            object,
            learnt: None,
            alive: true,
        });
    }

    /// Whether process `id` may make `change` now: it holds the fence and the row's state
    /// passes the store's guard.
    fn fenced(&self, id: usize, change: Transition) -> bool {
        self.owner == Some(id) && change.allows(self.row().state())
    }

    /// Performs process `id`'s next action, with `fault` choosing the provider's behaviour.
    fn step(&mut self, id: usize, fault: u8) -> Result<(), TestCaseError> {
        let p = &self.procs[id];
        if !p.alive {
            return Ok(());
        }
        let event = match p.next {
            Action::Dispatch => self.dispatch(id),
            Action::Checkpoint => self.checkpoint(id),
            Action::Send => self.send(id, fault)?,
            Action::LookUp => self.look_up(id, fault),
            Action::Backoff { tries } if tries >= MAX_ATTEMPTS => Event::OutOfTime,
            Action::Backoff { .. } => Event::Waited,
            Action::Finish(verdict) => {
                self.finish(id, verdict);
                return Ok(());
            }
            Action::GiveUp => {
                self.procs[id].alive = false;
                return Ok(());
            }
        };
        let p = &mut self.procs[id];
        p.next = p.item.on(event);
        Ok(())
    }

    fn dispatch(&mut self, id: usize) -> Event {
        if !self.fenced(id, Transition::Dispatch) {
            return Event::Lost;
        }
        self.row = Some(Row::Dispatching);
        self.redrive = None;
        self.procs[id].object = None;
        Event::Recorded
    }

    fn checkpoint(&mut self, id: usize) -> Event {
        let ok = self.fenced(id, Transition::Checkpoint);
        let p = &mut self.procs[id];
        let object = p.learnt.take().or(p.object);
        match object {
            Some(o) if ok => {
                p.object = Some(o);
                self.row = Some(Row::InFlight(o));
                self.recorded = Some(o);
                Event::Recorded
            }
            _ => Event::Lost,
        }
    }

    /// Sends the next phase. Faults: 0 lost before the provider, 1 lost after it applied,
    /// 2 refused as invalid (first phase only), 3 retryable.
    fn send(&mut self, id: usize, fault: u8) -> Result<Event, TestCaseError> {
        let fault = fault % 8;
        if fault == 0 {
            return Ok(Event::Answered(Answer::InDoubt));
        }
        if fault == 3 {
            return Ok(Event::Answered(Answer::Retryable));
        }
        let answer = match self.procs[id].object {
            None if fault == 2 => Answer::Refused {
                sent: true,
                conflict: false,
            },
            None => {
                prop_assert!(
                    self.objects.iter().all(|o| *o == Obj::Failed),
                    "a create was sent while an object of the key lives: {:?}",
                    self.objects
                );
                self.objects.push(Obj::Quote);
                self.procs[id].learnt = Some(self.objects.len() - 1);
                Answer::Continue
            }
            Some(o) => match self.objects[o] {
                Obj::Quote => {
                    self.objects[o] = Obj::Moved;
                    Answer::Done { failed: false }
                }
                // Whalestack would refuse it ("transfer … is PROCESSING, not
                // PENDING_API_COMMIT"), but no process may send it twice in the first place.
                Obj::Moved => {
                    prop_assert!(false, "a commit was sent twice");
                    unreachable!()
                }
                Obj::Failed => Answer::Done { failed: true },
            },
        };
        prop_assert!(
            self.objects.iter().filter(|o| **o == Obj::Moved).count() <= 1,
            "money moved twice"
        );
        Ok(if fault == 1 {
            Event::Answered(Answer::InDoubt)
        } else {
            Event::Answered(answer)
        })
    }

    /// Looks the key up. Faults: 0 a retryable error, 1 the provider cannot tell.
    fn look_up(&mut self, id: usize, fault: u8) -> Event {
        match fault % 10 {
            0 => return Event::LookedUp(Found::Error { retryable: true }),
            1 => return Event::LookedUp(Found::Unknown),
            _ => {}
        }
        let latest = self.objects.len().checked_sub(1);
        let p = &mut self.procs[id];
        let found = match latest.map(|o| (o, self.objects[o])) {
            None => Found::Absent,
            Some((o, Obj::Quote)) => {
                p.learnt = Some(o);
                Found::Continue
            }
            Some((_, Obj::Moved)) => Found::Done { failed: false },
            Some((_, Obj::Failed)) => Found::Done { failed: true },
        };
        Event::LookedUp(found)
    }

    fn finish(&mut self, id: usize, verdict: Verdict) {
        let (change, row) = match verdict {
            Verdict::Succeeded { .. } => (Transition::Succeed, Row::Succeeded),
            Verdict::Failed(_) => (Transition::Fail, Row::Failed),
            Verdict::Attention(_) => (Transition::Attention, Row::Attention),
        };
        if self.fenced(id, change) {
            self.row = Some(row);
        }
        // The driver stops after recording; the machine is done already.
        self.procs[id].alive = false;
    }

    fn kill(&mut self, id: usize) {
        if let Some(p) = self.procs.get_mut(id) {
            p.alive = false;
        }
    }

    /// Runs one fresh process to its end with a provider that answers plainly.
    fn settle(&mut self) -> Result<(), TestCaseError> {
        for p in &mut self.procs {
            p.alive = false;
        }
        self.start();
        let id = self.procs.len() - 1;
        for _ in 0..100 {
            if self.row().settled() || !self.procs[id].alive {
                break;
            }
            self.step(id, 7)?;
        }
        Ok(())
    }

    /// An operator retries a failed item: redriven behind a lookup when an object may exist.
    fn operator_retry(&mut self) {
        match self.row() {
            Row::Failed if self.recorded.is_some() => {
                self.row = Some(Row::Dispatching);
                self.redrive = Some(Redrive::Retry);
            }
            Row::Failed => self.row = Some(Row::Pending),
            Row::Attention => {
                self.row = Some(Row::Dispatching);
                self.redrive = Some(Redrive::Resolve);
            }
            _ => {}
        }
    }

    fn moved(&self) -> usize {
        self.objects.iter().filter(|o| **o == Obj::Moved).count()
    }

    /// The row agrees with the provider: succeeded means paid once, failed means not paid.
    fn agrees(&self) -> Result<(), TestCaseError> {
        match self.row() {
            Row::Succeeded => prop_assert_eq!(self.moved(), 1, "succeeded but {:?}", self.objects),
            Row::Failed => prop_assert_eq!(self.moved(), 0, "failed but {:?}", self.objects),
            _ => {}
        }
        Ok(())
    }
}

/// A move of the schedule: which process does what, and the provider's fault byte.
#[derive(Debug, Clone, Copy)]
enum Move {
    Step(usize, u8),
    Kill(usize),
    Start,
}

fn moves() -> impl Strategy<Value = Vec<Move>> {
    let one = prop_oneof![
        8 => (0..3usize, any::<u8>()).prop_map(|(p, f)| Move::Step(p, f)),
        1 => (0..3usize).prop_map(Move::Kill),
        1 => Just(Move::Start),
    ];
    proptest::collection::vec(one, 1..80)
}

fn play(moves: &[Move]) -> Result<World, TestCaseError> {
    let mut world = World::new();
    world.start();
    for m in moves {
        match *m {
            Move::Step(p, fault) if p < world.procs.len() => world.step(p, fault)?,
            Move::Step(..) => {}
            Move::Kill(p) => world.kill(p),
            Move::Start if world.procs.len() < 6 => world.start(),
            Move::Start => {}
        }
    }
    Ok(world)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any interleaving of processes (a live one and stale ones that read the row earlier),
    /// kills and lost or refused answers: money moves at most once, a create never goes out
    /// while an object of the key lives, and once settled the row agrees with the provider.
    #[test]
    fn never_twice_and_the_record_agrees(moves in moves()) {
        let mut world = play(&moves)?;
        world.settle()?;
        world.agrees()?;
        // An operator retries what failed or needs attention, and the item settles again.
        world.operator_retry();
        world.settle()?;
        world.agrees()?;
        prop_assert!(world.moved() <= 1);
    }
}

#[test]
fn a_commit_refused_because_it_already_happened_is_looked_up_and_succeeds() {
    let (mut item, first) = Item::start(Kind::Write, 3, Start::Checkpointed, true);
    assert_eq!(first, Action::LookUp);
    assert_eq!(
        item.on(Event::LookedUp(Found::Continue)),
        Action::Checkpoint
    );
    assert_eq!(item.on(Event::Recorded), Action::Send);
    let refused = Answer::Refused {
        sent: true,
        conflict: false,
    };
    assert_eq!(item.on(Event::Answered(refused)), Action::LookUp);
    assert_eq!(
        item.on(Event::LookedUp(Found::Done { failed: false })),
        Action::Finish(Verdict::Succeeded { found: true })
    );
}

#[test]
fn a_refusal_sluice_made_before_sending_fails_without_a_lookup() {
    let (mut item, _) = Item::start(Kind::Write, 3, Start::Checkpointed, true);
    item.on(Event::LookedUp(Found::Continue));
    item.on(Event::Recorded);
    // The quote expired by sluice's clock: nothing was sent, nothing can have moved.
    let expired = Answer::Refused {
        sent: false,
        conflict: false,
    };
    assert_eq!(
        item.on(Event::Answered(expired)),
        Action::Finish(Verdict::Failed(Failure::Refused))
    );
}

#[test]
fn a_stale_process_that_lost_the_item_sends_nothing() {
    let (mut item, first) = Item::start(Kind::Write, 3, Start::Checkpointed, true);
    assert_eq!(first, Action::LookUp);
    assert_eq!(
        item.on(Event::LookedUp(Found::Continue)),
        Action::Checkpoint
    );
    assert_eq!(item.on(Event::Lost), Action::GiveUp);
    assert!(item.is_done());
}

#[test]
fn a_refused_create_of_an_unknown_object_fails_at_once() {
    let (mut item, first) = Item::start(Kind::Write, 3, Start::Fresh, false);
    assert_eq!(first, Action::Dispatch);
    assert_eq!(item.on(Event::Recorded), Action::Send);
    let refused = Answer::Refused {
        sent: true,
        conflict: false,
    };
    assert_eq!(
        item.on(Event::Answered(refused)),
        Action::Finish(Verdict::Failed(Failure::Refused))
    );
}

#[test]
fn a_conflict_is_looked_up_even_without_a_known_object() {
    let (mut item, _) = Item::start(Kind::Write, 3, Start::Fresh, false);
    item.on(Event::Recorded);
    let conflict = Answer::Refused {
        sent: true,
        conflict: true,
    };
    assert_eq!(item.on(Event::Answered(conflict)), Action::LookUp);
    assert_eq!(
        item.on(Event::LookedUp(Found::Absent)),
        Action::Finish(Verdict::Attention(Doubt::RefusedNotFound))
    );
}

#[test]
fn an_operator_retry_records_a_found_object_and_resends_a_failed_one() {
    let (mut item, first) = Item::start(Kind::Write, 3, Start::Redrive(Redrive::Retry), true);
    assert_eq!(first, Action::LookUp);
    assert_eq!(
        item.on(Event::LookedUp(Found::Done { failed: false })),
        Action::Finish(Verdict::Succeeded { found: true })
    );
    let (mut item, _) = Item::start(Kind::Write, 3, Start::Redrive(Redrive::Retry), true);
    assert_eq!(
        item.on(Event::LookedUp(Found::Done { failed: true })),
        Action::Dispatch
    );
    let (mut item, _) = Item::start(Kind::Write, 3, Start::Redrive(Redrive::Retry), true);
    assert_eq!(
        item.on(Event::LookedUp(Found::Unknown)),
        Action::Finish(Verdict::Attention(Doubt::Undecided))
    );
    let (mut item, _) = Item::start(Kind::Write, 3, Start::Redrive(Redrive::Resolve), true);
    assert_eq!(item.on(Event::LookedUp(Found::Unknown)), Action::Dispatch);
}
