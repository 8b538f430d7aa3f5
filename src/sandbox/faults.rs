//! Fault injection: which requests and webhook deliveries misbehave, and how.
//!
//! Rules come from the config (flags or a YAML file) and can be replaced at run time with
//! `POST /__sandbox/faults`. A route rule matches `[METHOD ]PATH` with `*` as a wildcard
//! against the request path (query excluded); `/__sandbox/` routes are never faulted. How a
//! fault is applied to a connection lives in the server; this module only decides.
//!
//! YAML file (`--faults FILE`):
//!
//! ```yaml
//! routes:
//!   - route: "POST /whalestack/api/v1/transfer/commit"
//!     fault: lost_response        # the commit happens, the client sees a reset
//!     times: 1
//!   - route: "/whitestones/*"
//!     fault: rate_limit
//!     retry_after: 2s
//!   - route: "*"
//!     fault: latency
//!     delay: 150ms
//! webhooks:
//!   - provider: whalestack
//!     event: SWAP_*
//!     fault: duplicate
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::SandboxError;
use crate::catalog::ProviderKind;
use crate::spec::HumanDuration;

/// Every fault rule, for routes and for webhooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// Faults on API requests.
    #[serde(default)]
    pub routes: Vec<FaultRule>,
    /// Faults on webhook deliveries.
    #[serde(default)]
    pub webhooks: Vec<WebhookFaultRule>,
}

impl Faults {
    /// Reads a faults YAML file (`routes:` and `webhooks:` lists).
    ///
    /// # Errors
    /// [`SandboxError::FaultsRead`] or [`SandboxError::FaultsParse`].
    pub fn from_yaml_file(path: &Path) -> Result<Faults, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|source| SandboxError::FaultsRead {
            path: path.to_path_buf(),
            source,
        })?;
        serde_yaml::from_str(&text).map_err(|source| SandboxError::FaultsParse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.webhooks.is_empty()
    }
}

/// A fault on the API requests matching a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// `[METHOD ]PATH`, `*` matching any characters: `POST /white/charges`, `/whitestones/*`.
    pub route: String,
    /// What happens.
    #[serde(flatten)]
    pub fault: FaultKind,
    /// Fire at most this many times (default: every time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Let this many matching requests through before firing.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: u32,
}

/// What a route fault does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this status (500 by default) and the provider's error body; the handler
    /// does not run.
    Error {
        /// The HTTP status.
        #[serde(default = "default_error_status")]
        status: u16,
    },
    /// Answer 429 with `Retry-After`; the handler does not run.
    RateLimit {
        /// The `Retry-After` value (rounded up to whole seconds; default 1s).
        #[serde(default = "default_retry_after")]
        retry_after: HumanDuration,
    },
    /// Wait this long (real time) before handling the request.
    Latency {
        /// The added delay.
        delay: HumanDuration,
    },
    /// Close the connection before the handler runs: nothing happens, the client sees a reset.
    Drop,
    /// Run the handler (the write happens), then reset the connection instead of answering.
    LostResponse,
}

fn default_error_status() -> u16 {
    500
}

fn default_retry_after() -> HumanDuration {
    HumanDuration(Duration::from_secs(1))
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A fault on the webhook deliveries matching a provider and event type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookFaultRule {
    /// Only this provider's events (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderKind>,
    /// Event type pattern, `*` matching any characters (`SWAP_*`, `payout.*`; default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// What happens.
    pub fault: WebhookFaultKind,
    /// Fire at most this many times (default: every time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Let this many matching events through before firing.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: u32,
}

/// What a webhook fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFaultKind {
    /// Deliver the event twice.
    Duplicate,
    /// Hold the event and deliver it after the next one (or after a second if none comes).
    OutOfOrder,
    /// Never deliver the event.
    Drop,
}

/// A rule text that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault `{text}`: {reason}")]
pub struct FaultParseError {
    text: String,
    reason: String,
}

