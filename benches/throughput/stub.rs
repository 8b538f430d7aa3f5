//! A provider that answers in-process, with no HTTP: what is left of a run's wall time is
//! the engine's own cost (rendering, scheduling, checkpoints). It plays a Whalestack
//! transfer: the create answers `Continue` with a checkpoint, the commit answers `Done`,
//! with an output of the same shape and size as the sandbox's (about 1.8 kB of JSON), copied
//! from a template built once. Benchmark code only: no test uses it to prove anything.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::header::HeaderMap;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sluice::catalog::ProviderKind;
use sluice::providers::{
    Call, Event, Lookup, NormalizedState, Outcome, Output, ParseError, Provider, ProviderError,
    State, Unit, VerifyError, WireRequest,
};

/// The stub; counts the calls it answered.
#[derive(Debug, Default)]
pub struct Stub {
    calls: AtomicU64,
}

impl Stub {
    /// Calls answered so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

const ASSET: &str = "EURC:GDHU6WRG4IEQXM5NZ4BMPKOXHW76MZM4Y2IEMFDVXBSDP6SJY4ITNPP2";

/// The answer's shape, built once: each call copies it and fills in its own values, as
/// an adapter fills a parsed answer, rather than formatting 1.8 kB of JSON from scratch (which
/// cost more than the engine's own work per item and was counted as the engine's).
fn template() -> &'static Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        json!({
            "transfer": {
                "id": "",
                "type": "TRANSFER",
                "state": "",
                "origin": "API",
                "network": "",
                "timestamp": "2025-03-07T09:00:00+00:00",
                "note": "",
                "sourceAmountGross": "",
                "sourceAsset": ASSET,
                "networkFeeAmount": "0.0000000",
                "networkFeeAsset": ASSET,
                "targetAmountNet": "",
                "targetAsset": ASSET,
                "blockchainTransactions": [],
                "targetAccount": {
                    "network": "",
                    "label": "",
                    "fields": {
                        "iban": "SANDBOX2C0BEC4FF3758B42",
                        "bic": "SANDBOX2C0BEC4FF3758B42",
                        "bankName": "SANDBOX2C0BEC4FF3758B42",
                        "bankAddress": "SANDBOX2C0BEC4FF3758B42",
                    },
                    "fieldConfig": [
                        {"key": "iban", "label": "IBAN",
                         "description": "The international bank account number (IBAN)."},
                        {"key": "bic", "label": "SWIFT/BIC",
                         "description": "The 8-11 character SWIFT or BIC code identifying your bank or financial institution."},
                        {"key": "bankName", "label": "Bank Name",
                         "description": "The beneficiary bank name."},
                        {"key": "bankAddress", "label": "Bank Address",
                         "description": "The beneficiary bank address."},
                    ],
                    "state": "ACTIVE",
                    "timestamp": "2025-03-07T09:00:00+00:00",
                    "beneficiaryId": null,
                },
                "webhook": null,
            }
        })
    })
}

fn transfer(call: &Call<'_>, state: &str, normalized: NormalizedState) -> Output {
    let id = format!(
        "tr_{}",
        &call.key.as_str()[call.key.as_str().len().saturating_sub(12)..]
    );
    let text = |field: &str| {
        call.with
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let amount: Decimal = text("amount").parse().unwrap_or_default();
    let amount_text = format!("{amount:.7}");
    let note = format!("{} {}", text("note"), call.key.marker());
    let mut raw = template().clone();
    let t = &mut raw["transfer"];
    t["id"] = id.as_str().into();
    t["state"] = state.into();
    t["network"] = text("network").into();
    t["note"] = note.as_str().into();
    t["sourceAmountGross"] = amount_text.as_str().into();
    t["targetAmountNet"] = amount_text.as_str().into();
    t["targetAccount"]["network"] = text("network").into();
    t["targetAccount"]["label"] = text("target_account").into();
    let mut fields = Map::new();
    for (name, value) in [
        ("target_amount", amount_text),
        ("target_asset", ASSET.to_string()),
        ("fee_asset", ASSET.to_string()),
        ("network", text("network").to_string()),
        ("note", note),
    ] {
        fields.insert(name.into(), value.into());
    }
    Output {
        id: Some(id),
        state: State::reported(state, normalized),
        amount: Some(amount),
        unit: Some(Unit::Asset(ASSET.into())),
        fee: Some(Decimal::ZERO),
        fields,
        raw,
    }
}

/// The error of the benchmark stub asked for anything but an execute.
fn unsupported(provider: &str, action: &str, what: &str) -> ProviderError {
    ProviderError::Invalid {
        provider: provider.into(),
        action: action.into(),
        reason: format!("{what} only executes"),
        source: None,
    }
}

#[async_trait::async_trait]
impl Provider for Stub {
    fn name(&self) -> &str {
        "ws"
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Whalestack
    }

    async fn execute(&self, call: &Call<'_>) -> Result<Outcome, ProviderError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(match call.checkpoint {
            None => {
                let output = transfer(call, "PENDING_API_COMMIT", NormalizedState::RequiresAction);
                Outcome::Continue {
                    checkpoint: json!({
                        "object": "transfer",
                        "id": output.id,
                        "expire_time": "2025-03-07T09:05:00+00:00",
                    }),
                    output,
                }
            }
            Some(_) => Outcome::Done(transfer(call, "PROCESSING", NormalizedState::Processing)),
        })
    }

    async fn lookup(
        &self,
        _call: &Call<'_>,
        _provider_ref: Option<&str>,
    ) -> Result<Lookup, ProviderError> {
        Ok(Lookup::Unknown {
            reason: "the benchmark stub keeps no state to look up".into(),
        })
    }

    async fn poll(&self, object: &str, _id: &str) -> Result<Output, ProviderError> {
        Err(unsupported(self.name(), object, "the benchmark stub"))
    }

    fn preview(&self, call: &Call<'_>) -> Result<Vec<WireRequest>, ProviderError> {
        Err(unsupported(self.name(), call.action, "the benchmark stub"))
    }

    fn verify_webhook(&self, _headers: &HeaderMap, _body: &[u8]) -> Result<(), VerifyError> {
        Err(VerifyError::Unsupported {
            provider: self.name().into(),
        })
    }

    fn parse_event(&self, _body: &[u8]) -> Result<Event, ParseError> {
        Err(ParseError::Unsupported {
            provider: self.name().into(),
        })
    }
}
