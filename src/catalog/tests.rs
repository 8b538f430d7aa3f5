use super::*;

fn every_offer() -> impl Iterator<Item = (Option<ProviderKind>, &'static Offer)> {
    let control = CONTROL.iter().map(|o| (None, o));
    let providers = ProviderKind::ALL
        .into_iter()
        .flat_map(|k| table(k).offers.iter().map(move |o| (Some(k), o)));
    control.chain(providers)
}

#[test]
fn actions_and_offers_are_sorted_and_tables_name_their_kind() {
    let names: Vec<_> = ACTIONS.iter().map(|a| a.name).collect();
    assert!(names.is_sorted(), "{names:?}");
    for kind in ProviderKind::ALL {
        assert_eq!(table(kind).kind, kind);
        let offered: Vec<_> = table(kind).action_names().collect();
        assert!(offered.is_sorted(), "{kind}: {offered:?}");
        // An arbitrary HTTP API sends no events sluice could wait for.
        let events = kind != ProviderKind::Http;
        assert_eq!(offered.contains(&"webhook.await"), events, "{kind}");
    }
    let controls: Vec<_> = CONTROL.iter().map(|o| o.action.name).collect();
    assert!(controls.is_sorted());
}

#[test]
fn every_action_is_offered_and_every_offer_is_an_action() {
    for a in ACTIONS {
        assert!(
            offers(a.name).next().is_some(),
            "nobody offers `{}`",
            a.name
        );
    }
    for (kind, o) in every_offer() {
        assert_eq!(action(o.action.name).map(|a| a.kind), Some(o.action.kind));
        assert_eq!(
            kind.is_none(),
            !o.action.needs_provider(),
            "{}",
            o.action.name
        );
    }
}

#[test]
fn fields_are_unique_required_first_and_money_is_typed_as_money() {
    for (kind, o) in every_offer() {
        let at = format!("{kind:?} `{}`", o.action.name);
        let names: Vec<_> = o.fields.iter().map(|f| f.name).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "duplicate field in {at}");
        assert!(!names.contains(&EXTRA), "{at} lists `extra` as a field");
        let optional_seen = o.fields.iter().position(|f| !f.is_required());
        let last_required = o.fields.iter().rposition(Field::is_required);
        if let (Some(opt), Some(req)) = (optional_seen, last_required) {
            assert!(req < opt, "{at}: required fields come first");
        }
        for f in o.fields {
            let money = o.action.money_field(f.name).is_some();
            assert_eq!(money, f.ty == FieldType::Amount, "{at}: `{}`", f.name);
        }
        for group in o.action.one_of {
            assert!(
                group.iter().any(|f| o.accepts(f)),
                "{at} accepts none of {group:?}"
            );
        }
        assert_eq!(o.extra == Extra::Refused, kind.is_none(), "{at}: `extra`");
    }
}

#[test]
fn refusals_name_the_provider_the_field_and_the_way_out() {
    let err = check_fields(
        ProviderKind::Whitestones,
        "transfer",
        ["amount", "network", "currency", "extra"],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`whitestones` has no equivalent of `network` for `transfer`; send the provider's own \
         field through `extra`"
    );
    assert!(check_fields(ProviderKind::Whalestack, "transfer", ["network", "extra"]).is_ok());
    assert_eq!(common_required("transfer"), ["amount"]);
    assert_eq!(common_required("swap"), ["source_asset", "target_asset"]);
    assert!(any_fields("transfer").contains(&"recipient"));
    assert!(any_fields("transfer").contains(&"network"));
}

#[test]
fn literal_shapes_follow_the_types_and_the_extra_rules() {
    use serde_json::json;
    assert!(FieldType::Mapping.admits(&json!({"name": "Ada"})));
    assert!(!FieldType::Mapping.admits(&json!("Ada")));
    assert!(FieldType::Boolean.admits(&json!("false")));
    assert!(!FieldType::Boolean.admits(&json!("yes")));
    assert!(FieldType::Text.admits(&json!(42)));
    assert!(!FieldType::Amount.admits(&json!(["1"])));
    assert!(
        FieldType::Mapping.admits(&serde_json::Value::Null),
        "null is absent"
    );
    assert!(Extra::Body.admits(&json!({"a": {"b": 1}})));
    assert!(!Extra::Body.admits(&json!(["a"])));
    assert!(Extra::Query.admits(&json!({"switch": "receive-amount", "n": 1})));
    assert!(!Extra::Query.admits(&json!({"a": {"b": 1}})));
}