fn parse_error(text: &str, reason: impl Into<String>) -> FaultParseError {
    FaultParseError {
        text: text.to_string(),
        reason: reason.into(),
    }
}

/// Splits `,times=N,skip=N` options off the end of a compact rule.
fn parse_counts(text: &str, rest: &str) -> Result<(String, Option<u32>, u32), FaultParseError> {
    let mut parts = rest.split(',');
    let head = parts.next().unwrap_or_default().trim().to_string();
    let (mut times, mut skip) = (None, 0);
    for option in parts {
        let (key, value) = option.split_once('=').ok_or_else(|| {
            parse_error(
                text,
                format!("expected `times=N` or `skip=N`, got `{option}`"),
            )
        })?;
        let n: u32 = value
            .trim()
            .parse()
            .map_err(|_| parse_error(text, format!("`{value}` is not a count")))?;
        match key.trim() {
            "times" => times = Some(n),
            "skip" => skip = n,
            other => return Err(parse_error(text, format!("unknown option `{other}`"))),
        }
    }
    Ok((head, times, skip))
}

fn parse_duration(
    text: &str,
    value: Option<&str>,
    what: &str,
) -> Result<HumanDuration, FaultParseError> {
    let value = value
        .ok_or_else(|| parse_error(text, format!("{what} needs a duration, e.g. `{what}=2s`")))?;
    value
        .parse()
        .map_err(|e| parse_error(text, format!("`{value}`: {e}")))
}

impl FromStr for FaultRule {
    type Err = FaultParseError;

    /// Parses `KIND[=ARG]@ROUTE[,times=N][,skip=N]`: `error=503@/white/*`,
    /// `rate_limit=2s@/whitestones/*`, `latency=200ms@*`, `drop@POST /white/charges`,
    /// `lost_response@POST /whalestack/api/v1/transfer/commit,times=1`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = text
            .split_once('@')
            .ok_or_else(|| parse_error(text, "expected `KIND@ROUTE`"))?;
        let (name, arg) = match kind.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (kind.trim(), None),
        };
        let fault = match name {
            "error" => FaultKind::Error {
                status: match arg {
                    Some(a) => a
                        .parse()
                        .ok()
                        .filter(|s| (100..=599).contains(s))
                        .ok_or_else(|| parse_error(text, format!("`{a}` is not an HTTP status")))?,
                    None => default_error_status(),
                },
            },
            "rate_limit" => FaultKind::RateLimit {
                retry_after: match arg {
                    Some(_) => parse_duration(text, arg, "rate_limit")?,
                    None => default_retry_after(),
                },
            },
            "latency" => FaultKind::Latency {
                delay: parse_duration(text, arg, "latency")?,
            },
            "drop" => FaultKind::Drop,
            "lost_response" => FaultKind::LostResponse,
            other => {
                return Err(parse_error(
                    text,
                    format!(
                        "unknown fault `{other}` (error, rate_limit, latency, drop, lost_response)"
                    ),
                ));
            }
        };
        let (route, times, skip) = parse_counts(text, rest)?;
        if route.is_empty() {
            return Err(parse_error(
                text,
                "the route is empty (use `*` for every route)",
            ));
        }
        Ok(FaultRule {
            route,
            fault,
            times,
            skip,
        })
    }
}

impl FromStr for WebhookFaultRule {
    type Err = FaultParseError;

