//! Building adapters from provider blocks: every kind builds, missing credentials and
//! unknown path overrides are refused, and nothing prints a credential.

use serde_json::json;
use sluice::catalog::ProviderKind;
use sluice::providers::{Call, FailureClass, HttpClient, IdempotencyKey, build};

use super::fake::{block, with};

#[test]
fn every_kind_builds_and_refuses_missing_credentials() {
    let http = HttpClient::new().unwrap();
    let creds = [
        ("api_key", "k-sentinel-1"),
        ("api_secret", "s-sentinel-2"),
        ("secret_key", "sk-sentinel-3"),
        ("token", "t-sentinel-4"),
    ];
    for kind in ProviderKind::ALL {
        let p = build(&block(kind, "http://127.0.0.1:9", &creds), &http).unwrap();
        assert_eq!(p.kind(), kind);
        assert_eq!(p.name(), format!("test_{kind}"));
        assert_eq!(p.capabilities().kind, kind);
        let shown = format!("{p:?}");
        for (_, secret) in creds {
            assert!(!shown.contains(secret), "{kind}: {shown}");
        }
        if kind.credential_fields().is_empty() {
            continue; // an `http` block may need no credentials at all
        }
        let e = build(&block(kind, "http://127.0.0.1:9", &[]), &http).unwrap_err();
        assert_eq!(e.class(), FailureClass::Invalid);
        assert!(e.to_string().contains("is required"), "{e}");
    }
    let mut b = block(ProviderKind::Whitestones, "http://x", &creds);
    b.paths.insert("payuots".into(), "/p".into());
    assert!(
        build(&b, &http)
            .unwrap_err()
            .to_string()
            .contains("`paths.payuots`")
    );
}

#[test]
fn unsupported_actions_and_objects_are_invalid() {
    let http = HttpClient::new().unwrap();
    let p = build(
        &block(
            ProviderKind::White,
            "http://127.0.0.1:9",
            &[("secret_key", "sk")],
        ),
        &http,
    )
    .unwrap();
    let w = with(json!({"source_asset": "A", "target_asset": "B", "source_amount": "1"}));
    let key = IdempotencyKey::new("k").unwrap();
    let e = p
        .preview(&Call {
            action: "swap",
            with: &w,
            key: &key,
            checkpoint: None,
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`swap` for `test_white`: `white` has no action `swap`"
    );
    let e = p
        .preview(&Call {
            action: "webhook.await",
            with: &w,
            key: &key,
            checkpoint: None,
        })
        .unwrap_err();
    assert!(e.to_string().contains("runs in the engine"), "{e}");
}
