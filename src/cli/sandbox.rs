//! `sluice sandbox`: run the local emulator of the four providers until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use rust_decimal::Decimal;

use crate::catalog::ProviderKind;
use crate::money::parse_amount;
use crate::sandbox::{
    AutoPay, DEFAULT_ADDR, DEFAULT_API_KEY, DEFAULT_API_SECRET, FaultRule, Faults, SandboxConfig,
    WebhookFaultRule, base_path, start,
};
use crate::spec::{HumanDuration, Secret};

const EXAMPLES: &str = "\
Base URLs (point a provider block's `base_url` at them):
  whalestack   http://ADDR/whalestack/api/v1
  white        http://ADDR/white
  whitestones  http://ADDR/whitestones/v1
  whitepay     http://ADDR/whitepay
Test hooks: http://ADDR/__sandbox/ (ledger, balances, reset, advance, clock, faults,
webhooks, checkouts/{id}/pay, checkouts/{id}/accept-underpaid, outcomes,
whalestack/deposits, and seed/<base path>/... for each API without credentials).

Every provider accepts the API key `sandbox-key` and the secret `sandbox-secret` unless
told otherwise (White: the key is the Basic user name; Whitepay: the Bearer token;
WHITESTONES: Bearer key plus `X-WS-Secret`).

Examples:
  sluice sandbox
  sluice sandbox --addr 127.0.0.1:0 --speed 0
  sluice sandbox --webhook-url http://127.0.0.1:8787/webhooks/ws --auto-pay 5s
  sluice sandbox --auto-pay 10s --auto-pay-ratio 0.9
  sluice sandbox --fault 'lost_response@POST /whalestack/api/v1/transfer/commit,times=1'
  sluice sandbox --fault 'rate_limit=2s@/whitestones/*' --webhook-fault 'duplicate@whalestack:SWAP_*'
  sluice sandbox --faults faults.yaml --rate-limit 5 --balance whalestack:USDC=500
  curl -s http://127.0.0.1:8788/__sandbox/ledger";

/// Run a local emulator of Whalestack, White Payments, WHITESTONES and Whitepay.
///
/// It checks credentials as each provider does, keeps state and real balances, moves objects
/// through their states over time, sends signed webhooks and injects faults on demand.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    /// API key every provider accepts (Whalestack `X-Digest-Key`, White's secret key, the
    /// WHITESTONES and Whitepay Bearer token).
    #[arg(long, env = "SLUICE_SANDBOX_API_KEY", default_value = DEFAULT_API_KEY, hide_env_values = true)]
    pub api_key: String,

    /// API secret (Whalestack HMAC key, WHITESTONES `X-WS-Secret`, webhook signing key).
    #[arg(
        long,
        env = "SLUICE_SANDBOX_API_SECRET",
        default_value = DEFAULT_API_SECRET,
        hide_env_values = true,
        value_parser = |s: &str| Ok::<_, std::convert::Infallible>(Secret::new(s)),
    )]
    pub api_secret: Secret,

    /// Sandbox seconds per real second; 0 stops the clock (only `POST /__sandbox/advance`
    /// moves it).
    #[arg(long, value_name = "FACTOR", default_value_t = 1)]
    pub speed: u32,

    /// URL every provider's webhooks are POSTed to (a Whalestack object's own `webhook`
    /// field wins). Without one, events are only logged at `/__sandbox/webhooks`.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,

    /// Webhook URL for one provider, overriding `--webhook-url`; repeatable.
    #[arg(long = "provider-webhook-url", value_name = "PROVIDER=URL", value_parser = parse_provider_url)]
    pub provider_webhook_urls: Vec<(ProviderKind, String)>,

    /// Delay before the first webhook retry after a non-200 answer; it doubles each time.
    #[arg(long, value_name = "DURATION", default_value = "1s")]
    pub webhook_retry: HumanDuration,

    /// Delivery attempts per webhook, the first included.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub webhook_attempts: u32,

    /// Faults YAML file (`routes:` and `webhooks:` rule lists).
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,

    /// A route fault, `KIND[=ARG]@[METHOD ]PATH[,times=N][,skip=N]` with KIND one of
    /// error[=STATUS], rate_limit[=RETRY_AFTER], latency=DELAY, drop, lost_response; `*`
    /// matches any characters; repeatable.
    #[arg(long = "fault", value_name = "RULE")]
    pub fault: Vec<FaultRule>,

    /// A webhook fault, `KIND@[PROVIDER][:EVENT][,times=N][,skip=N]` with KIND one of
    /// duplicate, out_of_order, drop; repeatable.
    #[arg(long = "webhook-fault", value_name = "RULE")]
    pub webhook_fault: Vec<WebhookFaultRule>,

    /// Play the customer: pay open checkouts and payment intents this long (sandbox time)
    /// after they are created.
    #[arg(long, value_name = "DELAY")]
    pub auto_pay: Option<HumanDuration>,

    /// Share of the amount due that auto-pay pays: 1 pays in full, 0.9 underpays by 10 %.
    #[arg(long, value_name = "RATIO", default_value = "1", requires = "auto_pay", value_parser = parse_decimal)]
    pub auto_pay_ratio: Decimal,

    /// A starting balance, `PROVIDER:ASSET=AMOUNT` (e.g. `whalestack:USDC=500`,
    /// `whitestones:USD=1000`); repeatable.
    #[arg(long = "balance", value_name = "PROVIDER:ASSET=AMOUNT", value_parser = parse_balance)]
    pub balances: Vec<(ProviderKind, String, Decimal)>,

    /// A USD price the exchange rates derive from, `CODE=PRICE` (e.g. `BTC=65000`);
    /// repeatable.
    #[arg(long = "price", value_name = "CODE=PRICE", value_parser = parse_price)]
    pub prices: Vec<(String, Decimal)>,

    /// Sandbox time between states, `STEP=DURATION` with STEP one of swap, transfer,
    /// checkout_settle, checkout_expiry, deposit, payment, payout, conversion; repeatable.
    #[arg(long = "delay", value_name = "STEP=DURATION", value_parser = parse_delay)]
    pub delays: Vec<(String, HumanDuration)>,

    /// WHITESTONES requests per second before it answers 429 with `Retry-After`.
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,

    /// Register unknown Whalestack target-account labels on first use instead of refusing
    /// the transfer.
    #[arg(long)]
    pub auto_target_accounts: bool,
}

