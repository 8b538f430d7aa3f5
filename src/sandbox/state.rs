//! The sandbox's state: one lock around every provider's objects, the books and the timers.
//!
//! Handlers reach it through [`Shared::with_world`], which first runs every transition that
//! has become due on the sandbox clock, then the handler's closure, then hands the webhooks
//! queued meanwhile to the dispatcher once the lock is released. Lock hold times are short:
//! no I/O happens under it.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tokio::sync::mpsc;

use super::clock::Clock;
use super::config::{SandboxConfig, default_balances};
use super::faults::FaultState;
use super::ledger::{Books, Insufficient, Posting};
use super::prices::Prices;
use super::timers::{Due, Timers};
use super::webhooks::{Delivery, Outbound};
use super::{http, whalestack, white, whitepay, whitestones};
use crate::catalog::ProviderKind;

/// What every handler needs besides the state: the time, the config and the prices.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The sandbox time of the change being made.
    pub now: DateTime<Utc>,
    /// The configuration.
    pub config: &'a SandboxConfig,
    /// The price table.
    pub prices: &'a Prices,
    /// `http://HOST:PORT` of this sandbox, for URLs in responses.
    pub origin: &'a str,
}

impl Ctx<'_> {
    /// The same context at another time.
    pub fn at(&self, now: DateTime<Utc>) -> Self {
        Ctx { now, ..*self }
    }

    /// `now` plus a sandbox delay.
    pub fn after(&self, delay: std::time::Duration) -> DateTime<Utc> {
        self.now + super::clock::chrono_duration(delay)
    }
}

/// Every object of every provider, the books, the timers and the webhooks waiting to go out.
#[derive(Debug)]
pub struct World {
    /// Balances and ledger.
    pub books: Books,
    /// Transitions waiting for their time.
    pub timers: Timers,
    /// Webhooks queued under the lock, sent after it is released.
    pub outbox: Vec<Outbound>,
    /// Object ids whose next transition must fail (`POST /__sandbox/outcomes`).
    pub forced_failures: HashSet<String>,
    /// Whalestack objects.
    pub whalestack: whalestack::State,
    /// White Payments objects.
    pub white: white::State,
    /// WHITESTONES objects.
    pub whitestones: whitestones::State,
    /// Whitepay objects.
    pub whitepay: whitepay::State,
    /// The generic API's objects.
    pub http: http::State,
}

impl World {
    /// A fresh world at `now` with the configured opening balances.
    pub fn new(config: &SandboxConfig, now: DateTime<Utc>) -> Self {
        let mut merged = default_balances();
        for (kind, rows) in &config.balances {
            let table = merged.entry(*kind).or_default();
            for (code, amount) in rows {
                table.insert(code.to_ascii_uppercase(), *amount);
            }
        }
        let mut opening = Vec::new();
        for (kind, rows) in merged {
            for (code, amount) in rows {
                let account = match kind {
                    ProviderKind::Whalestack => whalestack::catalog::asset_id(&code)
                        .map(str::to_string)
                        .unwrap_or(code),
                    _ => code,
                };
                opening.push((kind, account, amount));
            }
        }
        World {
            books: Books::opening(now, &opening),
            timers: Timers::default(),
            outbox: Vec::new(),
            forced_failures: HashSet::new(),
            whalestack: whalestack::State::default(),
            white: white::State::default(),
            whitestones: whitestones::State::default(),
            whitepay: whitepay::State::default(),
            http: http::State::default(),
        }
    }

    /// Records a movement at `cx.now`.
    ///
    /// # Errors
    /// [`Insufficient`] when a debit exceeds the balance; nothing is recorded then.
    pub fn post(&mut self, cx: &Ctx<'_>, posting: Posting<'_>) -> Result<(), Insufficient> {
        self.books.post(cx.now, posting)
    }

    /// Queues a webhook.
    pub fn emit(
        &mut self,
        provider: ProviderKind,
        event: &str,
        object_id: &str,
        url: Option<String>,
        body: &serde_json::Value,
    ) {
        self.outbox.push(Outbound {
            provider,
            event: event.to_string(),
            object_id: object_id.to_string(),
            url,
            body: serde_json::to_vec(body).unwrap_or_default(),
        });
    }

    /// Whether the next transition of `id` was told to fail; clears the mark.
    pub fn take_forced_failure(&mut self, id: &str) -> bool {
        self.forced_failures.remove(id)
    }

    /// Runs every transition due at or before `cx.now`, each at its own due time.
    pub fn run_due(&mut self, cx: &Ctx<'_>) {
        while let Some((at, due)) = self.timers.pop_due(cx.now) {
            let cx = cx.at(at);
            match due {
                Due::CheckoutSettle(id) => whalestack::checkouts::settle(self, &cx, &id),
                Due::CheckoutExpiry(id) => whalestack::checkouts::expire(self, &cx, &id),
                Due::Swap(id) => whalestack::swaps::finish(self, &cx, &id),
                Due::Transfer(id) => whalestack::transfers::finish(self, &cx, &id),
                Due::Deposit(id) => whalestack::deposits::finish(self, &cx, &id),
                Due::Payment(id) => whitestones::intents::finish(self, &cx, &id),
                Due::Payout(id) => whitestones::payouts::finish(self, &cx, &id),
                Due::Conversion(id) => whitepay::conversions::step(self, &cx, &id),
                Due::AutoPay(id) => auto_pay(self, &cx, &id),
            }
        }
    }
}

