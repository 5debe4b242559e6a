//! The committed JSON Schema (`catalog/catalog.schema.json`) is what `format_schema()` says.
//!
//! Editors read the committed file (the catalogs' `#:schema` line points at it), so it must
//! not drift from the model. Regenerate it with:
//!
//! ```text
//! TALLY_BLESS=1 cargo test -p tally-catalog --test schema
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("catalog.schema.json")
}

fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&tally_catalog::format_schema()).unwrap();
    text.push('\n');
    text
}

#[test]
fn committed_schema_is_current() {
    let path = schema_path();
    let expected = generated();
    if std::env::var("TALLY_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
        .replace("\r\n", "\n");
    // Compared as JSON, not text: key order depends on whether serde_json's `preserve_order`
    // is unified in by another crate of the build (the CLI's is).
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&expected).unwrap();
    assert!(
        committed == expected,
        "{} is stale: regenerate it with `TALLY_BLESS=1 cargo test -p tally-catalog --test schema`",
        path.display()
    );
}

#[test]
fn fill_sources_are_completed_by_editors() {
    let schema = tally_catalog::format_schema();
    let fill = &schema["$defs"]["Property"]["properties"]["fill"];
    let text = fill.to_string();
    assert!(text.contains("#/$defs/Fill"), "`fill` should refer to the Fill schema: {text}");
    let names = schema["$defs"]["Fill"]["anyOf"][0]["enum"].as_array().unwrap();
    assert!(names.contains(&serde_json::json!("timestamp")));
    assert!(names.contains(&serde_json::json!("request_id")));
    assert_eq!(names.len(), 33);
}

#[test]
fn schema_describes_the_top_level_tables() {
    let schema: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    let mut keys: Vec<&str> = properties.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = [
        "catalog",
        "identity",
        "groups",
        "retention",
        "categories",
        "common",
        "privacy",
        "lints",
        "events",
        "funnels",
        "changelog",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(schema["required"], serde_json::json!(["catalog"]));
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    // Every table documents itself, so editors show the doc comment on hover.
    for (key, value) in properties {
        assert!(value.get("description").is_some(), "`{key}` has no description in the schema");
    }
}
