//! Reconciliation: each payment read back from its provider by its recorded object id, and
//! the provider's listings searched for objects that carry a sluice marker but that sluice
//! has no record of. Read-only: only `Provider::poll` and `Provider::list_marked` are
//! called, never a write.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use super::payment::{Payment, PaymentState};
use super::read::{Read, object_of, read_back};
use crate::ids::{ItemKey, RunId, StepId};
use crate::providers::{Marked, NormalizedState, Output, Provider, ProviderError, Unit};
use crate::store::DiscrepancyKind;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// What reconciliation found for one payment or provider object.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The provider agrees with sluice.
    Matched,
    /// Sluice and the provider disagree on whether (or how far) it was paid.
    StateMismatch {
        /// What sluice recorded.
        sluice: PaymentState,
        /// What the provider says now (its own state string, else the normalised one).
        provider: String,
    },
    /// The provider holds another amount than sluice recorded.
    AmountMismatch {
        /// What sluice recorded.
        sluice: Decimal,
        /// What the provider holds.
        provider: Decimal,
    },
    /// The provider holds another asset or currency than sluice recorded.
    UnitMismatch {
        /// What sluice recorded.
        sluice: String,
        /// What the provider holds.
        provider: String,
    },
    /// Sluice recorded an object id the provider does not know.
    MissingAtProvider,
    /// The provider holds an object with a sluice marker that no payment record names.
    UnknownToSluice,
    /// The provider could not be asked (down, credentials refused): nothing is proven.
    Unreadable {
        /// The provider's error.
        reason: String,
    },
    /// This adapter cannot read this kind of payment back.
    Unsupported,
}

impl Verdict {
    /// The name in reports (`state_mismatch`).
    pub fn as_str(&self) -> &'static str {
        match (self, self.case()) {
            (_, Some(kind)) => kind.as_str(),
            (Self::Matched, None) => "matched",
            (Self::Unreadable { .. }, None) => "unreadable",
            (_, None) => "unsupported",
        }
    }

    /// The operator case this disagreement is when `serve` finds it: none when the records
    /// agree, when the provider could not be asked (the next pass asks again), or when the
    /// adapter cannot read the payment back.
    pub fn case(&self) -> Option<DiscrepancyKind> {
        match self {
            Self::StateMismatch { .. } => Some(DiscrepancyKind::StateMismatch),
            Self::AmountMismatch { .. } => Some(DiscrepancyKind::AmountMismatch),
            Self::UnitMismatch { .. } => Some(DiscrepancyKind::CurrencyMismatch),
            Self::MissingAtProvider => Some(DiscrepancyKind::MissingAtProvider),
            Self::UnknownToSluice => Some(DiscrepancyKind::UnknownToSluice),
            Self::Matched | Self::Unreadable { .. } | Self::Unsupported => None,
        }
    }

    /// Whether the records disagree, or could not be compared: `sluice reconcile` exits 1.
    /// An adapter that cannot read a kind of payment back is listed but fails nothing.
    pub fn fails(&self) -> bool {
        !matches!(self, Self::Matched | Self::Unsupported)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StateMismatch { sluice, provider } => {
                write!(f, "sluice says {sluice}, the provider says {provider}")
            }
            Self::AmountMismatch { sluice, provider } => {
                write!(f, "sluice recorded {sluice}, the provider holds {provider}")
            }
            Self::UnitMismatch { sluice, provider } => {
                write!(f, "sluice recorded {sluice}, the provider holds {provider}")
            }
            Self::MissingAtProvider => f.write_str("the provider does not know this object"),
            Self::UnknownToSluice => {
                f.write_str("the provider holds it with a sluice marker, but no record names it")
            }
            Self::Unreadable { reason } => write!(f, "could not be read: {reason}"),
            Self::Unsupported => f.write_str("this provider's adapter cannot read it back"),
            Self::Matched => f.write_str("matched"),
        }
    }
}

