//! `with:` checks against the action catalogue: required, one-of and unknown fields.

use super::Checker;
use crate::providers::{ProviderKind, extra_required};
use crate::spec::actions::{ActionSpec, COMMON_FIELDS};
use crate::spec::diagnostic::did_you_mean;
use crate::spec::{Code, Diagnostic, Seg};

/// Checks step `index`'s `with` against `action` (and its provider's extra requirements).
pub fn check(c: &mut Checker<'_>, index: usize, action: &ActionSpec, kind: Option<ProviderKind>) {
    let step = &c.cfg.steps[index];
    let with = &step.with;
    let step_path = [Seg::Key("steps"), Seg::Index(index)];
    let with_span = c
        .src
        .key_span(&[step_path[0], step_path[1], Seg::Key("with")])
        .or_else(|| c.src.span(&[step_path[0], step_path[1], Seg::Key("uses")]));
    let extra = kind.map_or(&[][..], |k| extra_required(k, action.name));
    let mut required: Vec<&str> = Vec::new();
    for f in action.required.iter().chain(extra) {
        if !required.contains(f) {
            required.push(f);
        }
    }
    let mut missing: Vec<String> = required
        .iter()
        .filter(|f| !with.contains_key(**f))
        .map(|f| format!("`{f}`"))
        .collect();
    for group in action.one_of {
        // A group one of whose fields is itself required is already covered above.
        let covered = group.iter().any(|f| required.contains(f));
        if !covered && !group.iter().any(|f| with.contains_key(*f)) {
            let names: Vec<String> = group.iter().map(|f| format!("`{f}`")).collect();
            missing.push(format!("one of {}", names.join(" or ")));
        }
    }
    if !missing.is_empty() {
        let d = Diagnostic::new(
            Code::E019,
            format!(
                "step `{}` (`{}`) is missing {}",
                step.id,
                action.name,
                missing.join(", ")
            ),
        )
        .at(with_span);
        c.report(d);
    }
    let common: &[&str] = if action.needs_provider() {
        COMMON_FIELDS
    } else {
        &[]
    };
    let known: Vec<&str> = action.fields().chain(common.iter().copied()).collect();
    let unknown: Vec<String> = with
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    for field in unknown {
        let d = Diagnostic::new(
            Code::E020,
            format!("`{}` takes no field `{field}`", action.name),
        )
        .at(c.src.key_span(&[
            step_path[0],
            step_path[1],
            Seg::Key("with"),
            Seg::Key(&field),
        ]))
        .maybe_hint(did_you_mean(&field, known.iter().copied()).or_else(|| {
            Some(format!(
                "`{}` takes {}",
                action.name,
                known
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }));
        c.report(d);
    }
}
