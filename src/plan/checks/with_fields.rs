//! `with:` checks against the catalog: required, one-of and unknown fields, for the
//! provider that runs the step.
//!
//! When the provider is known and supports the action, its own table decides; otherwise
//! (a control action, or a provider that is unknown or lacks the action, reported
//! elsewhere) the action's fields across every provider do.

use super::Checker;
use crate::catalog::{self, ActionSpec, NoEquivalent, Offer, ProviderKind};
use crate::spec::diagnostic::did_you_mean;
use crate::spec::{Code, Diagnostic, Seg};

/// The fields a step may and must have: its provider's offer, or the action's at large.
struct Contract {
    /// The provider whose own table decides, when one does.
    provider: Option<ProviderKind>,
    required: Vec<&'static str>,
    accepted: Vec<&'static str>,
}

impl Contract {
    fn of(action: &ActionSpec, kind: Option<ProviderKind>) -> Self {
        if !action.needs_provider() {
            return Self::from_offer(None, catalog::control(action.name));
        }
        match kind.and_then(|k| catalog::offer(k, action.name)) {
            Some(offer) => Self::from_offer(kind, Some(offer)),
            None => Contract {
                provider: None,
                required: catalog::common_required(action.name),
                accepted: catalog::any_fields(action.name),
            },
        }
    }

    fn from_offer(provider: Option<ProviderKind>, offer: Option<&'static Offer>) -> Self {
        Contract {
            provider,
            required: offer.into_iter().flat_map(Offer::required).collect(),
            accepted: offer.into_iter().flat_map(Offer::accepted).collect(),
        }
    }
}

/// Checks step `index`'s `with` against `action` as its provider (`kind`) runs it.
pub fn check(c: &mut Checker<'_>, index: usize, action: &ActionSpec, kind: Option<ProviderKind>) {
    let contract = Contract::of(action, kind);
    check_missing(c, index, action, &contract);
    let unknown: Vec<String> = c.cfg.steps[index]
        .with
        .keys()
        .filter(|k| !contract.accepted.contains(&k.as_str()))
        .cloned()
        .collect();
    for field in unknown {
        let d = unknown_field(action, &contract, &field);
        let at = c.src.key_span(&[
            Seg::Key("steps"),
            Seg::Index(index),
            Seg::Key("with"),
            Seg::Key(&field),
        ]);
        c.report(d.at(at));
    }
}

fn check_missing(c: &mut Checker<'_>, index: usize, action: &ActionSpec, contract: &Contract) {
    let step = &c.cfg.steps[index];
    let with = &step.with;
    let mut missing: Vec<String> = contract
        .required
        .iter()
        .filter(|f| !with.contains_key(**f))
        .map(|f| format!("`{f}`"))
        .collect();
    for group in action.one_of {
        // A group one of whose fields is itself required is already covered above.
        let covered = group.iter().any(|f| contract.required.contains(f));
        if !covered && !group.iter().any(|f| with.contains_key(*f)) {
            let names: Vec<String> = group.iter().map(|f| format!("`{f}`")).collect();
            missing.push(format!("one of {}", names.join(" or ")));
        }
    }
    if missing.is_empty() {
        return;
    }
    let step_path = [Seg::Key("steps"), Seg::Index(index)];
    let at = c
        .src
        .key_span(&[step_path[0], step_path[1], Seg::Key("with")])
        .or_else(|| c.src.span(&[step_path[0], step_path[1], Seg::Key("uses")]));
    let d = Diagnostic::new(
        Code::E019,
        format!(
            "step `{}` (`{}`) is missing {}",
            step.id,
            action.name,
            missing.join(", ")
        ),
    )
    .at(at);
    c.report(d);
}

/// A field outside the contract: one some other provider carries (E032, the provider's
/// table lacks it), or one no provider does (E020, most likely a typo).
fn unknown_field(action: &ActionSpec, contract: &Contract, field: &str) -> Diagnostic {
    let known = contract.accepted.iter().copied();
    let takes = format!(
        "`{}` takes {}",
        action.name,
        contract
            .accepted
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(kind) = contract.provider
        && catalog::any_fields(action.name).contains(&field)
    {
        let refusal = NoEquivalent {
            kind,
            action: action.name.to_string(),
            fields: vec![field.to_string()],
        };
        return Diagnostic::new(Code::E032, refusal.to_string())
            .hint(format!("with `{kind}`, {takes}"));
    }
    Diagnostic::new(
        Code::E020,
        format!("`{}` takes no field `{field}`", action.name),
    )
    .maybe_hint(did_you_mean(field, known).or(Some(takes)))
}
