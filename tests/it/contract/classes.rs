//! Every failure class, produced by the sandbox (faults, or a real refusal) and classified
//! by each adapter: retryable (connection refused, 429 with its `Retry-After`, 5xx on a
//! read), rejected (4xx, with the provider's own message), in doubt (5xx, reset or timeout
//! after a write was sent), and invalid (refused before sending).

use std::time::{Duration, Instant};

use serde_json::json;
use sluice::catalog::ProviderKind;
use sluice::providers::{FailureClass, Provider, ProviderError};
use sluice::sandbox::SandboxHandle;

use super::support::*;

/// A read the adapter does: an action, or a poll of an object.
enum Read {
    Step(Step),
    Poll(&'static str, String),
}

impl Read {
    async fn run(&self, p: &dyn Provider) -> Result<(), ProviderError> {
        match self {
            Read::Step(step) => step.execute(p).await.map(|_| ()),
            Read::Poll(object, id) => p.poll(object, id).await.map(|_| ()),
        }
    }
}

/// One provider's cases.
struct Case {
    kind: ProviderKind,
    /// A write, and the route (`METHOD path`) it is sent to.
    write: Step,
    write_route: String,
    /// A read, and its route.
    read: Read,
    read_route: String,
    /// A write the provider refuses, and a piece of the provider's own message.
    refused: Step,
    message: &'static str,
    /// A write sluice refuses before sending (excess precision).
    invalid: Step,
}

/// The base URL of `kind` on a port nothing listens on.
async fn closed_base_url(kind: ProviderKind) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}{}", sluice::sandbox::base_path(kind))
}

/// Sends the case's write through a fresh adapter (a 429 pauses the adapter that saw it)
/// with `fault` injected on the write's route, and returns the failure.
async fn write_fault(
    sandbox: &SandboxHandle,
    case: &Case,
    fault: &str,
    timeout: Duration,
) -> ProviderError {
    let mut resolved = block(sandbox, case.kind);
    resolved.timeout = timeout;
    let p = adapter(&resolved);
    faults(sandbox, &[&format!("{fault}@{},times=1", case.write_route)]);
    let err = case.write.fails(p.as_ref()).await;
    clear_faults(sandbox);
    err
}

/// Runs the case's read with `fault` injected on the read's route, and returns the failure.
async fn read_fault(
    sandbox: &SandboxHandle,
    case: &Case,
    fault: &str,
    timeout: Duration,
) -> ProviderError {
    let mut resolved = block(sandbox, case.kind);
    resolved.timeout = timeout;
    let p = adapter(&resolved);
    faults(sandbox, &[&format!("{fault}@{},times=1", case.read_route)]);
    let err = case.read.run(p.as_ref()).await.unwrap_err();
    clear_faults(sandbox);
    case.read.run(p.as_ref()).await.unwrap();
    err
}

fn expect(err: &ProviderError, class: FailureClass, status: Option<u16>, what: &str) {
    assert_eq!(err.class(), class, "{what}: {err}");
    assert_eq!(err.status(), status, "{what}: {err}");
}