    /// Parses `KIND@[PROVIDER][:EVENT][,times=N][,skip=N]`: `duplicate@whalestack:SWAP_*`,
    /// `drop@:payout.completed,times=1`, `out_of_order@*`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = text
            .split_once('@')
            .ok_or_else(|| parse_error(text, "expected `KIND@[PROVIDER][:EVENT]`"))?;
        let fault = match kind.trim() {
            "duplicate" => WebhookFaultKind::Duplicate,
            "out_of_order" => WebhookFaultKind::OutOfOrder,
            "drop" => WebhookFaultKind::Drop,
            other => {
                return Err(parse_error(
                    text,
                    format!("unknown webhook fault `{other}` (duplicate, out_of_order, drop)"),
                ));
            }
        };
        let (target, times, skip) = parse_counts(text, rest)?;
        let (provider, event) = target.split_once(':').unwrap_or((&target, ""));
        let provider = match provider.trim() {
            "" | "*" => None,
            name => Some(
                ProviderKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == name)
                    .ok_or_else(|| parse_error(text, format!("unknown provider `{name}`")))?,
            ),
        };
        let event = Some(event.trim()).filter(|e| !e.is_empty() && *e != "*");
        Ok(WebhookFaultRule {
            provider,
            event: event.map(str::to_string),
            fault,
            times,
            skip,
        })
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Error { status } => write!(f, "error={status}"),
            FaultKind::RateLimit { retry_after } => write!(f, "rate_limit={retry_after}"),
            FaultKind::Latency { delay } => write!(f, "latency={delay}"),
            FaultKind::Drop => f.write_str("drop"),
            FaultKind::LostResponse => f.write_str("lost_response"),
        }
    }
}

/// `*`-wildcard match of `text` against `pattern`.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|b| *b == b'*')
}