fn parse_decimal(text: &str) -> Result<Decimal, String> {
    parse_amount(text.trim()).map_err(|e| e.to_string())
}

fn parse_provider(name: &str) -> Result<ProviderKind, String> {
    ProviderKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name.trim())
        .ok_or_else(|| {
            format!("unknown provider `{name}` (whalestack, white, whitestones, whitepay, http)")
        })
}

fn parse_provider_url(text: &str) -> Result<(ProviderKind, String), String> {
    let (provider, url) = text.split_once('=').ok_or("expected `PROVIDER=URL`")?;
    Ok((parse_provider(provider)?, url.trim().to_string()))
}

fn parse_balance(text: &str) -> Result<(ProviderKind, String, Decimal), String> {
    let (account, amount) = text
        .split_once('=')
        .ok_or("expected `PROVIDER:ASSET=AMOUNT`")?;
    let (provider, asset) = account
        .split_once(':')
        .ok_or("expected `PROVIDER:ASSET=AMOUNT`")?;
    let amount = parse_decimal(amount)?;
    if amount.is_sign_negative() {
        return Err(format!("a balance cannot be negative: `{amount}`"));
    }
    Ok((parse_provider(provider)?, asset.trim().to_string(), amount))
}

fn parse_price(text: &str) -> Result<(String, Decimal), String> {
    let (code, price) = text.split_once('=').ok_or("expected `CODE=PRICE`")?;
    let price = parse_decimal(price)?;
    if price <= Decimal::ZERO {
        return Err(format!("a price must be positive: `{price}`"));
    }
    Ok((code.trim().to_ascii_uppercase(), price))
}

const DELAY_STEPS: &[&str] = &[
    "swap",
    "transfer",
    "checkout_settle",
    "checkout_expiry",
    "deposit",
    "payment",
    "payout",
    "conversion",
];

fn parse_delay(text: &str) -> Result<(String, HumanDuration), String> {
    let (step, duration) = text.split_once('=').ok_or("expected `STEP=DURATION`")?;
    let step = step.trim();
    if !DELAY_STEPS.contains(&step) {
        return Err(format!(
            "unknown step `{step}` ({})",
            DELAY_STEPS.join(", ")
        ));
    }
    let duration = duration.parse().map_err(|e| format!("`{duration}`: {e}"))?;
    Ok((step.to_string(), duration))
}

