//! The per-item write protocol as a deterministic state machine: no I/O, no clock, no store.
//!
//! [`call`](super::call) drives it for the executor, for helpers sharing a batch, after a
//! takeover or a resume, and after an operator's `retry` or `resolve --retry`: it performs the
//! [`Action`] the machine asks for and feeds back what happened as an [`Event`]. Everything
//! that decides whether a request may leave this process lives here, so that it can be read in
//! one place and tested against every interleaving (see the property tests below).
//!
//! The rules it encodes (the README's "What sluice promises under many workers"):
//! - **A fenced record before every money-moving send.** A write's first phase is preceded by
//!   its dispatch record, and every later phase (a two-phase commit) by a checkpoint record,
//!   written in this process right before the send. Both are fenced by the writer's run lease
//!   or item claim, so at most one live process can hold the right to send; a process whose
//!   record is refused ([`Event::Lost`]) gives up and records nothing.
//! - **In doubt, look it up.** A write that may have landed is looked up before anything is
//!   sent again; when the provider cannot tell, the item stops for an operator.
//! - **A refusal is never final while the object may exist.** A refused write whose provider
//!   object is known (a checkpoint, a recorded id) or that the provider refused as a conflict
//!   (HTTP 409) is looked up, and its state decides.
//! - **Operators cannot pay twice.** A redriven item that may have reached the provider is
//!   looked up first: found and not failed is recorded as succeeded; failed or absent is sent
//!   again with the same key; undecidable needs attention (unless the operator said it did not
//!   happen, `resolve --retry`).
//!
//! The records it asks for are the store's transitions ([`Transition`](crate::store::transition::Transition)):
//! [`Action::Dispatch`] is `Dispatch`, [`Action::Checkpoint`] is `Checkpoint`, and a verdict is
//! `Succeed`, `Fail` or `Attention`. The property tests run the machine against a store model
//! whose fence applies those same guards, so the protocol is proven against the states the
//! database actually allows.

/// Whether the item reads or writes (a read is asked again freely; a write never on a guess).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A provider read.
    Read,
    /// A provider write.
    Write,
}

/// Where the item stands when this process starts on it, from its stored row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Nothing was sent (`pending`).
    Fresh,
    /// Dispatched by a process that did not record the answer (`dispatching`): in doubt.
    InDoubt,
    /// The first phase of a two-phase write was recorded (`in_flight` with a checkpoint).
    Checkpointed,
    /// An operator sent it back after it may have reached the provider.
    Redrive(Redrive),
}

/// Which operator decision redrives an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redrive {
    /// `sluice retry --failed`: an item that failed may still have moved money.
    Retry,
    /// `sluice resolve --retry`: the operator checked and says it did not happen; a lookup
    /// that cannot tell is taken on the operator's word.
    Resolve,
}

/// A provider's answer to a send, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The operation is over; `failed` when the provider reports the object failed.
    Done {
        /// The object failed at the provider.
        failed: bool,
    },
    /// The first phase of a two-phase write is done; its checkpoint is to be recorded.
    Continue,
    /// Nothing was applied; the same request may be sent again.
    Retryable,
    /// It may have been applied.
    InDoubt,
    /// Refused by the provider, or by sluice before sending.
    Refused {
        /// The provider answered the refusal (an HTTP status); `false`: sluice refused it
        /// before anything was sent (bad input, an expired quote).
        sent: bool,
        /// The provider refused it as a conflict (HTTP 409): the object may exist already.
        conflict: bool,
    },
}

/// What a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The object exists and is past its last phase; `failed` when it failed.
    Done {
        /// The object failed at the provider.
        failed: bool,
    },
    /// The object exists and waits for its next phase (a pending quote that is still live).
    Continue,
    /// It was not applied.
    Absent,
    /// The provider cannot tell.
    Unknown,
    /// The lookup itself failed; `retryable` when asking again may help.
    Error {
        /// Asking again may help.
        retryable: bool,
    },
}

/// What happened to the last [`Action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The fenced record committed: this process may send.
    Recorded,
    /// The record was refused: another process holds the item (or the run), or it settled.
    Lost,
    /// The provider answered the send.
    Answered(Answer),
    /// The lookup answered.
    LookedUp(Found),
    /// The backoff is over.
    Waited,
    /// No further attempt fits the retry policy or the step's deadline.
    OutOfTime,
}

/// Why the item stops for an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// The lookup cannot tell whether the write landed.
    Undecided,
    /// Looking it up kept failing.
    LookupFailed,
    /// The provider does not find the object sluice recorded for the write.
    Vanished,
    /// The provider refused a write whose object it then did not find.
    RefusedNotFound,
    /// The provider refused the next phase again after a lookup said it still waits for it.
    RefusedAgain,
}

