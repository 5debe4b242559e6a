//! `docs/catalog.md` documents the whole format: every key of every table, every enum value,
//! fill source, lint rule and error code; and its TOML examples are valid.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::Value;
use tally_catalog::Catalog;
use tally_catalog::lint::RULES;
use tally_catalog::model::{Fill, Role};

/// Every code a catalog can fail to load with.
const STRUCTURAL_CODES: &[&str] = &[
    "unreadable",
    "invalid-utf8",
    "toml-syntax",
    "unknown-key",
    "unknown-value",
    "missing-key",
    "duplicate-key",
    "invalid-type",
    "invalid-version",
    "invalid-namespace",
    "invalid-period",
    "invalid-format",
    "invalid-funnel",
    "invalid-person-source",
    "unknown-reference",
    "unknown-rule",
    "missing-reason",
    "duplicate-role",
    "duplicate-value",
    "empty-name",
    "missing-items",
    "nested-array",
    "misplaced-key",
    "fill-type-mismatch",
    "invalid-statuses",
    "personal-fill",
];

fn docs() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/catalog.md")).unwrap()
}

/// The fenced blocks of a language, with the line they start on.
fn blocks<'a>(text: &'a str, language: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, Vec<&'a str>)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == format!("```{language}") => current = Some((i + 1, Vec::new())),
            Some((start, lines)) if line.trim_start() == "```" => {
                found.push((*start, lines.join("\n") + "\n"));
                current = None;
            }
            Some((_, lines)) => lines.push(line),
            None => {}
        }
    }
    found
}

#[test]
fn every_key_of_every_table_is_documented() {
    let docs = docs();
    let schema = tally_catalog::format_schema();
    let mut missing = Vec::new();
    // The top-level tables each have a section.
    for key in schema["properties"].as_object().unwrap().keys() {
        if !docs.contains(&format!("### `[{key}")) && !docs.contains(&format!("### `[[{key}")) {
            missing.push(format!("[{key}]"));
        }
    }
    let defs = schema["$defs"].as_object().unwrap();
    let tables = defs.iter().filter_map(|(name, def)| Some((name.as_str(), def.get("properties")?.as_object()?)));
    for (table, keys) in tables {
        for key in keys.keys() {
            if !docs.contains(&format!("| `{key}` |")) {
                missing.push(format!("{table}.{key}"));
            }
        }
    }
    assert!(missing.is_empty(), "keys without a row in docs/catalog.md: {missing:?}");
}

#[test]
fn every_enum_value_is_documented() {
    let docs = docs();
    let schema = tally_catalog::format_schema();
    let mut missing = Vec::new();
    let mut checked = 0;
    for (name, def) in schema["$defs"].as_object().unwrap() {
        let variants = def.get("oneOf").or_else(|| def.get("enum")).and_then(Value::as_array);
        for variant in variants.into_iter().flatten() {
            let value = variant.get("const").or_else(|| variant.get("enum").and_then(|e| e.get(0))).unwrap_or(variant);
            let Some(value) = value.as_str() else { continue };
            checked += 1;
            if !docs.contains(&format!("`{value}`")) && !docs.contains(&format!("`\"{value}\"`")) {
                missing.push(format!("{name}::{value}"));
            }
        }
    }
    assert!(checked >= 30, "only {checked} enum values found in the schema");
    assert!(missing.is_empty(), "enum values docs/catalog.md does not mention: {missing:?}");
}

#[test]
fn every_fill_source_and_role_has_a_row() {
    let docs = docs();
    for (name, _) in Fill::SIMPLE {
        assert!(docs.contains(&format!("| `{name}` |")), "fill `{name}`");
    }
    for name in ["identity.<kind>", "group.<type>"] {
        assert!(docs.contains(&format!("| `{name}` |")), "fill `{name}`");
    }
    for role in Role::ALL {
        assert!(docs.contains(&format!("| `{}` |", role.as_str())), "role `{}`", role.as_str());
    }
}

#[test]
fn every_lint_rule_is_documented_with_its_severity() {
    let docs = docs();
    for rule in RULES {
        let row = format!("| `{}` | {} |", rule.id(), rule.severity());
        assert!(docs.contains(&row), "docs/catalog.md has no row `{row}`");
    }
}

#[test]
fn every_structural_error_code_is_documented() {
    let docs = docs();
    for code in STRUCTURAL_CODES {
        assert!(docs.contains(&format!("| `{code}` |")), "error code `{code}`");
    }
}

#[test]
fn toml_examples_are_valid() {
    let docs = docs();
    let examples = blocks(&docs, "toml");
    assert!(examples.len() > 20, "only {} TOML examples", examples.len());
    for (line, example) in examples {
        let complete = example.starts_with("#:schema") || example.starts_with("[catalog]");
        if complete {
            // A whole catalog: it loads and lints clean.
            let catalog = Catalog::parse(format!("docs/catalog.md:{line}"), example.as_str())
                .unwrap_or_else(|error| panic!("the example at docs/catalog.md:{line} does not load:\n{error}"));
            let lints: Vec<String> = catalog.lint().iter().map(ToString::to_string).collect();
            assert!(lints.is_empty(), "the example at docs/catalog.md:{line} has lints:\n{}", lints.join("\n"));
        } else if let Err(error) = example.parse::<toml::Table>() {
            panic!("the fragment at docs/catalog.md:{line} is not TOML: {error}");
        }
    }
}

#[test]
fn fragments_load_inside_a_catalog() {
    // The fragments that only need a [catalog] header (no outside references) load as is.
    let docs = docs();
    for (line, example) in blocks(&docs, "toml") {
        if example.starts_with("#:schema") || example.starts_with("[catalog]") || example.contains("[package.") {
            continue;
        }
        if example.starts_with("[[rule]]") {
            continue; // Taplo's configuration, not a catalog.
        }
        let text = format!("[catalog]\nname = \"docs\"\nversion = \"1.0.0\"\n{example}");
        if let Err(error) = Catalog::parse("fragment.toml", text.as_str()) {
            // Only references to things the fragment does not declare are acceptable.
            for diagnostic in error.diagnostics() {
                assert_eq!(
                    diagnostic.code(),
                    "unknown-reference",
                    "the fragment at docs/catalog.md:{line} fails with more than a missing reference:\n{error}"
                );
            }
        }
    }
}