impl SandboxArgs {
    /// The sandbox configuration these arguments describe.
    ///
    /// # Errors
    /// When the faults file cannot be read or parsed.
    pub fn to_config(&self) -> anyhow::Result<SandboxConfig> {
        let mut config = SandboxConfig {
            addr: self.addr,
            api_key: self.api_key.clone(),
            api_secret: self.api_secret.clone(),
            speed: self.speed,
            rate_limit: self.rate_limit,
            auto_target_accounts: self.auto_target_accounts,
            ..SandboxConfig::default()
        };
        config.webhooks.url = self.webhook_url.clone();
        config.webhooks.urls = self.provider_webhook_urls.iter().cloned().collect();
        config.webhooks.retry_initial = self.webhook_retry.get();
        config.webhooks.max_attempts = self.webhook_attempts;
        let mut faults = match &self.faults {
            Some(path) => Faults::from_yaml_file(path)?,
            None => Faults::default(),
        };
        faults.routes.extend(self.fault.iter().cloned());
        faults.webhooks.extend(self.webhook_fault.iter().cloned());
        config.faults = faults;
        config.auto_pay = self.auto_pay.map(|after| AutoPay {
            after: after.get(),
            ratio: self.auto_pay_ratio,
        });
        for (kind, asset, amount) in &self.balances {
            config
                .balances
                .entry(*kind)
                .or_default()
                .insert(asset.clone(), *amount);
        }
        config.prices = self.prices.iter().cloned().collect();
        for (step, duration) in &self.delays {
            let d = &mut config.delays;
            let slot: &mut Duration = match step.as_str() {
                "swap" => &mut d.swap,
                "transfer" => &mut d.transfer,
                "checkout_settle" => &mut d.checkout_settle,
                "checkout_expiry" => &mut d.checkout_expiry,
                "deposit" => &mut d.deposit,
                "payment" => &mut d.payment,
                "payout" => &mut d.payout,
                _ => &mut d.conversion,
            };
            *slot = duration.get();
        }
        Ok(config)
    }
}

/// Starts the sandbox, prints its base URLs, and serves until Ctrl-C.
///
/// # Errors
/// When the configuration is invalid or the address cannot be bound.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let config = args.to_config()?;
    let handle = start(config).await.context("cannot start the sandbox")?;
    println!("sluice sandbox listening on {}", handle.origin());
    for kind in ProviderKind::ALL {
        println!(
            "  {:<12} {}{}",
            kind.as_str(),
            handle.origin(),
            base_path(kind)
        );
    }
    println!("  {:<12} {}/", "hooks", handle.hooks_url());
    println!("press Ctrl-C to stop");
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    handle.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};
    use rust_decimal_macros::dec;

    use super::*;
    use crate::sandbox::FaultKind;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn flags_become_a_config() {
        let cli = Cli::try_parse_from([
            "sandbox",
            "--addr",
            "127.0.0.1:0",
            "--speed",
            "0",
            "--webhook-url",
            "http://127.0.0.1:9/hooks",
            "--provider-webhook-url",
            "whitepay=http://127.0.0.1:9/wp",
            "--fault",
            "lost_response@POST /white/charges,times=1",
            "--webhook-fault",
            "drop@whitestones",
            "--auto-pay",
            "5s",
            "--auto-pay-ratio",
            "0.9",
            "--balance",
            "whalestack:USDC=500",
            "--price",
            "btc=65000",
            "--delay",
            "swap=2s",
            "--rate-limit",
            "3",
        ])
        .unwrap();
        let config = cli.args.to_config().unwrap();
        assert_eq!(config.addr.port(), 0);
        assert_eq!(config.speed, 0);
        assert_eq!(config.api_key, "sandbox-key");
        assert_eq!(config.api_secret.expose(), "sandbox-secret");
        assert_eq!(
            config.webhooks.url_for(ProviderKind::Whitepay),
            Some("http://127.0.0.1:9/wp")
        );
        assert_eq!(
            config.webhooks.url_for(ProviderKind::White),
            Some("http://127.0.0.1:9/hooks")
        );
        assert_eq!(config.faults.routes[0].fault, FaultKind::LostResponse);
        assert_eq!(config.faults.webhooks.len(), 1);
        assert_eq!(config.auto_pay.as_ref().unwrap().ratio, dec!(0.9));
        assert_eq!(
            config.balances[&ProviderKind::Whalestack]["USDC"],
            dec!(500)
        );
        assert_eq!(config.prices["BTC"], dec!(65000));
        assert_eq!(config.delays.swap, Duration::from_secs(2));
        assert_eq!(config.rate_limit, Some(3));
        assert!(format!("{:?}", cli.args).contains("***"));
        assert!(!format!("{:?}", cli.args).contains("sandbox-secret"));
    }

    #[test]
    fn bad_flags_are_refused() {
        for bad in [
            ["--balance", "nowhere:USDC=1"],
            ["--balance", "whalestack:USDC=1e3"],
            ["--price", "BTC=0"],
            ["--delay", "coffee=1s"],
            ["--fault", "boom@*"],
            ["--auto-pay-ratio", "0.9"],
        ] {
            let mut argv = vec!["sandbox"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn every_flag_is_documented() {
        let command = Cli::command();
        for arg in command.get_arguments() {
            if arg.get_id() == "help" {
                continue;
            }
            assert!(arg.get_help().is_some(), "--{} has no help", arg.get_id());
        }
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Examples:"));
        assert!(help.contains("/whalestack/api/v1"));
    }
}
