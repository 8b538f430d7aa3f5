//! `providers:` checks: credentials each kind needs, well-formed `${VAR}` references, and
//! which provider a step runs against.

use super::Checker;
use crate::catalog::ProviderKind;
use crate::spec::diagnostic::did_you_mean;
use crate::spec::env;
use crate::spec::{AuthConfig, Code, Diagnostic, HttpAuthConfig, ProviderConfig, Seg};

/// Checks every provider block.
pub fn check(c: &mut Checker<'_>) {
    for (name, p) in &c.cfg.providers {
        for field in p.kind.credential_fields() {
            if credential(p, field).is_none() {
                let d = Diagnostic::new(
                    Code::E026,
                    format!("provider `{name}` ({}) needs `{field}`", p.kind),
                )
                .at(c.src.key_span(&[Seg::Key("providers"), Seg::Key(name)]))
                .hint(format!(
                    "add `{field}: ${{{}}}` and set that variable in the environment",
                    suggested_var(name, field)
                ));
                c.report(d);
            }
        }
        for field in [
            "api_key",
            "api_secret",
            "secret_key",
            "token",
            "webhook_secret",
        ] {
            let literal = credential(p, field).is_some_and(|v| !v.contains("${"));
            if literal {
                // No caret: the caret line would print the credential itself.
                let d = Diagnostic::new(
                    Code::W003,
                    format!("`providers.{name}.{field}` is written in the file"),
                )
                .at(c.src.key_span(&[Seg::Key("providers"), Seg::Key(name)]))
                .hint(format!(
                    "read it from the environment: `{field}: ${{{}}}`",
                    suggested_var(name, field)
                ));
                c.report(d);
            }
        }
        check_http_settings(c, name, p);
        for (field, value) in interpolated_fields(p) {
            if let Err(e) = env::parse(value, &format!("providers.{name}.{field}")) {
                let d = Diagnostic::new(Code::E027, e.to_string()).at(c.src.span(&[
                    Seg::Key("providers"),
                    Seg::Key(name),
                    Seg::Key(field),
                ]));
                c.report(d);
            }
        }
    }
    if let Some(default) = &c.cfg.defaults.provider
        && !c.cfg.providers.contains_key(default)
    {
        let d = unknown(c, default).at(c.src.span(&[Seg::Key("defaults"), Seg::Key("provider")]));
        c.report(d);
    }
}

/// The provider block a step runs against: its own `provider`, else `defaults.provider`,
/// else the only provider declared. Reports when there is none or it is unknown.
pub fn resolve(c: &mut Checker<'_>, index: usize) -> Option<String> {
    let step = &c.cfg.steps[index];
    if let Some(name) = &step.provider {
        if c.cfg.providers.contains_key(name) {
            return Some(name.clone());
        }
        let d = unknown(c, name).at(c.src.span(&[
            Seg::Key("steps"),
            Seg::Index(index),
            Seg::Key("provider"),
        ]));
        c.report(d);
        return None;
    }
    if let Some(name) = &c.cfg.defaults.provider {
        return c.cfg.providers.contains_key(name).then(|| name.clone());
    }
    if c.cfg.providers.len() == 1 {
        return c.cfg.providers.keys().next().cloned();
    }
    let d = Diagnostic::new(
        Code::E025,
        format!(
            "step `{}` uses `{}` but names no provider",
            step.id, step.uses
        ),
    )
    .at(c
        .src
        .span(&[Seg::Key("steps"), Seg::Index(index), Seg::Key("uses")]))
    .hint(if c.cfg.providers.is_empty() {
        "declare the account under `providers:`".to_string()
    } else {
        "add `provider:` to the step or set `defaults.provider`".to_string()
    });
    c.report(d);
    None
}

fn unknown(c: &Checker<'_>, name: &str) -> Diagnostic {
    Diagnostic::new(Code::E025, format!("unknown provider `{name}`"))
        .label("not declared under `providers:`")
        .maybe_hint(did_you_mean(
            name,
            c.cfg.providers.keys().map(String::as_str),
        ))
}

/// `auth: bearer | basic | hmac`, `headers` and `idempotency_header` belong to `kind:
/// http` blocks, and `auth: digest | basic` to the others; an `http` block's credentials are
/// read from the environment like any other.
fn check_http_settings(c: &mut Checker<'_>, name: &str, p: &ProviderConfig) {
    let http = p.kind == ProviderKind::Http;
    // At the block's name: a caret line on `auth` could print a credential.
    let place = c.src.key_span(&[Seg::Key("providers"), Seg::Key(name)]);
    let misplaced = match &p.auth {
        Some(AuthConfig::Http(_)) if !http => Some((
            "auth",
            "`auth: bearer | basic | hmac` is for `kind: http` blocks",
        )),
        Some(AuthConfig::Mode(_)) if http => Some((
            "auth",
            "an `http` block's `auth` is `bearer`, `basic: {user, password}` or `hmac: {secret, header}`",
        )),
        _ if !http && !p.headers.is_empty() => {
            Some(("headers", "`headers` is for `kind: http` blocks"))
        }
        _ if !http && p.idempotency_header.is_some() => Some((
            "idempotency_header",
            "`idempotency_header` is for `kind: http` blocks",
        )),
        _ => None,
    };
    if let Some((field, message)) = misplaced {
        let d = Diagnostic::new(Code::E033, format!("`providers.{name}.{field}`: {message}"));
        c.report(d.at(place));
    }
    let Some(AuthConfig::Http(auth)) = &p.auth else {
        return;
    };
    let (field, secret) = match auth {
        HttpAuthConfig::Bearer(token) => ("auth.bearer", token),
        HttpAuthConfig::Basic { password, .. } => ("auth.basic.password", password),
        HttpAuthConfig::Hmac(h) => ("auth.hmac.secret", &h.secret),
    };
    if let Err(e) = env::parse(secret, &format!("providers.{name}.{field}")) {
        c.report(Diagnostic::new(Code::E027, e.to_string()).at(place));
    } else if !secret.contains("${") {
        // No caret: the caret line would print the credential itself.
        let d = Diagnostic::new(
            Code::W003,
            format!("`providers.{name}.{field}` is written in the file"),
        )
        .at(place)
        .hint(format!(
            "read it from the environment: `${{{}}}`",
            suggested_var(name, "token")
        ));
        c.report(d);
    }
}

fn credential<'p>(p: &'p ProviderConfig, field: &str) -> Option<&'p String> {
    match field {
        "api_key" => p.api_key.as_ref(),
        "api_secret" => p.api_secret.as_ref(),
        "secret_key" => p.secret_key.as_ref(),
        "token" => p.token.as_ref(),
        "webhook_secret" => p.webhook_secret.as_ref(),
        _ => None,
    }
}

fn interpolated_fields(p: &ProviderConfig) -> Vec<(&'static str, &str)> {
    [
        ("base_url", &p.base_url),
        ("api_key", &p.api_key),
        ("api_secret", &p.api_secret),
        ("secret_key", &p.secret_key),
        ("token", &p.token),
        ("webhook_secret", &p.webhook_secret),
        ("webhook_signature_header", &p.webhook_signature_header),
        ("idempotency_header", &p.idempotency_header),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.as_deref().map(|v| (f, v)))
    .collect()
}

fn suggested_var(name: &str, field: &str) -> String {
    format!("{name}_{field}").to_ascii_uppercase()
}
