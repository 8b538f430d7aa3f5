//! What a sandbox starts with: address, credentials, clock speed, webhook targets, faults,
//! auto-pay, starting balances, prices, fees and the delays between object states.
//!
//! [`SandboxConfig::default`] gives the documented defaults; the CLI and tests override
//! fields. Everything the provider documents leave open (delays, fees, prices, balances)
//! is a field here, so a test or a demo can pick other values.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::faults::Faults;
use crate::catalog::ProviderKind;
use crate::spec::Secret;

/// The API key every provider accepts unless configured otherwise.
pub const DEFAULT_API_KEY: &str = "sandbox-key";
/// The API secret every provider accepts unless configured otherwise.
pub const DEFAULT_API_SECRET: &str = "sandbox-secret";
/// The address `sluice sandbox` listens on by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8788";

/// Everything a sandbox is started with.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address to listen on; port 0 picks a free port.
    pub addr: SocketAddr,
    /// The API key: Whalestack `X-Digest-Key`, White's Basic user name (its secret key),
    /// the WHITESTONES Bearer token and the Whitepay Bearer token.
    pub api_key: String,
    /// The API secret: the Whalestack HMAC key, WHITESTONES `X-WS-Secret`, and the key that
    /// signs Whalestack and WHITESTONES webhooks.
    pub api_secret: Secret,
    /// Sandbox seconds per real second. `0` stops the clock: only `POST /__sandbox/advance`
    /// moves it, which is what tests want.
    pub speed: u32,
    /// How often (real time) a background task moves objects whose next state is due.
    pub tick: Duration,
    /// Where and how webhooks are delivered.
    pub webhooks: WebhookConfig,
    /// Faults injected into API routes and webhook deliveries from the start.
    pub faults: Faults,
    /// When set, the sandbox plays the customer and pays open checkouts and payment intents.
    pub auto_pay: Option<AutoPay>,
    /// Starting balances per provider, merged over [`default_balances`]. Whalestack keys may
    /// be asset codes (`USDC`) or asset ids (`USDC:GA5Z…`); the others are currency codes.
    pub balances: BTreeMap<ProviderKind, BTreeMap<String, Decimal>>,
    /// USD prices per currency or asset code, merged over [`default_prices`]; every exchange
    /// rate in the sandbox is the ratio of two prices.
    pub prices: BTreeMap<String, Decimal>,
    /// Fees the sandbox charges where the documents show one.
    pub fees: Fees,
    /// Sandbox time between an object's states.
    pub delays: Delays,
    /// WHITESTONES requests allowed per second (the sandbox has one merchant account) before
    /// a 429 with `Retry-After`.
    pub rate_limit: Option<u32>,
    /// Register unknown Whalestack target-account labels on first use instead of refusing the
    /// transfer (the real API refuses them).
    pub auto_target_accounts: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            addr: DEFAULT_ADDR.parse().expect("the default address parses"),
            api_key: DEFAULT_API_KEY.to_string(),
            api_secret: Secret::new(DEFAULT_API_SECRET),
            speed: 1,
            tick: Duration::from_millis(100),
            webhooks: WebhookConfig::default(),
            faults: Faults::default(),
            auto_pay: None,
            balances: BTreeMap::new(),
            prices: BTreeMap::new(),
            fees: Fees::default(),
            delays: Delays::default(),
            rate_limit: None,
            auto_target_accounts: false,
        }
    }
}

/// Where webhooks go and how failed deliveries are retried.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The URL every provider's events are POSTed to, unless a per-provider URL or (for
    /// Whalestack) the object's own `webhook` field says otherwise. `None`: events are only
    /// recorded in `GET /__sandbox/webhooks`.
    pub url: Option<String>,
    /// Per-provider URLs, taking precedence over [`WebhookConfig::url`].
    pub urls: BTreeMap<ProviderKind, String>,
    /// Delay before the first retry of a delivery that did not get HTTP 200; doubles each time.
    pub retry_initial: Duration,
    /// Upper bound of the retry delay.
    pub retry_max: Duration,
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// Time allowed for one attempt.
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: None,
            urls: BTreeMap::new(),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            max_attempts: 8,
            timeout: Duration::from_secs(5),
        }
    }
}

impl WebhookConfig {
    /// The configured URL for `kind`, per-provider first.
    pub fn url_for(&self, kind: ProviderKind) -> Option<&str> {
        self.urls
            .get(&kind)
            .or(self.url.as_ref())
            .map(String::as_str)
    }
}

/// The sandbox paying open checkouts (Whalestack) and payment intents (WHITESTONES) by itself.
#[derive(Debug, Clone)]
pub struct AutoPay {
    /// Sandbox time after creation at which the payment arrives.
    pub after: Duration,
    /// Share of the amount due that is paid: `1` pays in full, `0.9` underpays by 10 %.
    pub ratio: Decimal,
}

impl Default for AutoPay {
    fn default() -> Self {
        AutoPay {
            after: Duration::from_secs(5),
            ratio: Decimal::ONE,
        }
    }
}

