//! `tally schema`: JSON Schemas of the seed catalogs' events, and the format schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::{Value, json};

use common::{SEEDS, json, seed, tally, tally_in, workspace};

#[test]
fn snapshots() {
    for name in SEEDS {
        let run = tally(&["schema", &seed(name)]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        insta::assert_snapshot!(format!("schema_{name}"), run.stdout);
    }
}

#[test]
fn every_event_gets_a_2020_12_schema_keyed_by_wire_name() {
    for name in SEEDS {
        let catalog = tally_catalog::Catalog::from_path(workspace().join(seed(name))).unwrap();
        let all = json(&tally(&["schema", &seed(name)]));
        let all = all.as_object().unwrap();
        assert_eq!(all.len(), catalog.events().count(), "{name}");
        for (event_name, event) in catalog.events() {
            let wire = catalog.wire_name(event_name);
            let schema = &all[&wire];
            assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
            assert_eq!(schema["title"], wire.as_str());
            assert_eq!(schema["type"], "object");
            let properties = schema["properties"].as_object().unwrap();
            for (property, declared) in event.properties() {
                let key = catalog.wire_name(property);
                let dropped = declared.privacy() == tally_catalog::model::Privacy::Drop;
                assert_eq!(properties.contains_key(&key), !dropped, "{wire}: {key}");
            }
            for required in schema["required"].as_array().unwrap() {
                assert!(properties.contains_key(required.as_str().unwrap()), "{wire}: {required}");
            }
        }
    }
}

#[test]
fn types_enums_nullability_and_lengths() {
    let teleport = json(&tally(&["schema", &seed("teleport"), "--event", "tp.sso.create"]));
    assert_eq!(teleport["properties"]["tp.connector_type"]["enum"], json!(["github", "saml", "oidc"]));
    assert_eq!(teleport["properties"]["tp.connector_type"]["minLength"], 1);
    assert_eq!(teleport["required"], json!(["tp.connector_type"]));

    let login = json(&tally(&["schema", &seed("teleport"), "--event", "user.login"]));
    // Pseudonymized: a 64-hex-digit keyed hash; filled properties are not `required`.
    assert_eq!(login["properties"]["tp.user_name"]["pattern"], "^[0-9a-f]{64}$");
    assert_eq!(login["required"], json!([]));
    assert_eq!(login["properties"]["$set_once"]["properties"]["tp.first_login"]["format"], "date-time");

    let timer = json(&tally(&["schema", &seed("timetracker"), "--event", "timer.started"]));
    assert_eq!(timer["properties"]["task_id"]["type"], json!(["string", "null"]));
    assert!(timer["properties"].get("description").is_none(), "privacy = drop is never sent");
    assert!(timer["properties"].get("timestamp").is_some(), "common properties are included");

    let auterity = json(&tally(&["schema", &seed("auterity"), "--event", "workflow.updated"]));
    let changes = &auterity["properties"]["changes_made"];
    assert_eq!(changes["type"], "array");
    assert_eq!(changes["items"]["enum"], json!(["nodes_added", "nodes_removed", "config_changed"]));
    assert_eq!(auterity["properties"]["event_id"]["format"], "uuid");
    let failed = json(&tally(&["schema", &seed("auterity"), "--event", "system.error_occurred"]));
    assert_eq!(failed["properties"]["error_message"]["maxLength"], 1000);
}

#[test]
fn output_directory_gets_one_file_per_event() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = workspace().join(seed("teleport"));
    let run = tally_in(dir.path(), &["schema", catalog.to_str().unwrap(), "-o", "schemas"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("wrote 12 schemas to schemas"), "{}", run.stderr);
    let file = dir.path().join("schemas/tp.ui.onboard.domainNameTC.submit.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(schema["title"], "tp.ui.onboard.domainNameTC.submit");
    assert_eq!(std::fs::read_dir(dir.path().join("schemas")).unwrap().count(), 12);
}

#[test]
fn the_format_schema_is_the_catalog_crates() {
    let run = tally(&["schema", "--format-schema"]);
    assert_eq!(run.code, 0);
    assert_eq!(json(&run), tally_catalog::format_schema());
}

#[test]
fn bad_input() {
    let run = tally(&["schema", &seed("teleport"), "--event", "user.logn"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("has no event `user.logn`; did you mean `user.login`?"), "{}", run.stderr);
    // No path outside a crate: nothing to find.
    let outside = tempfile::tempdir().unwrap();
    let run = common::tally_in(outside.path(), &["schema"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("give the catalog's path"), "{}", run.stderr);
    let run = tally(&["schema", "missing.toml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read the catalog `missing.toml`"), "{}", run.stderr);
    let run = tally(&["schema", "examples/catalogs"]);
    assert_eq!(run.code, 2);
    let file = tempfile::NamedTempFile::new().unwrap();
    let run = tally(&["schema", &seed("teleport"), "-o", file.path().to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("-o takes a directory"), "{}", run.stderr);
}
