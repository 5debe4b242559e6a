//! With no catalog path, every command finds the current crate's catalog as the macros do
//! (`[package.metadata.tally] catalog`, `catalog.toml`, `TALLY_CATALOG`) and says which file it
//! used. Each test runs the built binary inside a crate made in a temporary directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::{Run, tally_in};

const CATALOG: &str = r#"[catalog]
name = "shop"
version = "1.0.0"

[events."order.placed"]
description = "A customer placed an order."
trigger = "After the order is committed."
properties.total_cents = { type = "integer" }

[events."order.cancelled"]
description = "A customer cancelled an order."
trigger = "After the cancellation is committed."
properties.reason = { type = "enum", values = ["changed_mind", "too_slow"] }
"#;

const SOURCE: &str = r#"
#[tally::track_event("order.placed", total_cents = order.total, on_err("order.cancelled", reason = "too_slow"))]
fn place(order: &Order) -> Result<(), Error> { Ok(()) }
"#;

/// A crate in `dir`, its catalog at `catalog` (relative), with `metadata` as its tally table.
fn make_crate(dir: &Path, catalog: &str, metadata: Option<&str>) {
    let mut manifest = String::from("[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\n");
    if let Some(metadata) = metadata {
        manifest.push_str(&format!("\n[package.metadata.tally]\n{metadata}\n"));
    }
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    let catalog = dir.join(catalog);
    std::fs::create_dir_all(catalog.parent().unwrap()).unwrap();
    std::fs::write(catalog, CATALOG).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), SOURCE).unwrap();
}

#[test]
fn check_with_no_argument_finds_catalog_toml_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    make_crate(dir.path(), "catalog.toml", None);
    let run = tally_in(dir.path(), &["check"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("using the catalog `catalog.toml` (the default `catalog.toml`"), "{}", run.stderr);
    assert!(run.stdout.contains("catalog.toml: ok, 2 events"), "{}", run.stdout);
}

#[test]
fn check_from_a_subdirectory_uses_the_metadata_path() {
    let dir = tempfile::tempdir().unwrap();
    make_crate(dir.path(), "plan/tracking.toml", Some("catalog = \"plan/tracking.toml\""));
    let run = tally_in(&dir.path().join("src"), &["check"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("tracking.toml` (named by `[package.metadata.tally] catalog`"), "{}", run.stderr);
    assert!(run.stdout.contains("ok, 2 events"), "{}", run.stdout);
}

#[test]
fn tally_catalog_applies_when_the_crate_configures_none() {
    let dir = tempfile::tempdir().unwrap();
    make_crate(dir.path(), "elsewhere/plan.toml", None);
    let output = Command::cargo_bin("tally")
        .unwrap()
        .arg("check")
        .current_dir(dir.path())
        .env("TALLY_CATALOG", "elsewhere/plan.toml")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("plan.toml` (named by the TALLY_CATALOG environment variable)"), "{stderr}");
}

#[test]
fn a_crate_without_a_catalog_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    make_crate(dir.path(), "unused/catalog.toml", None);
    let run = tally_in(dir.path(), &["check"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("this crate's catalog `catalog.toml`"), "{}", run.stderr);
    assert!(run.stderr.contains("[package.metadata.tally] catalog"), "{}", run.stderr);
}

#[test]
fn audit_with_no_argument_audits_the_crate_against_its_catalog() {
    let dir = tempfile::tempdir().unwrap();
    make_crate(dir.path(), "catalog.toml", None);
    let run: Run = tally_in(dir.path(), &["audit", "--deny"]);
    // `order.cancelled` is emitted by `on_err`; the convention is the catalog's
    // (resource.action), so no finding at all.
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("using the catalog `catalog.toml`"), "{}", run.stderr);
    assert!(run.stdout.contains("src/lib.rs:2:22  #[track_event]"), "{}", run.stdout);
    assert!(run.stdout.contains("#[track_event] on_err  \"order.cancelled\""), "{}", run.stdout);
    assert!(run.stdout.contains("Findings (0):"), "{}", run.stdout);
}

#[test]
fn docs_schema_and_dashboard_find_the_catalog_too() {
    let dir = tempfile::tempdir().unwrap();
    make_crate(dir.path(), "catalog.toml", None);
    for args in [&["docs"][..], &["schema"], &["dashboard"]] {
        let run = tally_in(dir.path(), args);
        assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("using the catalog `catalog.toml`"), "{args:?}: {}", run.stderr);
        assert!(run.stdout.contains("order.placed"), "{args:?}: {}", run.stdout);
    }
}