/// Fees the sandbox applies.
#[derive(Debug, Clone)]
pub struct Fees {
    /// Whalestack checkout settlement fee, in percent of the settlement amount (the seed's
    /// example shows 0.5 %: 0.995 on 199).
    pub checkout_percent: Decimal,
    /// WHITESTONES payout fee, in percent of the amount, rounded down to a minor unit (the
    /// seed's example shows 25 on 5000).
    pub payout_percent: Decimal,
    /// Whalestack transfer network fee per network id, in units of the transferred asset.
    /// Networks not listed are free.
    pub network: BTreeMap<String, Decimal>,
}

impl Default for Fees {
    fn default() -> Self {
        Fees {
            checkout_percent: dec!(0.5),
            payout_percent: dec!(0.5),
            network: BTreeMap::from([
                ("BITCOIN".to_string(), dec!(0.0002010)),
                ("LITECOIN".to_string(), dec!(0.0010000)),
                ("ETHEREUM".to_string(), dec!(2.5)),
            ]),
        }
    }
}

/// Sandbox time between object states.
#[derive(Debug, Clone)]
pub struct Delays {
    /// Whalestack swap: PROCESSING → COMPLETED/FAILED after commit.
    pub swap: Duration,
    /// Whalestack transfer: PROCESSING → COMPLETED/FAILED after commit.
    pub transfer: Duration,
    /// Whalestack checkout: IN_PROGRESS (payment seen) → COMPLETED/UNRESOLVED_UNDERPAID.
    pub checkout_settle: Duration,
    /// Whalestack checkout: unpaid → EXPIRED (the documents say 60 minutes).
    pub checkout_expiry: Duration,
    /// Whalestack deposit: PENDING_EXTERNAL → COMPLETED.
    pub deposit: Duration,
    /// WHITESTONES payment intent: processing → succeeded/failed.
    pub payment: Duration,
    /// WHITESTONES payout: pending → completed/failed.
    pub payout: Duration,
    /// Whitepay conversion: INIT → PROCESSING, and again PROCESSING → COMPLETED/FAILED.
    pub conversion: Duration,
}

impl Default for Delays {
    fn default() -> Self {
        Delays {
            swap: Duration::from_secs(5),
            transfer: Duration::from_secs(10),
            checkout_settle: Duration::from_secs(10),
            checkout_expiry: Duration::from_secs(60 * 60),
            deposit: Duration::from_secs(10),
            payment: Duration::from_secs(5),
            payout: Duration::from_secs(30),
            conversion: Duration::from_secs(5),
        }
    }
}

/// The balances a fresh sandbox starts with, per provider and currency or asset code.
pub fn default_balances() -> BTreeMap<ProviderKind, BTreeMap<String, Decimal>> {
    let table = |rows: &[(&str, Decimal)]| {
        rows.iter()
            .map(|(code, amount)| (code.to_string(), *amount))
            .collect::<BTreeMap<_, _>>()
    };
    BTreeMap::from([
        (
            ProviderKind::Whalestack,
            table(&[
                ("USDC", dec!(100000)),
                ("EURC", dec!(100000)),
                ("XLM", dec!(100000)),
                ("BTC", dec!(10)),
                ("LTC", dec!(100)),
            ]),
        ),
        (
            ProviderKind::White,
            table(&[
                ("AED", dec!(10000)),
                ("USD", dec!(10000)),
                ("EUR", dec!(10000)),
                ("SAR", dec!(10000)),
                ("BHD", dec!(1000)),
                ("KWD", dec!(1000)),
            ]),
        ),
        (
            ProviderKind::Whitestones,
            table(&[
                ("USD", dec!(100000)),
                ("EUR", dec!(100000)),
                ("GBP", dec!(100000)),
            ]),
        ),
        (
            ProviderKind::Whitepay,
            table(&[
                ("USDT", dec!(100000)),
                ("USDC", dec!(100000)),
                ("EUR", dec!(100000)),
                ("BTC", dec!(2)),
                ("ETH", dec!(50)),
                ("DOGE", dec!(100000)),
            ]),
        ),
    ])
}

/// USD prices the sandbox's exchange rates are derived from.
pub fn default_prices() -> BTreeMap<String, Decimal> {
    [
        ("USD", dec!(1)),
        ("USDC", dec!(1)),
        ("USDT", dec!(1)),
        ("EUR", dec!(1.08)),
        ("EURC", dec!(1.08)),
        ("GBP", dec!(1.27)),
        ("CHF", dec!(1.12)),
        ("AED", dec!(0.2723)),
        ("SAR", dec!(0.2666)),
        ("BHD", dec!(2.6525)),
        ("KWD", dec!(3.25)),
        ("JPY", dec!(0.0067)),
        ("BRL", dec!(0.2)),
        ("ARS", dec!(0.001)),
        ("BTC", dec!(30000)),
        // Lightning BTC is counted in satoshis on Whalestack (the seed settles 18074 SAT as
        // 18073.3779143 BTCLN).
        ("BTCLN", dec!(0.0003)),
        ("SAT", dec!(0.0003)),
        ("ETH", dec!(2000)),
        ("LTC", dec!(80)),
        ("XLM", dec!(0.1)),
        ("DOGE", dec!(0.1)),
    ]
    .into_iter()
    .map(|(code, price)| (code.to_string(), price))
    .collect()
}