fn route_matches(route: &str, method: &str, path: &str) -> bool {
    match route.trim().split_once(' ') {
        Some((m, p)) => m.eq_ignore_ascii_case(method) && glob_matches(p.trim(), path),
        None => glob_matches(route.trim(), path),
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Counter {
    seen: u32,
    fired: u32,
}

impl Counter {
    /// Counts a match and says whether the rule fires on it.
    fn fire(&mut self, skip: u32, times: Option<u32>) -> bool {
        self.seen = self.seen.saturating_add(1);
        if self.seen <= skip || times.is_some_and(|n| self.fired >= n) {
            return false;
        }
        self.fired += 1;
        true
    }
}

/// The live rules with how often each has matched and fired.
#[derive(Debug, Default)]
pub struct FaultState {
    rules: Faults,
    route_counts: Vec<Counter>,
    webhook_counts: Vec<Counter>,
}

impl FaultState {
    /// Live state for `rules`, with fresh counters.
    pub fn new(rules: Faults) -> Self {
        FaultState {
            route_counts: vec![Counter::default(); rules.routes.len()],
            webhook_counts: vec![Counter::default(); rules.webhooks.len()],
            rules,
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &Faults {
        &self.rules
    }

    /// The faults for a request: every matching latency, then at most one other fault (the
    /// first matching rule that fires).
    pub fn on_request(&mut self, method: &str, path: &str) -> Vec<FaultKind> {
        let mut out = Vec::new();
        let mut decided = false;
        for (rule, count) in self.rules.routes.iter().zip(&mut self.route_counts) {
            if !route_matches(&rule.route, method, path) {
                continue;
            }
            let latency = matches!(rule.fault, FaultKind::Latency { .. });
            if (latency || !decided) && count.fire(rule.skip, rule.times) {
                decided |= !latency;
                out.push(rule.fault.clone());
            }
        }
        out
    }

    /// The fault for a webhook event, if one fires.
    pub fn on_webhook(&mut self, provider: ProviderKind, event: &str) -> Option<WebhookFaultKind> {
        for (rule, count) in self.rules.webhooks.iter().zip(&mut self.webhook_counts) {
            let provider_ok = rule.provider.is_none_or(|p| p == provider);
            let event_ok = rule.event.as_deref().is_none_or(|e| glob_matches(e, event));
            if provider_ok && event_ok && count.fire(rule.skip, rule.times) {
                return Some(rule.fault);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_rules_parse() {
        let r: FaultRule = "lost_response@POST /whalestack/api/v1/transfer/commit,times=1"
            .parse()
            .unwrap();
        assert_eq!(r.route, "POST /whalestack/api/v1/transfer/commit");
        assert_eq!(r.fault, FaultKind::LostResponse);
        assert_eq!(r.times, Some(1));
        let r: FaultRule = "rate_limit=2s@/whitestones/*,skip=3".parse().unwrap();
        assert_eq!(
            r.fault,
            FaultKind::RateLimit {
                retry_after: HumanDuration(Duration::from_secs(2))
            }
        );
        assert_eq!(r.skip, 3);
        let r: FaultRule = "error@*".parse().unwrap();
        assert_eq!(r.fault, FaultKind::Error { status: 500 });
        assert!("error=99@*".parse::<FaultRule>().is_err());
        assert!("latency@*".parse::<FaultRule>().is_err());
        assert!("boom@*".parse::<FaultRule>().is_err());
        assert!("drop@".parse::<FaultRule>().is_err());
        assert!("drop@/x,times=a".parse::<FaultRule>().is_err());

        let w: WebhookFaultRule = "duplicate@whalestack:SWAP_*,times=2".parse().unwrap();
        assert_eq!(w.provider, Some(ProviderKind::Whalestack));
        assert_eq!(w.event.as_deref(), Some("SWAP_*"));
        assert_eq!(w.times, Some(2));
        let w: WebhookFaultRule = "drop@*".parse().unwrap();
        assert_eq!((w.provider, w.event), (None, None));
        assert!("drop@nowhere".parse::<WebhookFaultRule>().is_err());
    }

    #[test]
    fn yaml_rules_parse() {
        let faults: Faults = serde_yaml::from_str(
            "routes:\n  - route: '/white/*'\n    fault: error\n    status: 503\n  - route: '*'\n    fault: latency\n    delay: 150ms\nwebhooks:\n  - event: payout.*\n    fault: out_of_order\n",
        )
        .unwrap();
        assert_eq!(faults.routes[0].fault, FaultKind::Error { status: 503 });
        assert_eq!(
            faults.routes[1].fault,
            FaultKind::Latency {
                delay: HumanDuration(Duration::from_millis(150))
            }
        );
        assert_eq!(faults.webhooks[0].fault, WebhookFaultKind::OutOfOrder);
    }

    #[test]
    fn globs() {
        assert!(glob_matches("*", "/anything"));
        assert!(glob_matches("/white/*", "/white/charges/ch_1/capture"));
        assert!(!glob_matches("/white/*", "/whitepay/x"));
        assert!(glob_matches("/white*/x", "/whitepay/x"));
        assert!(glob_matches("SWAP_*", "SWAP_COMPLETED"));
        assert!(!glob_matches("SWAP_*", "TRANSFER_COMPLETED"));
        assert!(glob_matches("a*b*c", "axxbyyc"));
        assert!(!glob_matches("a*b*c", "axxbyy"));
    }

    #[test]
    fn counts_skip_and_times() {
        let mut state = FaultState::new(Faults {
            routes: vec![
                "latency=10ms@*".parse().unwrap(),
                "error@POST /white/charges,skip=1,times=1".parse().unwrap(),
                "drop@/white/*".parse().unwrap(),
            ],
            webhooks: vec!["drop@whitepay,times=1".parse().unwrap()],
        });
        let first = state.on_request("POST", "/white/charges");
        assert_eq!(first.len(), 2);
        assert_eq!(first[1], FaultKind::Drop);
        let second = state.on_request("post", "/white/charges");
        assert_eq!(second[1], FaultKind::Error { status: 500 });
        let third = state.on_request("POST", "/white/charges");
        assert_eq!(third[1], FaultKind::Drop);
        assert_eq!(state.on_request("GET", "/whalestack/api/v1/ping").len(), 1);
        assert_eq!(state.on_webhook(ProviderKind::Whalestack, "X"), None);
        assert_eq!(
            state.on_webhook(ProviderKind::Whitepay, "X"),
            Some(WebhookFaultKind::Drop)
        );
        assert_eq!(state.on_webhook(ProviderKind::Whitepay, "X"), None);
    }
}
