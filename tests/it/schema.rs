//! The checked-in JSON Schema: generated from the model, valid for every example, and
//! rejecting the broken fixtures that are wrong at the schema level.

use crate::support::root;

fn yaml_as_json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/workflow.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

#[test]
fn checked_in_schema_matches_the_model() {
    let generated = sluice::spec::schema::workflow_schema();
    let path = root().join("schemas/workflow.schema.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if generated != checked_in && std::env::var_os("SLUICE_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    assert!(
        generated == checked_in,
        "schemas/workflow.schema.json is stale: run `cargo run -- schema --out schemas/workflow.schema.json`"
    );
}

#[test]
fn examples_pass_and_schema_level_fixtures_fail() {
    let v = validator();
    for entry in std::fs::read_dir(root().join("workflows")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") {
            let doc = yaml_as_json(&format!("workflows/{name}"));
            let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{name}: {errors:?}");
        }
    }
    for name in [
        "e002-wrong-type",
        "e002-missing-field",
        "e002-bad-duration",
        "e003-unknown-field",
        "e004-version",
        "e011-step-id",
        "e017-unknown-action",
        "e037-reconcile-every",
    ] {
        let doc = yaml_as_json(&format!("tests/fixtures/invalid/{name}.yaml"));
        assert!(!v.is_valid(&doc), "{name} passes the schema");
    }
}