/// The sandbox, playing the customer, pays what is still open.
fn auto_pay(world: &mut World, cx: &Ctx<'_>, id: &str) {
    let ratio = cx
        .config
        .auto_pay
        .as_ref()
        .map_or(Decimal::ONE, |a| a.ratio);
    if world.whitestones.intents.get(id).is_some() {
        whitestones::intents::auto_pay(world, cx, id, ratio);
    } else {
        whalestack::checkouts::auto_pay(world, cx, id, ratio);
    }
}

/// Everything the server's tasks share.
#[derive(Debug)]
pub struct Shared {
    /// The configuration the sandbox started with.
    pub config: SandboxConfig,
    /// Prices derived from the configuration.
    pub prices: Prices,
    /// The sandbox clock.
    pub clock: Clock,
    /// `http://HOST:PORT`.
    pub origin: String,
    world: Mutex<World>,
    faults: Mutex<FaultState>,
    deliveries: Mutex<Vec<Delivery>>,
    rate_windows: Mutex<BTreeMap<String, (i64, u32)>>,
    outbox_tx: mpsc::UnboundedSender<Outbound>,
    requests: Mutex<Vec<RequestSeen>>,
}

/// A request to a provider API as the sandbox answered it, for tests that count calls.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RequestSeen {
    /// `GET`, `POST`, ….
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The status answered (an injected fault's included).
    pub status: u16,
}

/// The most requests the log keeps; older ones are dropped first.
const REQUESTS_KEPT: usize = 100_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a handler poisons the lock but leaves the state usable: each change is
    // made in one step under the lock.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// The shared state for a sandbox at `origin`, sending webhooks to `outbox_tx`.
    pub fn new(
        config: SandboxConfig,
        origin: String,
        outbox_tx: mpsc::UnboundedSender<Outbound>,
    ) -> Self {
        let prices = Prices::new(&config.prices);
        let clock = Clock::new(config.speed);
        let faults = FaultState::new(config.faults.clone());
        Shared {
            world: Mutex::new(World::new(&config, clock.now())),
            faults: Mutex::new(faults),
            deliveries: Mutex::new(Vec::new()),
            rate_windows: Mutex::new(BTreeMap::new()),
            requests: Mutex::new(Vec::new()),
            config,
            prices,
            clock,
            origin,
            outbox_tx,
        }
    }

    fn ctx(&self, now: DateTime<Utc>) -> Ctx<'_> {
        Ctx {
            now,
            config: &self.config,
            prices: &self.prices,
            origin: &self.origin,
        }
    }

    /// Runs `f` on the world at the current sandbox time, after every due transition, and
    /// sends the webhooks it queued once the lock is released.
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World, &Ctx<'_>) -> R) -> R {
        let cx = self.ctx(self.clock.now());
        let (result, outbox) = {
            let mut world = lock(&self.world);
            world.run_due(&cx);
            let result = f(&mut world, &cx);
            // A change may schedule something due at once (a zero delay).
            world.run_due(&cx);
            (result, std::mem::take(&mut world.outbox))
        };
        for event in outbox {
            // The dispatcher is gone only during shutdown, when nothing needs delivering.
            let _ = self.outbox_tx.send(event);
        }
        result
    }

    /// Moves the sandbox clock forward and runs what became due; returns the new time.
    pub fn advance(&self, by: std::time::Duration) -> DateTime<Utc> {
        let now = self.clock.advance(by);
        self.with_world(|_, _| ());
        now
    }

    /// Back to the starting state: objects, balances, ledger, faults and the delivery log.
    /// The clock keeps running where it is.
    pub fn reset(&self) {
        *lock(&self.world) = World::new(&self.config, self.clock.now());
        *lock(&self.faults) = FaultState::new(self.config.faults.clone());
        lock(&self.deliveries).clear();
        lock(&self.rate_windows).clear();
        lock(&self.requests).clear();
    }

    /// Logs a provider API request.
    pub fn saw(&self, request: RequestSeen) {
        let mut requests = lock(&self.requests);
        if requests.len() >= REQUESTS_KEPT {
            requests.drain(..REQUESTS_KEPT / 10);
        }
        requests.push(request);
    }

    /// The provider API requests answered so far, oldest first.
    pub fn requests(&self) -> Vec<RequestSeen> {
        lock(&self.requests).clone()
    }

    /// The live fault rules.
    pub fn lock_faults(&self) -> MutexGuard<'_, FaultState> {
        lock(&self.faults)
    }

    /// The webhook delivery log.
    pub fn lock_deliveries(&self) -> MutexGuard<'_, Vec<Delivery>> {
        lock(&self.deliveries)
    }

    /// Counts a request against the per-second limit of `key`; `Err(seconds to wait)` once
    /// `limit` requests were already made in the current second.
    pub fn take_rate(&self, key: &str, limit: u32) -> Result<(), u64> {
        let now = Clock::wall_unix();
        let mut windows = lock(&self.rate_windows);
        let window = windows.entry(key.to_string()).or_insert((now, 0));
        if window.0 != now {
            *window = (now, 0);
        }
        if window.1 >= limit {
            return Err(1);
        }
        window.1 += 1;
        Ok(())
    }
}