async fn check(sandbox: &SandboxHandle, case: Case) {
    let kind = case.kind;
    let long = Duration::from_secs(5);
    let short = Duration::from_millis(300);
    let before = movements(sandbox, kind).len();

    // Nothing listens: the request was never sent.
    let closed = adapter(&block_at(kind, &closed_base_url(kind).await));
    let err = case.write.fails(closed.as_ref()).await;
    expect(
        &err,
        FailureClass::Retryable,
        None,
        &format!("{kind} refused"),
    );

    let err = write_fault(sandbox, &case, "rate_limit=2s", long).await;
    expect(
        &err,
        FailureClass::Retryable,
        Some(429),
        &format!("{kind} 429"),
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)), "{kind}");

    let err = write_fault(sandbox, &case, "error=400", long).await;
    expect(
        &err,
        FailureClass::Rejected,
        Some(400),
        &format!("{kind} 400"),
    );
    assert!(
        err.to_string()
            .contains("bad request (injected by the sandbox)"),
        "{err}"
    );
    // The provider's own error code, where it has one, says what kind of refusal it is.
    if let ProviderError::Rejected {
        code: Some(code), ..
    } = &err
    {
        assert!(!code.contains("server"), "{kind}: a 400 with code `{code}`");
    }

    // Wrong credentials: the provider's own 401, the credential nowhere in the message.
    let mut wrong = block(sandbox, kind);
    for secret in [
        &mut wrong.api_secret,
        &mut wrong.secret_key,
        &mut wrong.token,
    ] {
        if secret.is_some() {
            *secret = Some(sluice::spec::Secret::new("not-the-secret"));
        }
    }
    let err = case.write.fails(adapter(&wrong).as_ref()).await;
    expect(
        &err,
        FailureClass::Rejected,
        Some(401),
        &format!("{kind} 401"),
    );
    assert!(!err.to_string().contains("not-the-secret"), "{err}");

    // A real refusal, with the provider's own words.
    let err = case.refused.fails(provider(sandbox, kind).as_ref()).await;
    assert_eq!(err.class(), FailureClass::Rejected, "{kind} refusal: {err}");
    assert!(err.to_string().contains(case.message), "{kind}: {err}");

    for status in [500, 503] {
        let err = write_fault(sandbox, &case, &format!("error={status}"), long).await;
        expect(
            &err,
            FailureClass::InDoubt,
            Some(status),
            &format!("{kind} {status} on a write"),
        );
    }
    let err = write_fault(sandbox, &case, "drop", long).await;
    expect(
        &err,
        FailureClass::InDoubt,
        None,
        &format!("{kind} reset before a write ran"),
    );

    let err = read_fault(sandbox, &case, "error=500", long).await;
    expect(
        &err,
        FailureClass::Retryable,
        Some(500),
        &format!("{kind} 500 on a read"),
    );
    let err = read_fault(sandbox, &case, "drop", long).await;
    expect(
        &err,
        FailureClass::Retryable,
        None,
        &format!("{kind} reset on a read"),
    );
    let err = read_fault(sandbox, &case, "latency=800ms", short).await;
    expect(
        &err,
        FailureClass::Retryable,
        None,
        &format!("{kind} read timeout"),
    );

    // Nothing was applied by any of the above.
    assert_eq!(movements(sandbox, kind).len(), before, "{kind}");

    let err = write_fault(sandbox, &case, "lost_response", long).await;
    expect(
        &err,
        FailureClass::InDoubt,
        None,
        &format!("{kind} lost response"),
    );

    let started = Instant::now();
    let err = write_fault(sandbox, &case, "latency=800ms", short).await;
    expect(
        &err,
        FailureClass::InDoubt,
        None,
        &format!("{kind} write timeout"),
    );
    assert!(
        err.to_string().contains("did not answer within 300ms"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(750),
        "{kind}: {:?}",
        started.elapsed()
    );

    let p = provider(sandbox, kind);
    let seen = movements(sandbox, kind).len();
    let err = case.invalid.fails(p.as_ref()).await;
    expect(
        &err,
        FailureClass::Invalid,
        None,
        &format!("{kind} excess precision"),
    );
    assert!(err.to_string().contains("decimals"), "{err}");
    assert_eq!(movements(sandbox, kind).len(), seen);
}

#[tokio::test]
async fn whalestack_failures_are_classified() {
    let sandbox = sandbox().await;
    let swap = |key: &str, source: &str, amount: &str| {
        Step::new(
            "swap",
            key,
            json!({"source_asset": source, "target_asset": XLM, "source_amount": amount}),
        )
    };
    check(
        &sandbox,
        Case {
            kind: ProviderKind::Whalestack,
            write: swap("k-w", USDC, "10"),
            write_route: "POST /whalestack/api/v1/swap".into(),
            read: Read::Step(Step::new("balance.get", "k-r", json!({"asset": USDC}))),
            read_route: "GET /whalestack/api/v1/wallet".into(),
            refused: swap("k-x", EURC, "200000"),
            message: "insufficient funds: wallet `EURC:GDHU6WRG4IEQXM5NZ4BMPKOXHW76MZM4Y2IEMFDVXBSDP6SJY4ITNPP2` holds 100000.0000000",
            invalid: swap("k-i", USDC, "1.00000001"),
        },
    )
    .await;
}