/// Why the item failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The provider refused it, and nothing of it exists.
    Refused,
    /// The provider reports the object failed.
    ObjectFailed,
    /// Retryable failures used up the attempts.
    Exhausted,
}

/// How the item ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Succeeded: from the answer to a send, or found by a lookup.
    Succeeded {
        /// Found by a lookup rather than answered.
        found: bool,
    },
    /// Failed for good.
    Failed(Failure),
    /// Stopped for an operator.
    Attention(Doubt),
}

/// What the driver does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Record the dispatch (fenced), then report [`Event::Recorded`] or [`Event::Lost`].
    Dispatch,
    /// Record the checkpoint the last answer or lookup returned (fenced), or the stored one
    /// again before a later phase is sent; then report [`Event::Recorded`] or [`Event::Lost`].
    Checkpoint,
    /// Send the request (its next phase, with the recorded checkpoint if any).
    Send,
    /// Look the request up at the provider.
    LookUp,
    /// Wait before try `tries` (of sends, or of lookups), as the retry policy says; report
    /// [`Event::Waited`], or [`Event::OutOfTime`] when the policy or the deadline is spent.
    Backoff {
        /// The failed tries so far.
        tries: u32,
    },
    /// Record the verdict and stop.
    Finish(Verdict),
    /// Stop without recording anything: another process has the item.
    GiveUp,
}

/// What the next [`Event::Recorded`] or backoff leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Send,
    Dispatch,
    Checkpoint,
    LookUp,
}

/// Why the current lookup was made, which decides what its answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// The last send from this process may have landed.
    InDoubt,
    /// A process before this one dispatched it and did not record the answer.
    Resumed,
    /// The provider refused a write whose object may exist.
    Refused,
    /// An operator redrove the item.
    Redrive(Redrive),
}

/// One item's protocol in one process.
#[derive(Debug, Clone)]
pub struct Item {
    kind: Kind,
    max_attempts: u32,
    /// A checkpoint is recorded: sends go to the later phase.
    checkpointed: bool,
    /// The provider object is known (a checkpoint or an id was recorded).
    object_known: bool,
    /// Failed sends of the current phase.
    tries: u32,
    /// Failed lookups in a row.
    lookup_tries: u32,
    /// The refusal that was looked up once already in this phase.
    refusal_looked_up: bool,
    why: Why,
    after: Next,
    done: bool,
}

impl Item {
    /// The machine for an item starting from `start`, and its first action. `object_known`
    /// says whether the stored row names a provider object (an id or a checkpoint).
    pub fn start(
        kind: Kind,
        max_attempts: u32,
        start: Start,
        object_known: bool,
    ) -> (Self, Action) {
        let mut item = Item {
            kind,
            max_attempts: max_attempts.max(1),
            checkpointed: start == Start::Checkpointed,
            object_known: object_known || start == Start::Checkpointed,
            tries: 0,
            lookup_tries: 0,
            refusal_looked_up: false,
            why: Why::InDoubt,
            after: Next::Send,
            done: false,
        };
        let first = match (kind, start) {
            (Kind::Read, _) => Action::Send,
            (Kind::Write, Start::Fresh) => item.then(Next::Dispatch),
            (Kind::Write, Start::InDoubt) => item.look_up(Why::Resumed),
            (Kind::Write, Start::Redrive(r)) => item.look_up(Why::Redrive(r)),
            // Another process recorded the checkpoint and may have sent the next phase: the
            // object is read first, and a checkpoint still waiting is recorded again, fenced,
            // before its phase is sent (that record is the right to send it, which only one
            // process can hold).
            (Kind::Write, Start::Checkpointed) => item.look_up(Why::Resumed),
        };
        (item, first)
    }

    /// Whether the machine has stopped.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The failed sends of the current phase.
    pub fn tries(&self) -> u32 {
        self.tries
    }

    /// Whether the next send goes to a later phase (with the recorded checkpoint).
    pub fn checkpointed(&self) -> bool {
        self.checkpointed
    }

    /// The next action after `event`.
    ///
    /// # Panics
    /// When called after the machine stopped: a driver bug.
    pub fn on(&mut self, event: Event) -> Action {
        assert!(!self.done, "the item's protocol has already stopped");
        let action = match event {
            Event::Lost => Action::GiveUp,
            Event::Recorded | Event::Waited => self.proceed(),
            Event::OutOfTime => self.out_of_time(),
            Event::Answered(answer) => self.answered(answer),
            Event::LookedUp(found) => self.looked_up(found),
        };
        self.done = matches!(action, Action::Finish(_) | Action::GiveUp);
        action
    }