/// One line of a reconciliation.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The run of the payment it is about, when one is.
    pub run_id: Option<RunId>,
    /// Its step.
    pub step_id: Option<StepId>,
    /// Its item key.
    pub item_key: Option<ItemKey>,
    /// The provider block.
    pub provider: String,
    /// The provider's object id.
    pub provider_ref: Option<String>,
    /// The idempotency key (the marker).
    pub key: Option<String>,
    /// What was found.
    pub verdict: Verdict,
}

impl Finding {
    fn of(p: &Payment, provider_ref: Option<String>, verdict: Verdict) -> Self {
        Finding {
            run_id: Some(p.run_id.clone()),
            step_id: Some(p.step_id.clone()),
            item_key: Some(p.item_key.clone()),
            provider: p.provider.clone(),
            provider_ref,
            key: p.idempotency_key.clone(),
            verdict,
        }
    }
}

/// Which provider objects with a marker but no record count as unknown to sluice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Only those whose marker is the key of one of the payments (a duplicate, or a payment
    /// a lost process made): a provider's listing cannot tell which run made the others.
    Payments,
    /// Also every marked object created at or after `since` whose key is none of `keys`,
    /// the idempotency keys of every run (of any workflow) active since then.
    Since {
        /// The start of the period.
        since: DateTime<Utc>,
        /// The keys sluice has records of.
        keys: BTreeSet<String>,
    },
}

/// Compares `payments` with what their providers hold. Each payment with an object id is
/// read back; each provider and object kind the payments use is listed, where the adapter
/// can, for objects carrying a marker. Findings are in the payments' order, then the
/// unknown objects.
pub async fn reconcile(
    payments: &[Payment],
    providers: &HashMap<String, Arc<dyn Provider>>,
    scope: &Scope,
) -> Vec<Finding> {
    let mut findings = read_all(payments, providers).await;
    findings.extend(unknown(payments, providers, scope).await);
    findings
}

async fn read_all(
    payments: &[Payment],
    providers: &HashMap<String, Arc<dyn Provider>>,
) -> Vec<Finding> {
    let reads = read_back(payments, providers, |p| p.provider_ref.is_some()).await;
    payments
        .iter()
        .zip(reads)
        .filter_map(|(p, read)| {
            let verdict = match read? {
                Read::NoObject => return None,
                Read::Unsupported => Verdict::Unsupported,
                Read::Answer(answer) => match *answer {
                    Ok(output) => compare(p, &output),
                    Err(ProviderError::Rejected {
                        status: Some(404), ..
                    }) => Verdict::MissingAtProvider,
                    Err(e) => Verdict::Unreadable {
                        reason: e.to_string(),
                    },
                },
            };
            Some(Finding::of(p, p.provider_ref.clone(), verdict))
        })
        .collect()
}

/// The first disagreement between a payment and the provider's object: state, then amount,
/// then asset or currency.
pub fn compare(p: &Payment, o: &Output) -> Verdict {
    let provider_paid = o.state.normalized != NormalizedState::Failed;
    let settled_short =
        p.state == PaymentState::Settled && o.state.normalized != NormalizedState::Succeeded;
    if p.state.is_paid() != provider_paid || settled_short {
        return Verdict::StateMismatch {
            sluice: p.state,
            provider: o
                .state
                .raw
                .clone()
                .unwrap_or_else(|| o.state.normalized.as_str().to_string()),
        };
    }
    if let (Some(sluice), Some(provider)) = (p.reported_amount.or(p.amount), o.amount)
        && sluice != provider
    {
        return Verdict::AmountMismatch { sluice, provider };
    }
    let held = match &o.unit {
        Some(Unit::Asset(u) | Unit::Currency(u)) => u,
        None => return Verdict::Matched,
    };
    let same = match (&p.reported_unit, &p.unit) {
        (Some(recorded), _) => recorded.eq_ignore_ascii_case(held),
        // A bare code sluice sent (`EURC`) names the asset the provider spells in full
        // (`EURC:GDHU…`).
        (None, Some(sent)) => {
            held.eq_ignore_ascii_case(sent)
                || held
                    .split_once(':')
                    .is_some_and(|(code, _)| code.eq_ignore_ascii_case(sent))
        }
        (None, None) => true,
    };
    if same {
        Verdict::Matched
    } else {
        Verdict::UnitMismatch {
            sluice: p
                .reported_unit
                .clone()
                .or(p.unit.clone())
                .unwrap_or_default(),
            provider: held.clone(),
        }
    }
}