#[tokio::test]
async fn white_failures_are_classified() {
    let sandbox = sandbox().await;
    let charge = |key: &str, amount: &str, currency: &str| {
        Step::new(
            "charge.create",
            key,
            json!({
                "amount": amount, "currency": currency, "email": "a@example.com",
                "source": {"number": "4242424242424242", "exp_month": "1", "exp_year": "2030", "cvc": "123"}
            }),
        )
    };
    let p = provider(&sandbox, ProviderKind::White);
    let existing = charge("k-0", "1.00", "USD")
        .done(p.as_ref())
        .await
        .id
        .unwrap();
    check(
        &sandbox,
        Case {
            kind: ProviderKind::White,
            write: charge("k-w", "10.00", "AED"),
            write_route: "POST /white/charges".into(),
            read: Read::Poll("charge", existing.clone()),
            read_route: format!("GET /white/charges/{existing}"),
            refused: charge("k-x", "0.10", "USD"),
            message: "minimum",
            invalid: charge("k-i", "10.001", "AED"),
        },
    )
    .await;
}

#[tokio::test]
async fn whitestones_failures_are_classified() {
    let sandbox = sandbox().await;
    let payout = |key: &str, amount: &str| {
        Step::new(
            "transfer",
            key,
            json!({
                "amount": amount, "currency": "USD",
                "recipient": {"type": "individual", "name": "Jane Smith",
                              "bank_account": {"account_number": "1234567890"}}
            }),
        )
    };
    let p = provider(&sandbox, ProviderKind::Whitestones);
    let existing = payout("k-0", "1.00").done(p.as_ref()).await.id.unwrap();
    check(
        &sandbox,
        Case {
            kind: ProviderKind::Whitestones,
            write: payout("k-w", "10.00"),
            write_route: "POST /whitestones/v1/payouts".into(),
            read: Read::Poll("payout", existing.clone()),
            read_route: format!("GET /whitestones/v1/payouts/{existing}"),
            refused: payout("k-x", "200000.00"),
            message: "insufficient funds: the USD balance is",
            invalid: payout("k-i", "10.001"),
        },
    )
    .await;
}

#[tokio::test]
async fn whitepay_failures_are_classified() {
    let sandbox = sandbox().await;
    let convert = |key: &str, amount: &str| {
        Step::new(
            "swap",
            key,
            json!({"source_asset": "USDT", "target_asset": "BTC", "source_amount": amount}),
        )
    };
    check(
        &sandbox,
        Case {
            kind: ProviderKind::Whitepay,
            write: convert("k-w", "10.00"),
            write_route: "POST /whitepay/private-api/balances/*".into(),
            read: Read::Step(Step::new("balance.get", "k-r", json!({"asset": "USDT"}))),
            read_route: "GET /whitepay/private-api/balances".into(),
            refused: convert("k-x", "0.50"),
            message: "The amount to convert must be at least 1.00 USDT.",
            invalid: convert("k-i", "10.001"),
        },
    )
    .await;
}

#[tokio::test]
async fn whitestones_own_rate_limit_is_retryable_with_its_retry_after() {
    let sandbox = sandbox_with(|c| c.rate_limit = Some(1)).await;
    let p = provider(&sandbox, ProviderKind::Whitestones);
    let read = Read::Poll("payout", "po_missing".into());
    // One request per second: of three sent at once, two share a second, and the later of
    // them is refused. The others reach the handler (an unknown payout: 404, a rejection).
    let mut limited = None;
    for _ in 0..3 {
        let e = read.run(p.as_ref()).await.unwrap_err();
        if e.status() == Some(429) {
            limited = Some(e);
            break;
        }
        assert_eq!(e.class(), FailureClass::Rejected, "{e}");
        assert_eq!(e.status(), Some(404));
        assert!(e.to_string().contains("no payout `po_missing`"), "{e}");
    }
    let e = limited.expect("a 429 within three requests");
    assert_eq!(e.class(), FailureClass::Retryable, "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
    assert!(e.to_string().contains("rate limiting"), "{e}");
}