    fn proceed(&mut self) -> Action {
        match self.after {
            Next::Send => Action::Send,
            Next::Dispatch => self.record(Action::Dispatch, Next::Send),
            Next::Checkpoint => self.record(Action::Checkpoint, Next::Send),
            Next::LookUp => Action::LookUp,
        }
    }

    fn out_of_time(&mut self) -> Action {
        match self.after {
            Next::LookUp => Action::Finish(Verdict::Attention(Doubt::LookupFailed)),
            _ => Action::Finish(Verdict::Failed(Failure::Exhausted)),
        }
    }

    fn answered(&mut self, answer: Answer) -> Action {
        match answer {
            Answer::Done { failed: false } => Action::Finish(Verdict::Succeeded { found: false }),
            Answer::Done { failed: true } => Action::Finish(Verdict::Failed(Failure::ObjectFailed)),
            Answer::Continue => {
                self.object_known = true;
                self.record_checkpoint()
            }
            Answer::Retryable => self.send_again(),
            Answer::InDoubt if self.kind == Kind::Read => self.send_again(),
            Answer::InDoubt => self.look_up(Why::InDoubt),
            Answer::Refused { sent, conflict } => self.refused(sent, conflict),
        }
    }

    /// A retryable failure (or a read in doubt): the same phase again after a backoff, behind
    /// a fresh fenced record for a write.
    fn send_again(&mut self) -> Action {
        self.tries += 1;
        self.after = match (self.kind, self.checkpointed) {
            (Kind::Read, _) => Next::Send,
            (Kind::Write, false) => Next::Dispatch,
            (Kind::Write, true) => Next::Checkpoint,
        };
        Action::Backoff { tries: self.tries }
    }

    fn refused(&mut self, sent: bool, conflict: bool) -> Action {
        let may_exist = self.kind == Kind::Write && sent && (self.object_known || conflict);
        if !may_exist {
            return Action::Finish(Verdict::Failed(Failure::Refused));
        }
        if self.refusal_looked_up {
            return Action::Finish(Verdict::Attention(Doubt::RefusedAgain));
        }
        self.refusal_looked_up = true;
        self.look_up(Why::Refused)
    }

    fn looked_up(&mut self, found: Found) -> Action {
        if !matches!(found, Found::Error { .. }) {
            self.lookup_tries = 0;
        }
        match found {
            Found::Done { failed: false } => Action::Finish(Verdict::Succeeded { found: true }),
            Found::Done { failed: true } if matches!(self.why, Why::Redrive(_)) => self.resend(),
            Found::Done { failed: true } => Action::Finish(Verdict::Failed(Failure::ObjectFailed)),
            Found::Continue => {
                self.object_known = true;
                self.record_checkpoint()
            }
            Found::Absent => match self.why {
                Why::Refused => Action::Finish(Verdict::Attention(Doubt::RefusedNotFound)),
                Why::InDoubt | Why::Resumed if self.object_known => {
                    Action::Finish(Verdict::Attention(Doubt::Vanished))
                }
                Why::InDoubt if self.tries + 1 >= self.max_attempts => {
                    self.tries += 1;
                    Action::Finish(Verdict::Failed(Failure::Exhausted))
                }
                Why::InDoubt | Why::Resumed | Why::Redrive(_) => self.resend(),
            },
            Found::Unknown if self.why == Why::Redrive(Redrive::Resolve) => self.resend(),
            Found::Unknown => Action::Finish(Verdict::Attention(Doubt::Undecided)),
            Found::Error { retryable: true } => {
                self.lookup_tries += 1;
                self.after = Next::LookUp;
                Action::Backoff {
                    tries: self.lookup_tries,
                }
            }
            Found::Error { retryable: false } => {
                Action::Finish(Verdict::Attention(Doubt::LookupFailed))
            }
        }
    }

    /// Sends the first phase again, with the same key, behind a new dispatch record.
    fn resend(&mut self) -> Action {
        if self.why == Why::InDoubt {
            self.tries += 1;
        }
        self.checkpointed = false;
        self.refusal_looked_up = false;
        self.record(Action::Dispatch, Next::Send)
    }

    /// Records the checkpoint just learnt of; the next phase starts with attempts of its own.
    fn record_checkpoint(&mut self) -> Action {
        if !self.checkpointed {
            self.tries = 0;
            self.refusal_looked_up = false;
        }
        self.checkpointed = true;
        self.record(Action::Checkpoint, Next::Send)
    }

    fn look_up(&mut self, why: Why) -> Action {
        self.why = why;
        self.after = Next::LookUp;
        Action::LookUp
    }

    fn record(&mut self, record: Action, then: Next) -> Action {
        self.after = then;
        record
    }

    fn then(&mut self, next: Next) -> Action {
        self.after = next;
        self.proceed()
    }
}

#[cfg(test)]
mod tests;