/// The marked objects no payment record names: listed once per provider block and object
/// kind the payments use.
async fn unknown(
    payments: &[Payment],
    providers: &HashMap<String, Arc<dyn Provider>>,
    scope: &Scope,
) -> Vec<Finding> {
    let kinds: BTreeSet<(String, &'static str)> = payments
        .iter()
        .filter_map(|p| Some((p.provider.clone(), object_of(p, providers)?.1)))
        .collect();
    let known: BTreeSet<(&str, &str)> = payments
        .iter()
        .filter_map(|p| Some((p.provider.as_str(), p.provider_ref.as_deref()?)))
        .collect();
    let by_key: BTreeMap<&str, &Payment> = payments
        .iter()
        .filter_map(|p| Some((p.idempotency_key.as_deref()?, p)))
        .collect();
    let mut findings = Vec::new();
    for (name, object) in kinds {
        let provider = &providers[&name];
        let listed = match provider.list_marked(object).await {
            Ok(Some(listed)) => listed,
            Ok(None) => continue,
            Err(e) => {
                findings.push(Finding {
                    run_id: None,
                    step_id: None,
                    item_key: None,
                    provider: name.clone(),
                    provider_ref: None,
                    key: None,
                    verdict: Verdict::Unreadable {
                        reason: format!("listing {object}s: {e}"),
                    },
                });
                continue;
            }
        };
        for m in listed {
            if let Some(f) = unknown_one(&name, &m, &known, &by_key, scope) {
                findings.push(f);
            }
        }
    }
    findings
}

fn unknown_one(
    provider: &str,
    m: &Marked,
    known: &BTreeSet<(&str, &str)>,
    by_key: &BTreeMap<&str, &Payment>,
    scope: &Scope,
) -> Option<Finding> {
    let id = m.output.id.clone();
    if id
        .as_deref()
        .is_some_and(|id| known.contains(&(provider, id)))
    {
        return None;
    }
    if let Some(p) = by_key.get(m.key.as_str()) {
        return Some(Finding::of(p, id, Verdict::UnknownToSluice));
    }
    let Scope::Since { since, keys } = scope else {
        return None;
    };
    if m.created_at.is_some_and(|t| t < *since) || keys.contains(m.key.as_str()) {
        return None;
    }
    Some(Finding {
        run_id: None,
        step_id: None,
        item_key: None,
        provider: provider.to_string(),
        provider_ref: id,
        key: Some(m.key.as_str().to_string()),
        verdict: Verdict::UnknownToSluice,
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::Utc;
    use serde_json::Value;

    use super::*;
    use crate::providers::State;

    fn paid(state: PaymentState) -> Payment {
        Payment {
            run_id: "run_1".into(),
            step_id: "pay".into(),
            item_key: "E1".into(),
            provider: "ws".into(),
            action: "transfer",
            amount: Some(Decimal::from_str("12.30").unwrap()),
            unit: Some("EURC".into()),
            provider_ref: Some("tr_1".into()),
            idempotency_key: Some("sl_1".into()),
            state,
            provider_state: Some("PROCESSING".into()),
            reported_amount: None,
            reported_unit: None,
            fee: None,
            sent_at: None,
            updated_at: Utc::now(),
            operator_actions: Vec::new(),
            error: None,
        }
    }

    fn held(state: &str, normalized: NormalizedState, amount: &str, unit: &str) -> Output {
        Output {
            amount: Some(Decimal::from_str(amount).unwrap()),
            unit: Some(Unit::Asset(unit.into())),
            ..Output::new(State::reported(state, normalized), Value::Null)
        }
    }

    #[test]
    fn state_then_amount_then_unit_are_compared() {
        use NormalizedState::{Failed, Processing, Succeeded};
        let committed = paid(PaymentState::Committed);
        let cases = [
            // Scale does not matter, the value does; a bare code names the full asset id.
            (
                &committed,
                held("PROCESSING", Processing, "12.3000000", "EURC:GA5Z"),
                "matched",
            ),
            (
                &committed,
                held("COMPLETED", Succeeded, "12.30", "EURC"),
                "matched",
            ),
            (
                &committed,
                held("FAILED", Failed, "12.30", "EURC"),
                "state_mismatch",
            ),
            (
                &committed,
                held("COMPLETED", Succeeded, "12.31", "EURC"),
                "amount_mismatch",
            ),
            (
                &committed,
                held("COMPLETED", Succeeded, "12.30", "USDC:GA5Z"),
                "currency_mismatch",
            ),
        ];
        for (p, o, want) in cases {
            assert_eq!(compare(p, &o).as_str(), want, "{o:?}");
        }
        let settled = paid(PaymentState::Settled);
        assert_eq!(
            compare(&settled, &held("PROCESSING", Processing, "12.30", "EURC")),
            Verdict::StateMismatch {
                sluice: PaymentState::Settled,
                provider: "PROCESSING".into()
            }
        );
        // Known failed after commit: the provider agrees.
        let failed = paid(PaymentState::FailedAfterCommit);
        assert_eq!(
            compare(&failed, &held("FAILED", Failed, "12.30", "EURC")),
            Verdict::Matched
        );
        // Sluice recorded it failed, but the provider holds it paid: money moved.
        let refused = paid(PaymentState::Failed);
        assert_eq!(
            compare(&refused, &held("COMPLETED", Succeeded, "12.30", "EURC")).as_str(),
            "state_mismatch"
        );
    }

    #[test]
    fn a_marked_object_is_unknown_only_when_no_record_names_it() {
        let p = paid(PaymentState::Committed);
        let known: BTreeSet<(&str, &str)> = [("ws", "tr_1")].into();
        let by_key: BTreeMap<&str, &Payment> = [("sl_1", &p)].into();
        let marked = |id: &str, key: &str| Marked {
            key: crate::providers::IdempotencyKey::new(key).unwrap(),
            created_at: Some(Utc::now()),
            output: Output {
                id: Some(id.into()),
                ..held("COMPLETED", NormalizedState::Succeeded, "1", "EURC")
            },
        };
        let since = Scope::Since {
            since: Utc::now() - chrono::TimeDelta::hours(1),
            keys: ["sl_other_run".to_string()].into(),
        };
        let verdict = |m: &Marked, scope: &Scope| {
            unknown_one("ws", m, &known, &by_key, scope).map(|f| (f.item_key, f.verdict))
        };
        // The recorded object itself.
        assert_eq!(verdict(&marked("tr_1", "sl_1"), &Scope::Payments), None);
        // A second object with the item's marker: a duplicate payment, named by item.
        assert_eq!(
            verdict(&marked("tr_2", "sl_1"), &Scope::Payments),
            Some((Some("E1".into()), Verdict::UnknownToSluice))
        );
        // Another run's marker: unknown only across the period, and not if a run has it.
        assert_eq!(verdict(&marked("tr_3", "sl_x"), &Scope::Payments), None);
        assert_eq!(
            verdict(&marked("tr_3", "sl_x"), &since),
            Some((None, Verdict::UnknownToSluice))
        );
        assert_eq!(verdict(&marked("tr_4", "sl_other_run"), &since), None);
    }
}
